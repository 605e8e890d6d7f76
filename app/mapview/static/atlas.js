/*
 * ess-atlas map page.
 *
 * The page embeds no data. Clusters come from /api/clusters tile block by tile block
 * (cells.js keeps them by tile, so a pan asks only for new tiles) and are drawn on a
 * canvas; the list and the exact totals come from /api/organisations, the live sector
 * counts from /api/facets. Every text from the data goes in with textContent, every
 * text of the page comes from messages.js.
 */
(function () {
  'use strict';

  const M = window.AtlasMessages;
  const Cells = window.AtlasCells;
  const API = '/api';
  const LIST_LIMIT = 200;
  const STACK_LIMIT = 500;
  const NEARBY_LIMIT = 200;
  const DEFAULT_RADIUS_KM = 10;
  const MOVE_DEBOUNCE_MS = 200;
  const TEXT_DEBOUNCE_MS = 350;
  const PLACE_DEBOUNCE_MS = 250;
  const HISTORY_DEBOUNCE_MS = 400;
  const RESTORE_QUIET_MS = 700;
  const MIN_TEXT_LENGTH = 3;  // the API searches substrings of 3 characters or more
  const MIN_PLACE_LENGTH = 2;
  const PLACE_SUGGESTIONS = 6;
  const PLACE_ZOOM = 13;
  const FIT_MAX_ZOOM = 14;
  const FIT_ZOOM = 3;
  const NARROW_PX = 760;
  const FALLBACK_COLOR = '#6b7280';
  const CLUSTER_COLOR = '#123c48';  // a group mixes sectors: the page's own colour
  const HEX_COLOR = /^#[0-9a-fA-F]{3,8}$/;
  const EMAIL = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/;
  const BARE_DOMAIN = /^[\w-]+(\.[\w-]+)+(\/\S*)?$/;
  const COLLATOR = new Intl.Collator(M.locale, { sensitivity: 'base' });

  const mapElement = document.querySelector('[data-atlas-map]');
  const map = window[mapElement.id];
  const renderer = L.canvas({ padding: 0.3 });
  const markerLayer = L.layerGroup().addTo(map);
  const markLayer = L.layerGroup().addTo(map);
  const tiles = new Cells.TileCache();
  const legalForms = readJSON(document.body.dataset.legalForms);
  const groupLabels = readJSON(document.body.dataset.sectorGroups);
  if (mapElement.clientWidth < NARROW_PX) map.setZoom(map.getZoom() - 1, { animate: false });
  const home = { center: map.getCenter(), zoom: map.getZoom() };
  // Read before anything can rewrite it: the permalink the visitor came with.
  const arrivalHash = window.location.hash;

  const state = {
    categories: new Map(),
    legalForm: '',
    area: null,
    text: '',
    mode: 'view',
    position: null,
    radiusKm: DEFAULT_RADIUS_KM,
    place: null,
    openId: null,
    openerId: null,
    opener: null,
    controller: null,
    timers: {},
    franceTotals: new Map(),
    viewTotal: null,
    areaBounds: null,
    quietUntil: 0,
    started: false,
    shownList: null,
    suggestions: [],
    activeSuggestion: -1,
  };

  /* ---------- small helpers ---------- */

  function byId(id) {
    return document.getElementById(id);
  }

  function readJSON(text) {
    try {
      return JSON.parse(text || '{}');
    } catch (error) {
      return {};
    }
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function hiddenText(text) {
    return element('span', 'atlas-visually-hidden', text);
  }

  function later(name, delay, action) {
    window.clearTimeout(state.timers[name]);
    state.timers[name] = window.setTimeout(action, delay);
  }

  function announce(message) {
    byId('atlas-status').textContent = message;
  }

  function formatDistance(metres) {
    return metres < 1000 ? M.metres(metres) : M.kilometres(metres);
  }

  function isAbort(error) {
    return error && error.name === 'AbortError';
  }

  /* ---------- API ---------- */

  async function getJSON(url, signal) {
    const response = await fetch(url, { signal: signal, headers: { Accept: 'application/json, application/geo+json' } });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      const message = body && body.error && body.error.message;
      throw new Error(message || 'erreur ' + response.status);
    }
    return response.json();
  }

  function searchable(text) {
    return Boolean(text) && text.length >= MIN_TEXT_LENGTH;
  }

  function filterParams() {
    const params = new URLSearchParams();
    (selectedSectors() || []).forEach((slug) => params.append('category', slug));
    if (state.legalForm) params.set('legal_form', state.legalForm);
    if (state.area) params.set(state.area.parameter, state.area.code);
    if (searchable(state.text)) params.set('q', state.text);
    return params;
  }

  function withParams(path, extra) {
    const params = filterParams();
    Object.entries(extra || {}).forEach(([name, value]) => params.set(name, String(value)));
    const query = params.toString();
    return API + path + (query ? '?' + query : '');
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

  /* ---------- sectors ---------- */

  function colorOf(slug) {
    const category = state.categories.get(slug);
    return category && HEX_COLOR.test(category.color) ? category.color : FALLBACK_COLOR;
  }

  function labelOf(slug) {
    const category = state.categories.get(slug);
    return category ? category.label_fr : slug;
  }

  function swatch(slug) {
    const node = element('span', 'atlas-swatch');
    node.setAttribute('aria-hidden', 'true');
    node.style.backgroundColor = colorOf(slug);
    return node;
  }

  function checkbox(id, value, checked) {
    const input = element('input');
    input.type = 'checkbox';
    input.id = id;
    input.value = value;
    input.checked = checked;
    return input;
  }

  function sectorCheckbox(category) {
    const item = element('li', 'atlas-sector');
    const input = checkbox('atlas-sector-' + category.slug, category.slug, true);
    input.name = 'category';
    const label = element('label');
    label.htmlFor = input.id;
    const count = element('span', 'atlas-sector-count', M.number(category.count));
    count.dataset.slug = category.slug;
    count.append(hiddenText(M.sectorCount(category.count)));
    label.append(swatch(category.slug), element('span', 'atlas-sector-label', category.label_fr), count);
    item.append(input, label);
    return item;
  }

  function groupedByParent(categories) {
    const groups = new Map();
    for (const category of categories) {
      const key = category.parent || '';
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(category);
    }
    return groups;
  }

  function groupLegend(parent) {
    const legend = element('legend');
    const input = checkbox('atlas-group-' + (parent || 'autres'), parent, true);
    input.className = 'atlas-group-box';
    const label = element('label', null, groupLabels[parent] || parent || M.otherSectors);
    label.htmlFor = input.id;
    legend.append(input, label);
    return legend;
  }

  function renderSectors(categories) {
    const container = byId('atlas-sector-groups');
    container.replaceChildren();
    for (const [parent, members] of groupedByParent(categories)) {
      const group = element('fieldset', 'atlas-sector-group');
      const list = element('ul', 'atlas-sector-list');
      members.forEach((category) => list.append(sectorCheckbox(category)));
      group.append(groupLegend(parent), list);
      container.append(group);
    }
  }

  function sectorBoxes() {
    return Array.from(document.querySelectorAll('#atlas-sector-groups input[name="category"]'));
  }

  /* The sectors to ask for: [] means every sector, null means none at all. */
  function selectedSectors() {
    const boxes = sectorBoxes();
    const checked = boxes.filter((box) => box.checked).map((box) => box.value);
    if (boxes.length > 0 && checked.length === 0) return null;
    return checked.length === boxes.length ? [] : checked;
  }

  function setSectors(slugs) {
    sectorBoxes().forEach((box) => {
      box.checked = slugs === undefined || slugs.includes(box.value);
    });
    syncSectorSummary();
  }

  function syncGroupBoxes() {
    document.querySelectorAll('.atlas-sector-group').forEach((group) => {
      const boxes = Array.from(group.querySelectorAll('input[name="category"]'));
      const checked = boxes.filter((box) => box.checked).length;
      const groupBox = group.querySelector('.atlas-group-box');
      groupBox.checked = checked === boxes.length;
      groupBox.indeterminate = checked > 0 && checked < boxes.length;
    });
  }

  function syncSectorSummary() {
    const boxes = sectorBoxes();
    const checked = boxes.filter((box) => box.checked).length;
    let text = M.sectorsSome(checked, boxes.length);
    if (checked === boxes.length) text = M.sectorsAll;
    if (checked === 0) text = M.sectorsNone;
    byId('atlas-sector-summary').textContent = text;
    syncGroupBoxes();
  }

  function onSectorsChange(event) {
    if (event && event.target.classList.contains('atlas-group-box')) {
      const group = event.target.closest('.atlas-sector-group');
      group.querySelectorAll('input[name="category"]').forEach((box) => {
        box.checked = event.target.checked;
      });
    }
    syncSectorSummary();
    filtersChanged();
  }

  function setAllSectors(checked) {
    sectorBoxes().forEach((box) => {
      box.checked = checked;
    });
    onSectorsChange();
  }

  /* The sector a structure is drawn with: the first one the filter asked for. */
  function matchedSector(slugs) {
    const wanted = selectedSectors() || [];
    const matching = wanted.length ? slugs.filter((slug) => wanted.includes(slug)) : slugs;
    return matching[0] || slugs[0];
  }

  /* Live counts per sector for the view and the other filters. */
  async function loadFacets(signal) {
    if (!byId('atlas-sectors-box').open || state.mode === 'nearby') return;
    const facets = await getJSON(withParams('/facets', { bbox: viewBbox() }), signal);
    const counts = new Map(facets.categories.map((entry) => [entry.value, entry.count]));
    document.querySelectorAll('.atlas-sector-count').forEach((node) => {
      const count = counts.get(node.dataset.slug) || 0;
      node.replaceChildren(document.createTextNode(M.number(count)), hiddenText(M.sectorCount(count)));
    });
  }

  /* ---------- legend ---------- */

  const Legend = L.Control.extend({
    options: { position: 'topright' },
    onAdd: function () {
      const box = element('details', 'atlas-legend');
      box.open = !window.matchMedia('(max-width: ' + NARROW_PX + 'px)').matches;
      box.append(element('summary', null, M.legend), element('ul', 'atlas-legend-list'));
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
    const ordered = Array.from(state.categories.keys()).filter((slug) => counts.has(slug));
    const list = legend.getContainer().querySelector('.atlas-legend-list');
    list.replaceChildren(...ordered.map((slug) => legendItem(slug, counts.get(slug))));
    if (!ordered.length) list.append(element('li', 'atlas-legend-empty', M.noneHere));
  }

  function legendItem(slug, count) {
    const item = element('li');
    item.append(swatch(slug), element('span', 'atlas-legend-label', labelOf(slug)));
    item.append(element('span', 'atlas-legend-count', M.number(count)));
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

  function shortCount(count) {
    if (count < 1000) return String(count);
    if (count < 10000) return (count / 1000).toFixed(1).replace('.', ',') + 'k';
    return Math.round(count / 1000) + 'k';
  }

  function dotSector(feature) {
    return matchedSector(feature.properties.categories || []);
  }

  function clusterRadius(count) {
    return Math.min(26, 10 + 3 * Math.log10(count) * 2);
  }

  function dotFor(feature) {
    const [lon, lat] = feature.geometry.coordinates;
    const properties = feature.properties;
    const style = { renderer: renderer, color: '#ffffff', weight: 1.5, opacity: 1, fillOpacity: 0.92 };
    if (!properties.cluster) {
      const dot = L.circleMarker([lat, lon], Object.assign({ radius: 7, fillColor: colorOf(dotSector(feature)) }, style));
      dot.bindTooltip(element('span', null, properties.name), { direction: 'top', offset: [0, -6] });
      dot.on('click', () => openStructure(feature.id, null));
      return dot;
    }
    const stacked = isStack(feature);
    const dot = new ClusterDot([lat, lon], Object.assign({
      radius: clusterRadius(properties.count), label: shortCount(properties.count), fillColor: CLUSTER_COLOR,
    }, style));
    dot.bindTooltip(stacked ? M.stack(properties.count) : M.cluster(properties.count), { direction: 'top' });
    dot.on('click', () => onClusterClick(feature));
    return dot;
  }

  function isStack(feature) {
    const box = feature.bbox || [];
    return box.length === 4 && box[0] === box[2] && box[1] === box[3];
  }

  function onClusterClick(feature) {
    if (isStack(feature) || map.getZoom() >= map.getMaxZoom()) {
      openStack(feature, null);
      return;
    }
    const [west, south, east, north] = feature.bbox;
    map.fitBounds([[south, west], [north, east]], { padding: [32, 32], maxZoom: map.getMaxZoom() });
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
      const body = await getJSON(withParams('/clusters', { zoom: z, bbox: Cells.bboxOf(block) }), signal);
      tiles.store(key, block, body.features || []);
      drawTiles(key, range);
    }));
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

  async function load() {
    const signal = restartRequests();
    if (selectedSectors() === null) {
      markerLayer.clearLayers();
      mapElement.dataset.markers = '0';
      renderLegend([]);
      renderList([], 0);
      announce(M.noSector);
      return;
    }
    const key = filterParams().toString();
    setBusy(true);
    try {
      await Promise.all([loadClusters(key, signal).then(() => performance.mark('atlas-dots-drawn')),
        loadList(key, signal), loadFacets(signal)]);
    } catch (error) {
      if (!isAbort(error)) announce(M.loadFailed(error.message));
    } finally {
      if (!signal.aborted) setBusy(false);
    }
  }

  async function franceTotal(key, signal) {
    if (!state.franceTotals.has(key)) {
      const body = await getJSON(withParams('/organisations', { limit: 1 }), signal);
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
      getJSON(withParams('/organisations', { bbox: viewBbox(), limit: LIST_LIMIT }), signal),
      franceTotal(key, signal),
    ]);
    state.viewTotal = body.numberMatched;
    renderList(body.features || [], body.numberMatched);
    announceTotals(france, body.numberMatched);
  }

  function announceTotals(france, view) {
    const searching = searchable(state.text);
    let text = searching ? M.searchResults(state.text, france, view) : M.viewAndFrance(view, france);
    if (state.text && !searching) text += M.shortKeyword(MIN_TEXT_LENGTH);
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
    return features.slice().sort((a, b) => COLLATOR.compare(a.properties.name, b.properties.name));
  }

  function itemMeta(properties) {
    const sectors = properties.categories || [];
    const parts = [];
    if (sectors.length) parts.push(labelOf(sectors[0]) + (sectors.length > 1 ? ' +' + (sectors.length - 1) : ''));
    if (properties.city) parts.push(properties.city);
    if (typeof properties.distance_m === 'number') parts.push(formatDistance(properties.distance_m));
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
    button.append(swatch(matchedSector(feature.properties.categories || [])), text);
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
    if (total > features.length) items.push(element('li', 'atlas-result-more', M.listPartial(features.length, total)));
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

  function webUrl(text) {
    if (!text) return null;
    try {
      const url = new URL(BARE_DOMAIN.test(text) ? 'https://' + text : text);
      return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
    } catch (error) {
      return null;
    }
  }

  function websiteLink(text) {
    const url = webUrl(text);
    if (!url) return null;
    const link = element('a', 'atlas-card-website', url.host + (url.pathname === '/' ? '' : url.pathname));
    link.href = url.href;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    link.append(hiddenText(M.newTab));
    return link;
  }

  function contactLine(properties) {
    const line = element('p', 'atlas-card-contact');
    const website = websiteLink(properties.website);
    if (website) line.append(website);
    if (properties.email && EMAIL.test(properties.email)) {
      const mail = element('a', null, properties.email);
      mail.href = 'mailto:' + properties.email;
      line.append(mail);
    }
    const digits = (properties.phone || '').replace(/[^\d+]/g, '');
    if (digits.length >= 4) {
      const phone = element('a', null, properties.phone);
      phone.href = 'tel:' + digits;
      line.append(phone);
    }
    return line.childElementCount ? line : null;
  }

  function addressLines(properties) {
    const town = [properties.postcode, properties.city].filter(Boolean).join(' ');
    return [properties.street, town].filter(Boolean);
  }

  function addressBlock(properties) {
    const lines = addressLines(properties);
    if (!lines.length) return null;
    const block = element('p', 'atlas-card-address');
    lines.forEach((line, index) => {
      if (index) block.append(element('br'));
      block.append(document.createTextNode(line));
    });
    return block;
  }

  function precisionLine(properties) {
    const describe = M.precision[properties.geocode_precision];
    const text = describe ? describe(addressLines(properties).join(', ')) : M.unknownPrecision;
    return element('p', 'atlas-card-precision', text);
  }

  function sectorList(properties) {
    const list = element('ul', 'atlas-card-sectors');
    for (const slug of properties.categories || []) {
      const item = element('li');
      item.append(swatch(slug), element('span', null, labelOf(slug)));
      list.append(item);
    }
    return list;
  }

  function legalLine(properties) {
    const parts = [legalForms[properties.legal_form], properties.legal_status].filter(Boolean);
    return parts.length ? element('p', 'atlas-card-form', parts.join(' · ')) : null;
  }

  function pageLink(id) {
    const link = element('a', 'atlas-card-page', M.structurePage);
    link.href = '/structures/' + encodeURIComponent(String(id));
    return element('p', null).appendChild(link).parentNode;
  }

  function structureCard(feature) {
    const properties = feature.properties;
    const card = element('article', 'atlas-card');
    const title = element('h2', 'atlas-card-title', properties.name);
    title.id = 'atlas-card-title';
    card.append(title, sectorList(properties));
    const origin = state.position || state.place;
    const distance = origin ? element('p', 'atlas-card-distance', M.distance(formatDistance(distanceFrom(origin, feature)))) : null;
    const description = properties.description ? element('p', 'atlas-card-description', properties.description) : null;
    [legalLine(properties), description, addressBlock(properties), precisionLine(properties), distance,
      contactLine(properties), pageLink(feature.id)].filter(Boolean).forEach((part) => card.append(part));
    return card;
  }

  function stackCard(feature, members, total) {
    const card = element('article', 'atlas-card');
    const title = element('h2', 'atlas-card-title', M.stackTitle(total));
    title.id = 'atlas-card-title';
    const list = element('ol', 'atlas-stack');
    sortedForList(members).forEach((member) => list.append(listItem(member, (id) => openStructure(id, null, true))));
    card.append(title, list);
    if (total > members.length) card.append(element('p', 'atlas-result-more', M.stackPartial(members.length, total)));
    return card;
  }

  function showCard(content, opener) {
    const panel = byId('atlas-card');
    byId('atlas-card-body').replaceChildren(content);
    if (opener !== undefined) state.opener = opener;
    panel.hidden = false;
    panel.focus({ preventScroll: true });
  }

  function markPoint(lat, lon) {
    markLayer.clearLayers();
    L.circleMarker([lat, lon], { renderer: renderer, radius: 12, color: '#1a4fd6', weight: 3, fill: false, interactive: false }).addTo(markLayer);
    if (state.place) placeMarker(state.place);
  }

  async function openStructure(id, opener, keepOpener) {
    const feature = await getJSON(API + '/organisations/' + encodeURIComponent(String(id))).catch(() => null);
    if (!feature) return;
    state.openId = feature.id;
    if (!keepOpener) state.opener = opener || null;
    showCard(structureCard(feature));
    markPoint(feature.geometry.coordinates[1], feature.geometry.coordinates[0]);
    markListItem(feature.id);
    scheduleHistory();
  }

  async function openStack(feature, opener) {
    const [west, south, east, north] = feature.bbox;
    const bbox = [west, south, east, north].map((value) => value.toFixed(6)).join(',');
    const body = await getJSON(withParams('/organisations', { bbox: bbox, limit: STACK_LIMIT })).catch(() => null);
    if (!body) return;
    state.opener = opener;
    showCard(stackCard(feature, body.features || [], body.numberMatched));
  }

  function closeCard() {
    const panel = byId('atlas-card');
    if (panel.hidden) return;
    panel.hidden = true;
    markLayer.clearLayers();
    if (state.place) placeMarker(state.place);
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

  function option(value, text) {
    const node = element('option', null, text);
    node.value = value;
    return node;
  }

  function renderRegions(regions) {
    const select = byId('atlas-region');
    const byName = regions.slice().sort((a, b) => COLLATOR.compare(a.name, b.name));
    for (const region of byName) {
      const group = element('optgroup');
      group.label = region.name;
      group.append(option('region:' + region.code, region.name + ' (' + M.number(region.count) + ')'));
      for (const departement of region.departements || []) {
        group.append(option('departement:' + departement.code, departement.name + ' – ' + departement.code + ' (' + M.number(departement.count) + ')'));
      }
      select.append(group);
    }
  }

  function parseArea(value) {
    const separator = (value || '').indexOf(':');
    if (separator < 0) return null;
    return { parameter: value.slice(0, separator), code: value.slice(separator + 1) };
  }

  async function areaBounds(area) {
    if (!state.areaBounds) state.areaBounds = await getJSON(API + '/areas/bounds');
    const known = state.areaBounds[area.parameter === 'region' ? 'regions' : 'departements'] || {};
    return known[area.code] || null;
  }

  async function onAreaChange(event) {
    state.area = parseArea(event.target.value);
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
    const body = await getJSON(withParams('/clusters', { zoom: FIT_ZOOM })).catch(() => null);
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
  }

  /* ---------- places: suggestions as you type ---------- */

  function placeInput() {
    return byId('atlas-place-q');
  }

  function renderSuggestions(hits) {
    const box = byId('atlas-place-options');
    state.suggestions = hits;
    state.activeSuggestion = -1;
    box.replaceChildren(...hits.map((hit, index) => {
      const item = element('li', 'atlas-place-option', hit.label);
      item.id = 'atlas-place-option-' + index;
      item.setAttribute('role', 'option');
      item.addEventListener('mousedown', (event) => event.preventDefault());
      item.addEventListener('click', () => choosePlace(hit));
      return item;
    }));
    box.hidden = hits.length === 0;
    placeInput().setAttribute('aria-expanded', hits.length ? 'true' : 'false');
    placeInput().removeAttribute('aria-activedescendant');
  }

  async function fetchPlaces(query) {
    const body = await getJSON(API + '/geocode?' + new URLSearchParams({ q: query, limit: String(PLACE_SUGGESTIONS) }));
    return body.results || [];
  }

  /* An emptied place box forgets the place: the list goes back to name order. */
  function forgetPlace() {
    if (!state.place) return;
    state.place = null;
    markLayer.clearLayers();
    reload(0);
  }

  async function suggestPlaces() {
    const query = placeInput().value.trim();
    if (!query) forgetPlace();
    if (query.length < MIN_PLACE_LENGTH) {
      renderSuggestions([]);
      return;
    }
    const hits = await fetchPlaces(query).catch(() => []);
    if (placeInput().value.trim() === query) renderSuggestions(hits);
  }

  function moveSuggestion(step) {
    const count = state.suggestions.length;
    if (!count) return;
    state.activeSuggestion = (state.activeSuggestion + step + count) % count;
    document.querySelectorAll('.atlas-place-option').forEach((node, index) => {
      node.setAttribute('aria-selected', index === state.activeSuggestion ? 'true' : 'false');
    });
    placeInput().setAttribute('aria-activedescendant', 'atlas-place-option-' + state.activeSuggestion);
  }

  function onPlaceKey(event) {
    if (event.key === 'ArrowDown') moveSuggestion(1);
    else if (event.key === 'ArrowUp') moveSuggestion(-1);
    else if (event.key === 'Escape') renderSuggestions([]);
    else return;
    event.preventDefault();
  }

  function placeMarker(place) {
    L.circleMarker([place.lat, place.lon], {
      renderer: renderer, radius: 9, color: '#0b3c5d', weight: 3, fillColor: '#ffffff', fillOpacity: 1, interactive: false,
    }).addTo(markLayer);
  }

  function choosePlace(hit) {
    renderSuggestions([]);
    placeInput().value = hit.label;
    leaveNearby(false);
    state.place = { lat: hit.lat, lon: hit.lon, label: hit.label };
    markLayer.clearLayers();
    placeMarker(state.place);
    const box = hit.bbox;
    if (Array.isArray(box) && box.length === 4) map.fitBounds([[box[1], box[0]], [box[3], box[2]]], { maxZoom: FIT_MAX_ZOOM });
    else map.setView([hit.lat, hit.lon], PLACE_ZOOM);
    reload(0);
  }

  async function onPlaceSubmit(event) {
    event.preventDefault();
    const query = placeInput().value.trim();
    if (!query) return;
    const chosen = state.suggestions[state.activeSuggestion];
    const hits = chosen ? [chosen] : await fetchPlaces(query).catch(() => []);
    if (hits.length) choosePlace(hits[0]);
    else announce(M.placeNotFound(query));
  }

  /* ---------- near me ---------- */

  async function loadNearby(signal) {
    const body = await getJSON(withParams('/nearby', {
      lat: state.position.lat.toFixed(6), lon: state.position.lon.toFixed(6), radius_km: state.radiusKm, limit: NEARBY_LIMIT,
    }), signal);
    const features = body.features || [];
    renderList(features, features.length);
    let text = M.nearby(body.numberMatched, state.radiusKm);
    if (body.numberMatched > features.length) text += M.nearbyListed(features.length);
    announce(text);
    byId('atlas-fit').hidden = true;
  }

  function fitRadius() {
    const centre = L.latLng(state.position.lat, state.position.lon);
    map.fitBounds(centre.toBounds(state.radiusKm * 2000), { animate: false });
  }

  function enterNearby(position) {
    state.mode = 'nearby';
    state.position = { lat: position.coords.latitude, lon: position.coords.longitude };
    markLayer.clearLayers();
    placeMarker(state.position);
    byId('atlas-nearby-tools').hidden = false;
    byId('atlas-results-title').textContent = M.listTitleNearby;
    fitRadius();
    reload(0);
  }

  function leaveNearby(reloadNow) {
    if (state.mode !== 'nearby') return;
    state.mode = 'view';
    state.position = null;
    markLayer.clearLayers();
    byId('atlas-nearby-tools').hidden = true;
    byId('atlas-results-title').textContent = M.listTitleView;
    if (reloadNow) reload(0);
  }

  function onRadiusChange(event) {
    state.radiusKm = Number(event.target.value);
    fitRadius();
    reload(0);
  }

  function onNearMe() {
    if (!navigator.geolocation) {
      announce(M.geolocationMissing);
      return;
    }
    announce(M.locating);
    navigator.geolocation.getCurrentPosition(enterNearby,
      (error) => announce(error.code === 1 ? M.geolocationDenied : M.geolocationFailed),
      { timeout: 15000, maximumAge: 60000 });
  }

  /* ---------- permalink: the state in the URL fragment ---------- */

  function currentHash() {
    const centre = map.getCenter();
    const params = new URLSearchParams();
    params.set('carte', [map.getZoom(), centre.lat.toFixed(5), centre.lng.toFixed(5)].join('/'));
    const sectors = selectedSectors();
    if (sectors === null) params.set('secteurs', '-');
    else if (sectors.length) params.set('secteurs', sectors.join(','));
    if (state.legalForm) params.set('forme', state.legalForm);
    if (state.area) params.set('zone', state.area.parameter + ':' + state.area.code);
    if (state.text) params.set('q', state.text);
    if (state.openId !== null) params.set('structure', String(state.openId));
    // '/' and ',' are safe in a fragment: keep the link readable.
    return '#' + params.toString().replace(/%2F/g, '/').replace(/%2C/g, ',');
  }

  function scheduleHistory() {
    later('history', HISTORY_DEBOUNCE_MS, () => {
      if (!state.started || performance.now() < state.quietUntil) return;
      const hash = currentHash();
      if (hash !== window.location.hash) window.history.pushState(null, '', hash);
    });
  }

  function parseView(text) {
    const parts = (text || '').split('/').map(Number);
    if (parts.length !== 3 || parts.some((part) => !Number.isFinite(part))) return null;
    return { zoom: parts[0], center: [parts[1], parts[2]] };
  }

  function restore(hash) {
    const params = new URLSearchParams((typeof hash === 'string' ? hash : window.location.hash).slice(1));
    state.quietUntil = performance.now() + RESTORE_QUIET_MS;
    const sectors = params.get('secteurs');
    setSectors(sectors === null ? undefined : sectors === '-' ? [] : sectors.split(','));
    state.legalForm = params.get('forme') || '';
    byId('atlas-legal-form').value = state.legalForm;
    state.area = parseArea(params.get('zone'));
    byId('atlas-region').value = state.area ? state.area.parameter + ':' + state.area.code : '';
    state.text = params.get('q') || '';
    byId('atlas-text').value = state.text;
    const view = parseView(params.get('carte'));
    if (view) map.setView(view.center, view.zoom, { animate: false });
    const id = params.get('structure');
    if (id && /^\d+$/.test(id)) openStructure(Number(id), null);
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

  function frenchZoomControl() {
    if (map.zoomControl) map.removeControl(map.zoomControl);
    map.zoomControl = L.control.zoom({ zoomInTitle: M.zoomIn, zoomOutTitle: M.zoomOut }).addTo(map);
  }

  function renderLegalForms() {
    const select = byId('atlas-legal-form');
    Object.entries(legalForms).forEach(([value, label]) => select.append(option(value, label)));
  }

  function wireEvents() {
    map.on('moveend', () => {
      reload();
      scheduleHistory();
    });
    byId('atlas-sector-groups').addEventListener('change', onSectorsChange);
    byId('atlas-sectors-box').addEventListener('toggle', () => reload(0));
    byId('atlas-sectors-all').addEventListener('click', () => setAllSectors(true));
    byId('atlas-sectors-none').addEventListener('click', () => setAllSectors(false));
    byId('atlas-region').addEventListener('change', onAreaChange);
    byId('atlas-legal-form').addEventListener('change', onLegalFormChange);
    byId('atlas-text').addEventListener('input', onTextInput);
    byId('atlas-fit').addEventListener('click', fitMatches);
    byId('atlas-place').addEventListener('submit', onPlaceSubmit);
    placeInput().addEventListener('input', () => later('place', PLACE_DEBOUNCE_MS, suggestPlaces));
    placeInput().addEventListener('keydown', onPlaceKey);
    placeInput().addEventListener('blur', () => later('blur', 150, () => renderSuggestions([])));
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
    const arrival = new URLSearchParams(arrivalHash.slice(1));
    const view = parseView(arrival.get('carte'));
    if (view) map.setView(view.center, view.zoom, { animate: false });
    frenchZoomControl();
    renderLegalForms();
    wireEvents();
    showPane('map');
    // The first view waits for the sectors only when the link names sectors or a card.
    const early = !arrival.has('secteurs') && !arrival.has('structure');
    if (early) restore(arrivalHash);
    const [categories, regions] = await Promise.all([
      getJSON(API + '/categories').catch(() => []),
      getJSON(API + '/regions').catch(() => []),
    ]);
    categories.forEach((category) => state.categories.set(category.slug, category));
    renderSectors(categories);
    renderRegions(regions);
    syncSectorSummary();
    if (early) {
      byId('atlas-region').value = state.area ? state.area.parameter + ':' + state.area.code : '';
      redraw();
    } else {
      restore(arrivalHash);
    }
    state.started = true;
  }

  start();
})();
