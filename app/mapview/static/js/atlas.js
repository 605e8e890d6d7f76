/*
 * The map page's controller.
 *
 * The page embeds no data. Clusters come from /api/clusters tile block by tile block
 * (cells.js keeps them by tile, so a pan asks only for new tiles) and are drawn on a
 * canvas; the list and the exact totals come from /api/organisations, the live sector
 * counts from /api/facets. Every text from the data goes in with textContent, every
 * text of the page comes from the messages of the page's language (i18n.js).
 */

import { createApi, HttpError, isAbort } from './api.js';
import { stackCard, structureCard } from './card.js';
import * as Cells from './cells.js';
import { byId, element, option } from './dom.js';
import { createHooks } from './hooks.js';
import { decodeState, encodeState } from './permalink.js';
import { createPlaceBox } from './places.js';
import {
  applyGroupBox, createPalette, renderSectors, selectedSectors, setAllSectors, setSectors, showSectorCounts, syncSectorSummary,
} from './sectors.js';

const LIST_LIMIT = 200;
const STACK_LIMIT = 500;
const NEARBY_LIMIT = 200;
// Leaflet fires one moveend per pan or zoom; the wait only merges a burst of them (wheel
// zooms, arrow keys), and each new view aborts the requests of the one before.
const MOVE_DEBOUNCE_MS = 100;
const TEXT_DEBOUNCE_MS = 350;
const HISTORY_DEBOUNCE_MS = 400;
const RESTORE_QUIET_MS = 700;
const MIN_TEXT_LENGTH = 3;  // the API searches substrings of 3 characters or more
const PLACE_ZOOM = 13;
const FIT_MAX_ZOOM = 14;
const FIT_ZOOM = 3;
const NARROW_PX = 760;
// A position shared in a link is kept to 3 decimals (about 100 m), never the exact spot.
const POSITION_DECIMALS = 3;
const CLUSTER_COLOR = '#123c48';  // a group mixes sectors: the page's own colour
// Locked filters (config.lockedFilters) hide the field that would change them.
const LOCKED_FIELDS = { category: 'category', legal_form: 'legal_form', region: 'area', departement: 'area', q: 'q' };

/* Start the page on `map` (a Leaflet map); returns the hooks other modules may use. */
export function startAtlas(map, config, messages) {
  const t = messages.t;
  const api = createApi(config.apiRoot);
  const palette = createPalette(config.language);
  const collator = new Intl.Collator(config.locale, { sensitivity: 'base' });
  const locked = config.lockedFilters || {};
  const mapElement = map.getContainer();
  const renderer = L.canvas({ padding: 0.3 });
  const markerLayer = L.layerGroup().addTo(map);
  const markLayer = L.layerGroup().addTo(map);
  const tiles = new Cells.TileCache();
  const home = { center: L.latLng(config.home.center), zoom: config.home.zoom };
  map.setView(home.center, home.zoom - (mapElement.clientWidth < NARROW_PX ? 1 : 0), { animate: false });
  home.zoom = map.getZoom();
  // Read before anything can rewrite it: the permalink the visitor came with.
  const arrivalHash = window.location.hash;

  const state = {
    legalForm: '',
    area: null,
    text: '',
    mode: 'view',
    position: null,
    radiusKm: config.defaultRadiusKm,
    place: null,
    openId: null,
    openPoint: null,
    opener: null,
    controller: null,
    timers: {},
    franceTotals: new Map(),
    areaBounds: null,
    quietUntil: 0,
    started: false,
    shownList: null,
  };
  const hooks = createHooks(map, config, messages, filterParams);
  const placeBox = createPlaceBox(api, {
    choose: choosePlace, emptied: forgetPlace, notFound: (query) => announce(t('placeNotFound', { text: query })),
  });

  /* ---------- small helpers ---------- */

  function later(name, delay, action) {
    window.clearTimeout(state.timers[name]);
    state.timers[name] = window.setTimeout(action, delay);
  }

  function announce(message) {
    byId('atlas-status').textContent = message;
  }

  function failureReason(error) {
    return error instanceof HttpError ? t('httpError', { status: error.status }) : t('networkError');
  }

  function clamp(value, low, high) {
    return Math.min(high, Math.max(low, value));
  }

  function viewBox() {
    const bounds = map.getBounds();
    return {
      west: clamp(bounds.getWest(), -180, 180),
      south: clamp(bounds.getSouth(), -90, 90),
      east: clamp(bounds.getEast(), -180, 180),
      north: clamp(bounds.getNorth(), -90, 90),
    };
  }

  function viewBbox() {
    const box = viewBox();
    return [box.west, box.south, box.east, box.north].map((value) => value.toFixed(5)).join(',');
  }

  /* ---------- the filters as API parameters ---------- */

  function searchable(text) {
    return Boolean(text) && text.length >= MIN_TEXT_LENGTH;
  }

  function filterParams() {
    const params = new URLSearchParams();
    (selectedSectors() || []).forEach((slug) => params.append('category', slug));
    if (state.legalForm) params.set('legal_form', state.legalForm);
    if (state.area) params.set(state.area.parameter, state.area.code);
    if (searchable(state.text)) params.set('q', state.text);
    Object.entries(locked).forEach(([name, values]) => {
      params.delete(name);
      [].concat(values).forEach((value) => params.append(name, value));
    });
    return params;
  }

  function withParams(path, extra) {
    return api.withParams(path, filterParams(), extra);
  }

  function hideLockedFields() {
    Object.keys(locked).forEach((name) => {
      const field = document.querySelector('[data-filter="' + LOCKED_FIELDS[name] + '"]');
      if (field) field.hidden = true;
    });
  }

  /* The sector a structure is drawn with: the first one the filter asked for. */
  function matchedSector(slugs) {
    const wanted = selectedSectors() || [];
    const matching = wanted.length ? slugs.filter((slug) => wanted.includes(slug)) : slugs;
    return matching[0] || slugs[0];
  }

  function onSectorsChange(event) {
    if (event) applyGroupBox(event.target);
    syncSectorSummary(messages);
    filtersChanged();
  }

  /* Live counts per sector for the view and the other filters. */
  async function loadFacets(signal) {
    if (!byId('atlas-sectors-box').open || state.mode === 'nearby') return;
    const facets = await api.getJSON(withParams('/facets', { bbox: viewBbox() }), signal);
    showSectorCounts(new Map(facets.categories.map((entry) => [entry.value, entry.count])), messages);
  }

  /* ---------- legend ---------- */

  const Legend = L.Control.extend({
    options: { position: 'topright' },
    onAdd: function () {
      const box = element('details', 'atlas-legend');
      box.open = !window.matchMedia('(max-width: ' + NARROW_PX + 'px)').matches;
      box.append(element('summary', null, t('legend')), element('ul', 'atlas-legend-list'));
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    },
  });
  const legend = new Legend().addTo(map);

  /* Structures per sector in view: a cluster adds its sector mix, a dot its colour. */
  function renderLegend(features) {
    const counts = new Map();
    const add = (slug, count) => counts.set(slug, (counts.get(slug) || 0) + count);
    const wanted = selectedSectors() || [];
    features.forEach((feature) => {
      const properties = feature.properties;
      if (!properties.cluster) add(dotSector(feature), 1);
      else Object.entries(properties.sectors || {}).forEach(([slug, count]) => {
        if (!wanted.length || wanted.includes(slug)) add(slug, count);
      });
    });
    const ordered = Array.from(palette.categories.keys()).filter((slug) => counts.has(slug));
    const list = legend.getContainer().querySelector('.atlas-legend-list');
    list.replaceChildren(...ordered.map((slug) => legendItem(slug, counts.get(slug))));
    if (!ordered.length) list.append(element('li', 'atlas-legend-empty', t('noneHere')));
  }

  function legendItem(slug, count) {
    const item = element('li');
    item.append(palette.swatch(slug), element('span', 'atlas-legend-label', palette.labelOf(slug)));
    item.append(element('span', 'atlas-legend-count', messages.number(count)));
    return item;
  }

  /* ---------- dots on the canvas ---------- */

  /* A circle with its count written in it (canvas renderer only). */
  const ClusterDot = L.CircleMarker.extend({
    _updatePath: function () {
      L.CircleMarker.prototype._updatePath.call(this);
      const context = this._renderer._ctx;
      if (!context || this._empty()) return;
      context.save();
      context.font = 'bold 12px system-ui, sans-serif';
      context.textAlign = 'center';
      context.textBaseline = 'middle';
      context.lineWidth = 3;
      context.strokeStyle = 'rgba(0, 0, 0, 0.65)';
      context.fillStyle = '#ffffff';
      context.strokeText(this.options.label, this._point.x, this._point.y);
      context.fillText(this.options.label, this._point.x, this._point.y);
      context.restore();
    },
  });

  function dotSector(feature) {
    return matchedSector(feature.properties.categories || []);
  }

  function clusterRadius(count) {
    return Math.min(26, 10 + 3 * Math.log10(count) * 2);
  }

  function isStack(feature) {
    const box = feature.bbox || [];
    return box.length === 4 && box[0] === box[2] && box[1] === box[3];
  }

  /* What a dot is called, on its tooltip and in the list of the map's points. */
  function dotName(feature) {
    const properties = feature.properties;
    if (!properties.cluster) return properties.name;
    return t(isStack(feature) ? 'stack' : 'cluster', { count: properties.count });
  }

  function dotFor(feature) {
    const [lon, lat] = feature.geometry.coordinates;
    const properties = feature.properties;
    const style = { renderer: renderer, color: '#ffffff', weight: 1.5, opacity: 1, fillOpacity: 0.92 };
    if (!properties.cluster) {
      const dot = L.circleMarker([lat, lon], Object.assign({ radius: 7, fillColor: palette.colorOf(dotSector(feature)) }, style));
      dot.bindTooltip(element('span', null, dotName(feature)), { direction: 'top', offset: [0, -6] });
      dot.on('click', () => openStructure(feature.id, null));
      return dot;
    }
    const dot = new ClusterDot([lat, lon], Object.assign({
      radius: clusterRadius(properties.count), label: messages.compact(properties.count), fillColor: CLUSTER_COLOR,
    }, style));
    dot.bindTooltip(element('span', null, dotName(feature)), { direction: 'top' });
    dot.on('click', () => onClusterClick(feature));
    return dot;
  }

  function onClusterClick(feature) {
    if (isStack(feature) || map.getZoom() >= map.getMaxZoom()) {
      openStack(feature, null);
      return;
    }
    const [west, south, east, north] = feature.bbox;
    map.fitBounds([[south, west], [north, east]], { padding: [32, 32], maxZoom: map.getMaxZoom() });
  }

  /* The canvas has no elements: the names of its points and marks, for screen readers. */
  function renderPointNames(features) {
    const names = features.map(dotName).concat(markNames());
    byId('atlas-marker-names').replaceChildren(...names.map((name) => element('li', null, name)));
  }

  function drawTiles(key, range) {
    const features = [];
    Cells.eachTile(range, (x, y) => features.push(...tiles.features(key, range.z, x, y)));
    markerLayer.clearLayers();
    features.forEach((feature) => markerLayer.addLayer(dotFor(feature)));
    mapElement.dataset.markers = String(features.length);
    // Marks for bench/bench_map.py (the first dots, each view fully drawn).
    if (features.length && !performance.getEntriesByName('atlas-first-dots').length) performance.mark('atlas-first-dots');
    renderLegend(features);
    renderPointNames(features);
  }

  async function loadClusters(key, signal) {
    const z = map.getZoom();
    const range = Cells.tilesOf(viewBox(), z);
    const missing = [];
    Cells.eachTile(range, (x, y) => {
      if (!tiles.has(key, z, x, y)) missing.push([x, y]);
    });
    drawTiles(key, range);
    await Promise.all(Cells.blocksOf(missing, z).map(async (block) => {
      const body = await api.getJSON(withParams('/clusters', { zoom: z, bbox: Cells.bboxOf(block) }), signal);
      tiles.store(key, block, body.features || []);
      drawTiles(key, range);
    }));
  }

  /* ---------- marks: the place searched, the visitor's position, the open structure ---------- */

  function markNames() {
    const names = [];
    if (state.place) names.push(t('placeMark', { label: state.place.label }));
    if (state.mode === 'nearby') names.push(t('positionMark'));
    return names;
  }

  function centreMark(point) {
    L.circleMarker([point.lat, point.lon], {
      renderer: renderer, radius: 9, color: '#0b3c5d', weight: 3, fillColor: '#ffffff', fillOpacity: 1, interactive: false,
    }).addTo(markLayer);
  }

  function drawMarks() {
    markLayer.clearLayers();
    if (state.openPoint) {
      L.circleMarker(state.openPoint, { renderer: renderer, radius: 12, color: '#1a4fd6', weight: 3, fill: false, interactive: false }).addTo(markLayer);
    }
    if (state.place) centreMark(state.place);
    if (state.mode === 'nearby') centreMark(state.position);
  }

  /* ---------- loading a view ---------- */

  function restartRequests() {
    if (state.controller) state.controller.abort();
    state.controller = new AbortController();
    return state.controller.signal;
  }

  function setBusy(busy) {
    document.body.classList.toggle('atlas-loading', busy);
    byId('atlas-results').setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  function reload(delay) {
    later('load', delay === undefined ? MOVE_DEBOUNCE_MS : delay, load);
  }

  function showNothing() {
    markerLayer.clearLayers();
    mapElement.dataset.markers = '0';
    renderLegend([]);
    renderPointNames([]);
    renderList([], 0);
    announce(t('noSector'));
  }

  async function load() {
    const signal = restartRequests();
    if (selectedSectors() === null) {
      showNothing();
      return;
    }
    const key = filterParams().toString();
    setBusy(true);
    try {
      await Promise.all([loadClusters(key, signal).then(() => performance.mark('atlas-dots-drawn')),
        loadList(key, signal), loadFacets(signal)]);
      hooks.emit('viewLoaded', {});
    } catch (error) {
      if (!isAbort(error)) announce(t('loadFailed', { reason: failureReason(error) }));
    } finally {
      if (!signal.aborted) setBusy(false);
    }
  }

  async function franceTotal(key, signal) {
    if (!state.franceTotals.has(key)) {
      const body = await api.getJSON(withParams('/organisations', { limit: 1 }), signal);
      state.franceTotals.set(key, body.numberMatched);
    }
    return state.franceTotals.get(key);
  }

  async function loadList(key, signal) {
    if (state.mode === 'nearby') {
      await loadNearby(signal);
      return;
    }
    const [body, france] = await Promise.all([
      api.getJSON(withParams('/organisations', { bbox: viewBbox(), limit: LIST_LIMIT }), signal),
      franceTotal(key, signal),
    ]);
    renderList(body.features || [], body.numberMatched);
    announceTotals(france, body.numberMatched);
  }

  function announceTotals(france, view) {
    const searching = searchable(state.text);
    let text = searching ? t('searchResults', { count: france, text: state.text, view: view })
      : t('viewAndFrance', { count: view, france: france });
    if (state.text && !searching) text += t('shortKeyword', { minimum: MIN_TEXT_LENGTH });
    announce(text);
    byId('atlas-fit').hidden = !(searching && france > 0);
  }

  /* ---------- the list ---------- */

  function distanceFrom(origin, feature) {
    const [lon, lat] = feature.geometry.coordinates;
    return map.distance([origin.lat, origin.lon], [lat, lon]);
  }

  function sortedForList(features) {
    if (state.mode === 'nearby') return features.slice();
    const origin = state.place;
    if (origin) {
      features.forEach((feature) => {
        feature.properties.distance_m = distanceFrom(origin, feature);
      });
      return features.slice().sort((a, b) => a.properties.distance_m - b.properties.distance_m);
    }
    return features.slice().sort((a, b) => collator.compare(a.properties.name, b.properties.name));
  }

  function itemMeta(properties) {
    const sectors = properties.categories || [];
    const parts = [];
    if (sectors.length) parts.push(palette.labelOf(sectors[0]) + (sectors.length > 1 ? ' +' + (sectors.length - 1) : ''));
    if (properties.city) parts.push(properties.city);
    if (typeof properties.distance_m === 'number') parts.push(messages.distance(properties.distance_m));
    return parts.join(' · ');
  }

  function listItem(feature, onChoose) {
    const item = element('li', 'atlas-result');
    const button = element('button', 'atlas-item');
    button.type = 'button';
    button.dataset.id = String(feature.id);
    const text = element('span', 'atlas-item-text');
    text.append(element('span', 'atlas-item-name', feature.properties.name),
      element('span', 'atlas-item-meta', itemMeta(feature.properties)));
    button.append(palette.swatch(matchedSector(feature.properties.categories || [])), text);
    button.addEventListener('click', () => onChoose(feature.id, button));
    item.append(button);
    return item;
  }

  function focusedListId() {
    const active = document.activeElement;
    return active && active.classList.contains('atlas-item') && byId('atlas-results').contains(active) ? active.dataset.id : null;
  }

  function listButton(id) {
    return byId('atlas-results').querySelector('[data-id="' + CSS.escape(String(id)) + '"]');
  }

  function renderList(features, total) {
    state.shownList = { features: features, total: total };
    const list = byId('atlas-results');
    const focused = focusedListId();
    const items = sortedForList(features).map((feature) => listItem(feature, openStructure));
    if (total > features.length) items.push(element('li', 'atlas-result-more', t('listPartial', { shown: features.length, total: total })));
    list.replaceChildren(...items);
    if (focused && listButton(focused)) listButton(focused).focus();
    markListItem(state.openId);
  }

  function markListItem(id) {
    byId('atlas-results').querySelectorAll('.atlas-item[aria-current]').forEach((node) => node.removeAttribute('aria-current'));
    const button = id === null ? null : listButton(id);
    if (!button) return;
    button.setAttribute('aria-current', 'true');
    button.scrollIntoView({ block: 'nearest' });
  }

  /* ---------- the card ---------- */

  function cardContext() {
    const origin = state.mode === 'nearby' ? state.position : state.place;
    return {
      messages: messages, palette: palette, legalForms: config.legalForms, language: config.language,
      distanceText: (feature) => (origin ? messages.distance(distanceFrom(origin, feature)) : null),
    };
  }

  function showCard(content, opener) {
    const panel = byId('atlas-card');
    byId('atlas-card-body').replaceChildren(content);
    if (opener !== undefined) state.opener = opener;
    panel.hidden = false;
    panel.focus({ preventScroll: true });
  }

  async function openStructure(id, opener, keepOpener) {
    const feature = await api.getJSON('/organisations/' + encodeURIComponent(String(id))).catch(() => null);
    if (!feature) return;
    state.openId = feature.id;
    if (!keepOpener) state.opener = opener || null;
    showCard(structureCard(feature, cardContext()));
    state.openPoint = [feature.geometry.coordinates[1], feature.geometry.coordinates[0]];
    drawMarks();
    markListItem(feature.id);
    scheduleHistory();
  }

  async function openStack(feature, opener) {
    const [west, south, east, north] = feature.bbox;
    const bbox = [west, south, east, north].map((value) => value.toFixed(6)).join(',');
    const body = await api.getJSON(withParams('/organisations', { bbox: bbox, limit: STACK_LIMIT })).catch(() => null);
    if (!body) return;
    state.opener = opener;
    const items = sortedForList(body.features || []).map((member) => listItem(member, (id) => openStructure(id, null, true)));
    showCard(stackCard(items, body.numberMatched, messages));
  }

  function closeCard() {
    const panel = byId('atlas-card');
    if (panel.hidden) return;
    panel.hidden = true;
    state.openPoint = null;
    drawMarks();
    const id = state.openId;
    state.openId = null;
    markListItem(null);
    scheduleHistory();
    const opener = state.opener && document.contains(state.opener) ? state.opener : (id !== null && listButton(id));
    state.opener = null;
    if (opener) opener.focus();
    else mapElement.focus({ preventScroll: true });
  }

  /* ---------- régions and départements ---------- */

  function renderRegions(regions) {
    const select = byId('atlas-region');
    const byName = regions.slice().sort((a, b) => collator.compare(a.name, b.name));
    for (const region of byName) {
      const group = element('optgroup');
      group.label = region.name;
      group.append(option('region:' + region.code, region.name + ' (' + messages.number(region.count) + ')'));
      for (const departement of region.departements || []) {
        group.append(option('departement:' + departement.code, departement.name + ' – ' + departement.code + ' (' + messages.number(departement.count) + ')'));
      }
      select.append(group);
    }
  }

  function areaValue(area) {
    return area ? area.parameter + ':' + area.code : '';
  }

  async function areaBounds(area) {
    if (!state.areaBounds) state.areaBounds = await api.getJSON('/areas/bounds');
    const known = state.areaBounds[area.parameter === 'region' ? 'regions' : 'departements'] || {};
    return known[area.code] || null;
  }

  async function onAreaChange(event) {
    const value = event.target.value;
    const separator = value.indexOf(':');
    state.area = separator < 0 ? null : { parameter: value.slice(0, separator), code: value.slice(separator + 1) };
    leaveNearby(false);
    filtersChanged();
    if (!state.area) {
      map.setView(home.center, home.zoom);
      return;
    }
    const box = await areaBounds(state.area).catch(() => null);
    if (box) map.fitBounds([[box[1], box[0]], [box[3], box[2]]], { padding: [16, 16] });
  }

  /* ---------- keyword search over all of France ---------- */

  function onTextInput(event) {
    state.text = event.target.value.trim();
    later('text', TEXT_DEBOUNCE_MS, filtersChanged);
  }

  async function fitMatches() {
    const body = await api.getJSON(withParams('/clusters', { zoom: FIT_ZOOM })).catch(() => null);
    if (!body || !(body.features || []).length) return;
    const bounds = L.latLngBounds([]);
    body.features.forEach((feature) => {
      const box = feature.bbox;
      if (box) bounds.extend([[box[1], box[0]], [box[3], box[2]]]);
      else bounds.extend([feature.geometry.coordinates[1], feature.geometry.coordinates[0]]);
    });
    map.fitBounds(bounds, { padding: [32, 32], maxZoom: FIT_MAX_ZOOM });
  }

  function onLegalFormChange(event) {
    state.legalForm = event.target.value;
    filtersChanged();
  }

  function filtersChanged() {
    reload(0);
    scheduleHistory();
    hooks.emit('filtersChanged', { params: filterParams() });
  }

  /* ---------- the place searched ---------- */

  /* An emptied place box forgets the place: the list goes back to name order. */
  function forgetPlace() {
    if (!state.place) return;
    state.place = null;
    drawMarks();
    reload(0);
    scheduleHistory();
  }

  function choosePlace(hit) {
    leaveNearby(false);
    state.place = { lat: hit.lat, lon: hit.lon, label: hit.label };
    drawMarks();
    const box = hit.bbox;
    if (Array.isArray(box) && box.length === 4) map.fitBounds([[box[1], box[0]], [box[3], box[2]]], { maxZoom: FIT_MAX_ZOOM });
    else map.setView([hit.lat, hit.lon], PLACE_ZOOM);
    reload(0);
    scheduleHistory();
  }

  /* ---------- near me ---------- */

  async function loadNearby(signal) {
    const body = await api.getJSON(withParams('/nearby', {
      lat: state.position.lat.toFixed(6), lon: state.position.lon.toFixed(6), radius_km: state.radiusKm, limit: NEARBY_LIMIT,
    }), signal);
    const features = body.features || [];
    renderList(features, features.length);
    let text = t('nearby', { count: body.numberMatched, distance: messages.distance(state.radiusKm * 1000) });
    if (body.numberMatched > features.length) text += t('nearbyListed', { shown: features.length });
    announce(text);
    byId('atlas-fit').hidden = true;
  }

  function fitRadius() {
    const centre = L.latLng(state.position.lat, state.position.lon);
    map.fitBounds(centre.toBounds(state.radiusKm * 2000), { animate: false });
  }

  function rounded(value) {
    return Number(value.toFixed(POSITION_DECIMALS));
  }

  /* Near-me mode around `position` ({lat, lon}); the view is fitted to the radius if asked. */
  function enterNearby(position, radiusKm, fit) {
    state.mode = 'nearby';
    state.position = { lat: rounded(position.lat), lon: rounded(position.lon) };
    state.radiusKm = radiusKm;
    byId('atlas-radius').value = String(radiusKm);
    byId('atlas-nearby-tools').hidden = false;
    byId('atlas-results-title').textContent = t('listTitleNearby');
    drawMarks();
    if (fit) fitRadius();
  }

  function onPosition(position) {
    state.place = null;
    placeBox.show('');
    enterNearby({ lat: position.coords.latitude, lon: position.coords.longitude }, state.radiusKm, true);
    reload(0);
    scheduleHistory();
  }

  function leaveNearby(reloadNow) {
    if (state.mode !== 'nearby') return;
    state.mode = 'view';
    state.position = null;
    drawMarks();
    byId('atlas-nearby-tools').hidden = true;
    byId('atlas-results-title').textContent = t('listTitleView');
    if (reloadNow) {
      reload(0);
      scheduleHistory();
    }
  }

  function onRadiusChange(event) {
    state.radiusKm = Number(event.target.value);
    fitRadius();
    reload(0);
    scheduleHistory();
  }

  function onNearMe() {
    if (!navigator.geolocation) {
      announce(t('geolocationMissing'));
      return;
    }
    announce(t('locating'));
    navigator.geolocation.getCurrentPosition(onPosition,
      (error) => announce(t(error.code === 1 ? 'geolocationDenied' : 'geolocationFailed')),
      { timeout: 15000, maximumAge: 60000 });
  }

  /* ---------- permalink: the state in the URL fragment ---------- */

  function currentHash() {
    const centre = map.getCenter();
    return encodeState({
      view: { zoom: map.getZoom(), lat: centre.lat, lon: centre.lng },
      sectors: selectedSectors(),
      legalForm: state.legalForm,
      area: state.area,
      text: state.text,
      place: state.place,
      nearby: state.mode === 'nearby' ? { lat: state.position.lat, lon: state.position.lon, radiusKm: state.radiusKm } : null,
      openId: state.openId,
    });
  }

  function scheduleHistory() {
    later('history', HISTORY_DEBOUNCE_MS, () => {
      if (!state.started || performance.now() < state.quietUntil) return;
      const hash = currentHash();
      if (hash !== window.location.hash) window.history.pushState(null, '', hash);
    });
  }

  function restorePlaces(saved) {
    state.place = saved.place;
    placeBox.show(saved.place ? saved.place.label : '');
    if (saved.nearby) enterNearby(saved.nearby, saved.nearby.radiusKm, !saved.view);
    else leaveNearby(false);
    drawMarks();
  }

  function restore(hash) {
    const saved = decodeState(typeof hash === 'string' ? hash : window.location.hash, config.defaultRadiusKm);
    state.quietUntil = performance.now() + RESTORE_QUIET_MS;
    setSectors(saved.sectors, messages);
    state.legalForm = saved.legalForm;
    byId('atlas-legal-form').value = state.legalForm;
    state.area = saved.area;
    byId('atlas-region').value = areaValue(state.area);
    state.text = saved.text;
    byId('atlas-text').value = state.text;
    if (saved.view) map.setView(saved.view.center, saved.view.zoom, { animate: false });
    restorePlaces(saved);
    if (saved.openId !== null) openStructure(saved.openId, null);
    else if (!byId('atlas-card').hidden) closeCard();
    reload(0);
  }

  /* ---------- phones: map or list, filters in a drawer ---------- */

  function showPane(pane) {
    document.body.dataset.pane = pane;
    byId('atlas-show-map').setAttribute('aria-pressed', pane === 'map' ? 'true' : 'false');
    byId('atlas-show-list').setAttribute('aria-pressed', pane === 'list' ? 'true' : 'false');
    if (pane === 'map') map.invalidateSize();
  }

  function toggleFilters() {
    const button = byId('atlas-filters-toggle');
    const open = button.getAttribute('aria-expanded') !== 'true';
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
    document.body.classList.toggle('atlas-filters-open', open);
  }

  /* ---------- start ---------- */

  function wireEvents() {
    map.on('moveend', () => {
      reload();
      scheduleHistory();
    });
    byId('atlas-sector-groups').addEventListener('change', onSectorsChange);
    byId('atlas-sectors-box').addEventListener('toggle', () => reload(0));
    byId('atlas-sectors-all').addEventListener('click', () => {
      setAllSectors(true, messages);
      onSectorsChange();
    });
    byId('atlas-sectors-none').addEventListener('click', () => {
      setAllSectors(false, messages);
      onSectorsChange();
    });
    byId('atlas-region').addEventListener('change', onAreaChange);
    byId('atlas-legal-form').addEventListener('change', onLegalFormChange);
    byId('atlas-text').addEventListener('input', onTextInput);
    byId('atlas-fit').addEventListener('click', fitMatches);
    byId('atlas-near-me').addEventListener('click', onNearMe);
    byId('atlas-leave-nearby').addEventListener('click', () => leaveNearby(true));
    byId('atlas-radius').addEventListener('change', onRadiusChange);
    byId('atlas-card-close').addEventListener('click', closeCard);
    byId('atlas-card').addEventListener('keydown', (event) => {
      if (event.key === 'Escape') closeCard();
    });
    byId('atlas-show-map').addEventListener('click', () => showPane('map'));
    byId('atlas-show-list').addEventListener('click', () => showPane('list'));
    byId('atlas-filters-toggle').addEventListener('click', toggleFilters);
    window.addEventListener('popstate', () => restore());
  }

  /* Colours and labels arrived: draw again what is shown, from what is already loaded. */
  function redraw() {
    const key = filterParams().toString();
    drawTiles(key, Cells.tilesOf(viewBox(), map.getZoom()));
    if (state.shownList) renderList(state.shownList.features, state.shownList.total);
  }

  async function start() {
    const arrival = decodeState(arrivalHash, config.defaultRadiusKm);
    if (arrival.view) map.setView(arrival.view.center, arrival.view.zoom, { animate: false });
    hideLockedFields();
    wireEvents();
    showPane('map');
    // The first view waits for the sectors only when the link names sectors or a card.
    const early = !arrival.names('secteurs') && arrival.openId === null;
    if (early) restore(arrivalHash);
    const [categories, regions] = await Promise.all([
      api.getJSON('/categories').catch(() => []),
      api.getJSON('/regions').catch(() => []),
    ]);
    palette.load(categories);
    renderSectors(categories, palette, config.sectorGroups, messages);
    renderRegions(regions);
    syncSectorSummary(messages);
    if (early) {
      byId('atlas-region').value = areaValue(state.area);
      redraw();
    } else {
      restore(arrivalHash);
    }
    state.started = true;
  }

  start();
  return hooks;
}
