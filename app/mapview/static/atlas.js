/*
 * ess-atlas map page.
 *
 * The page embeds no data: this script asks the API for the sectors, the régions
 * and the structures of the current viewport, and shows them as coloured dots on
 * the map and as a list beside it. Every text that comes from the data is put in
 * the page with textContent, never as HTML.
 */
(function () {
  'use strict';

  const API = '/api';
  const MAX_FEATURES = 5000;
  const LIST_LIMIT = 500;
  const NEARBY_RADIUS_KM = 10;
  const NEARBY_LIMIT = 200;
  const MOVE_DEBOUNCE_MS = 250;
  const TEXT_DEBOUNCE_MS = 350;
  const MIN_TEXT_LENGTH = 3;  // the API searches substrings of 3 characters or more
  const PLACE_ZOOM = 13;
  const FIT_MAX_ZOOM = 14;
  const NARROW_MAP_PX = 640;
  const FALLBACK_COLOR = '#6b7280';
  const HEX_COLOR = /^#[0-9a-fA-F]{3,8}$/;
  const EMAIL = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/;
  const BARE_DOMAIN = /^[\w-]+(\.[\w-]+)+(\/\S*)?$/;
  const NUMBER = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 1 });
  const COLLATOR = new Intl.Collator('fr', { sensitivity: 'base' });

  const mapElement = document.querySelector('[data-atlas-map]');
  const map = window[mapElement.id];
  if (mapElement.clientWidth < NARROW_MAP_PX) map.setZoom(map.getZoom() - 1, { animate: false });
  const home = { center: map.getCenter(), zoom: map.getZoom() };
  const markerLayer = L.featureGroup().addTo(map);
  const legalForms = readJSON(document.body.dataset.legalForms);
  const groupLabels = readJSON(document.body.dataset.sectorGroups);

  const state = {
    categories: new Map(),
    area: null,
    text: '',
    mode: 'viewport',
    position: null,
    positionMarker: null,
    fitNearby: false,
    markers: new Map(),
    controller: null,
    timer: null,
    openerId: null,
  };

  /* ---------- small DOM and text helpers ---------- */

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

  function plural(count, singular, several) {
    return NUMBER.format(count) + ' ' + (count <= 1 ? singular : several);
  }

  function formatDistance(metres) {
    if (metres < 1000) return Math.round(metres) + ' m';
    return NUMBER.format(metres / 1000) + ' km';
  }

  function announce(message) {
    byId('atlas-status').textContent = message;
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

  function sectorCheckbox(category) {
    const item = element('li', 'atlas-sector');
    const input = element('input');
    input.type = 'checkbox';
    input.name = 'category';
    input.id = 'atlas-sector-' + category.slug;
    input.value = category.slug;
    input.checked = true;
    const label = element('label');
    label.htmlFor = input.id;
    const count = element('span', 'atlas-sector-count', NUMBER.format(category.count));
    count.append(hiddenText(category.count <= 1 ? ' structure' : ' structures'));
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

  function renderSectors(categories) {
    const container = byId('atlas-sector-groups');
    container.replaceChildren();
    for (const [parent, members] of groupedByParent(categories)) {
      const group = element('fieldset', 'atlas-sector-group');
      group.append(element('legend', null, groupLabels[parent] || parent || 'Autres secteurs'));
      const list = element('ul', 'atlas-sector-list');
      members.forEach((category) => list.append(sectorCheckbox(category)));
      group.append(list);
      container.append(group);
    }
  }

  function sectorBoxes() {
    return Array.from(document.querySelectorAll('#atlas-sector-groups input[type="checkbox"]'));
  }

  /* The sectors to ask for: [] means every sector, null means none at all. */
  function selectedSectors() {
    const boxes = sectorBoxes();
    const checked = boxes.filter((box) => box.checked).map((box) => box.value);
    if (boxes.length > 0 && checked.length === 0) return null;
    return checked.length === boxes.length ? [] : checked;
  }

  function setAllSectors(checked) {
    sectorBoxes().forEach((box) => {
      box.checked = checked;
    });
    onSectorsChange();
  }

  function onSectorsChange() {
    const boxes = sectorBoxes();
    const checked = boxes.filter((box) => box.checked).length;
    let text = '(' + checked + ' sur ' + boxes.length + ')';
    if (checked === boxes.length) text = '(tous)';
    if (checked === 0) text = '(aucun)';
    byId('atlas-sector-summary').textContent = text;
    reload(0);
  }

  /* ---------- the legend on the map: the sectors of the dots in view ---------- */

  const Legend = L.Control.extend({
    options: { position: 'topright' },
    onAdd: function () {
      const box = element('details', 'atlas-legend');
      box.open = !window.matchMedia('(max-width: 760px)').matches;
      box.append(element('summary', null, 'Légende'), element('ul', 'atlas-legend-list'));
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    },
  });
  const legend = new Legend().addTo(map);

  /* Popups pan away from the legend: Leaflet reads this array each time it pans. */
  const POPUP_PADDING = 24;
  const popupPaddingTopRight = [POPUP_PADDING, POPUP_PADDING];

  function updatePopupPadding() {
    const box = legend.getContainer();
    popupPaddingTopRight[0] = POPUP_PADDING + (box.open ? box.offsetWidth : 0);
  }

  legend.getContainer().addEventListener('toggle', updatePopupPadding);

  function renderLegend(features) {
    const counts = new Map();
    features.forEach((feature) => {
      const slug = firstSector(feature);
      counts.set(slug, (counts.get(slug) || 0) + 1);
    });
    const ordered = Array.from(state.categories.keys()).filter((slug) => counts.has(slug));
    Array.from(counts.keys()).forEach((slug) => {
      if (!state.categories.has(slug)) ordered.push(slug);
    });
    const list = legend.getContainer().querySelector('.atlas-legend-list');
    list.replaceChildren(...ordered.map((slug) => legendItem(slug, counts.get(slug))));
    if (!ordered.length) list.append(element('li', 'atlas-legend-empty', 'Aucune structure ici'));
    updatePopupPadding();
  }

  function legendItem(slug, count) {
    const item = element('li');
    item.append(swatch(slug), element('span', 'atlas-legend-label', labelOf(slug)));
    item.append(element('span', 'atlas-legend-count', NUMBER.format(count)));
    return item;
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
      group.append(option('region:' + region.code, region.name + ' (' + NUMBER.format(region.count) + ')'));
      for (const departement of region.departements || []) {
        const text = departement.name + ' – ' + departement.code + ' (' + NUMBER.format(departement.count) + ')';
        group.append(option('departement:' + departement.code, text));
      }
      select.append(group);
    }
  }

  function parseArea(value) {
    const separator = value.indexOf(':');
    if (separator < 0) return null;
    return { parameter: value.slice(0, separator), code: value.slice(separator + 1) };
  }

  /* ---------- API requests ---------- */

  async function getJSON(url, signal) {
    const response = await fetch(url, { signal: signal, headers: { Accept: 'application/json, application/geo+json' } });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      const message = body && body.error && body.error.message;
      throw new Error(message || 'erreur ' + response.status);
    }
    return response.json();
  }

  function restartRequest() {
    if (state.controller) state.controller.abort();
    state.controller = new AbortController();
    return state.controller.signal;
  }

  function filterParams() {
    const params = new URLSearchParams();
    (selectedSectors() || []).forEach((slug) => params.append('category', slug));
    if (state.area) params.set(state.area.parameter, state.area.code);
    if (searchable(state.text)) params.set('q', state.text);
    return params;
  }

  function clamp(value, low, high) {
    return Math.min(high, Math.max(low, value));
  }

  function viewportBbox() {
    const bounds = map.getBounds();
    return [
      clamp(bounds.getWest(), -180, 180),
      clamp(bounds.getSouth(), -90, 90),
      clamp(bounds.getEast(), -180, 180),
      clamp(bounds.getNorth(), -90, 90),
    ].map((value) => value.toFixed(5)).join(',');
  }

  function requestUrl() {
    const params = filterParams();
    if (state.mode === 'nearby') {
      params.set('lat', state.position.lat.toFixed(6));
      params.set('lon', state.position.lon.toFixed(6));
      params.set('radius_km', String(NEARBY_RADIUS_KM));
      params.set('limit', String(NEARBY_LIMIT));
      return API + '/nearby?' + params;
    }
    params.set('bbox', viewportBbox());
    params.set('limit', String(MAX_FEATURES));
    return API + '/organisations?' + params;
  }

  function hasNextPage(collection) {
    return (collection.links || []).some((link) => link.rel === 'next');
  }

  /* ---------- loading ---------- */

  function reload(delay) {
    window.clearTimeout(state.timer);
    state.timer = window.setTimeout(load, delay === undefined ? MOVE_DEBOUNCE_MS : delay);
  }

  function setBusy(busy) {
    document.body.classList.toggle('atlas-loading', busy);
    byId('atlas-results').setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  async function load() {
    if (selectedSectors() === null) {
      restartRequest();
      showFeatures([]);
      announce('Aucun secteur sélectionné : cochez au moins un secteur.');
      return;
    }
    const signal = restartRequest();
    setBusy(true);
    try {
      const collection = await getJSON(requestUrl(), signal);
      const features = collection.features || [];
      showFeatures(features);
      announce(summary(features.length, hasNextPage(collection)));
      if (state.fitNearby) fitNearby();
    } catch (error) {
      if (error.name !== 'AbortError') announce('Impossible de charger les structures (' + error.message + ').');
    } finally {
      if (!signal.aborted) setBusy(false);
    }
  }

  function searchable(text) {
    return Boolean(text) && text.length >= MIN_TEXT_LENGTH;
  }

  function summary(count, capped) {
    let text = plural(count, 'structure', 'structures');
    if (state.mode === 'nearby') text += ' à moins de ' + NEARBY_RADIUS_KM + ' km de vous';
    if (searchable(state.text)) text += ' pour « ' + state.text + ' »';
    else if (state.text) text += ' (mot-clé : ' + MIN_TEXT_LENGTH + ' caractères au moins)';
    if (capped) text += ' (les ' + NUMBER.format(count) + ' premières : zoomez pour voir les autres)';
    return text;
  }

  /* ---------- markers ---------- */

  function firstSector(feature) {
    return (feature.properties.categories || [])[0];
  }

  function createMarker(entry) {
    const [lon, lat] = entry.feature.geometry.coordinates;
    const marker = L.circleMarker([lat, lon], {
      radius: 7,
      color: '#ffffff',
      weight: 1.5,
      opacity: 1,
      fillColor: colorOf(firstSector(entry.feature)),
      fillOpacity: 0.92,
    });
    marker.bindTooltip(element('span', null, entry.feature.properties.name), { direction: 'top', offset: [0, -6] });
    marker.bindPopup(() => buildCard(entry.feature), {
      maxWidth: 320,
      minWidth: 220,
      autoPanPadding: [POPUP_PADDING, POPUP_PADDING],
      autoPanPaddingTopRight: popupPaddingTopRight,
    });
    return marker;
  }

  function syncMarkers(features) {
    const wanted = new Set(features.map((feature) => feature.id));
    for (const [id, entry] of state.markers) {
      if (!wanted.has(id)) {
        markerLayer.removeLayer(entry.marker);
        state.markers.delete(id);
      }
    }
    for (const feature of features) {
      const entry = state.markers.get(feature.id);
      if (entry) {
        entry.feature = feature;
        continue;
      }
      const created = { feature: feature, marker: null };
      created.marker = createMarker(created);
      markerLayer.addLayer(created.marker);
      state.markers.set(feature.id, created);
    }
  }

  function showFeatures(features) {
    syncMarkers(features);
    renderLegend(features);
    renderList(features);
  }

  /* ---------- the card (popup) ---------- */

  /* Only http(s) addresses become links; anything else (javascript:, data:…) is dropped. */
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
    link.append(hiddenText(' (nouvel onglet)'));
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

  function addressBlock(properties) {
    const town = [properties.postcode, properties.city].filter(Boolean).join(' ');
    const lines = [properties.street, town].filter(Boolean);
    if (!lines.length) return null;
    const block = element('p', 'atlas-card-address');
    lines.forEach((line, index) => {
      if (index) block.append(element('br'));
      block.append(document.createTextNode(line));
    });
    return block;
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

  /* Leaflet only closes popups on Escape while the map itself has the focus. */
  function closeOnEscape(event) {
    if (event.key === 'Escape') map.closePopup();
  }

  function buildCard(feature) {
    const properties = feature.properties;
    const card = element('article', 'atlas-card');
    card.tabIndex = -1;
    card.addEventListener('keydown', closeOnEscape);
    const title = element('h3', 'atlas-card-title', properties.name);
    title.id = 'atlas-card-title-' + feature.id;
    card.setAttribute('aria-labelledby', title.id);
    card.append(title, sectorList(properties));
    const distance = typeof properties.distance_m === 'number'
      ? element('p', 'atlas-card-distance', 'À ' + formatDistance(properties.distance_m) + ' de vous')
      : null;
    const description = properties.description ? element('p', 'atlas-card-description', properties.description) : null;
    [legalLine(properties), description, addressBlock(properties), distance, contactLine(properties)]
      .filter(Boolean)
      .forEach((part) => card.append(part));
    return card;
  }

  /* ---------- the list beside the map ---------- */

  function sortedForList(features) {
    if (state.mode === 'nearby') return features.slice();
    return features.slice().sort((a, b) => COLLATOR.compare(a.properties.name, b.properties.name));
  }

  function itemMeta(feature) {
    const properties = feature.properties;
    const sectors = properties.categories || [];
    const parts = [];
    if (sectors.length) parts.push(labelOf(sectors[0]) + (sectors.length > 1 ? ' +' + (sectors.length - 1) : ''));
    if (properties.city) parts.push(properties.city);
    if (typeof properties.distance_m === 'number') parts.push(formatDistance(properties.distance_m));
    return parts.join(' · ');
  }

  function listItem(feature) {
    const item = element('li', 'atlas-result');
    const button = element('button', 'atlas-item');
    button.type = 'button';
    button.dataset.id = String(feature.id);
    const text = element('span', 'atlas-item-text');
    text.append(element('span', 'atlas-item-name', feature.properties.name), element('span', 'atlas-item-meta', itemMeta(feature)));
    button.append(swatch(firstSector(feature)), text);
    button.addEventListener('click', () => openFeature(feature.id));
    item.append(button);
    return item;
  }

  function focusedListId() {
    const active = document.activeElement;
    return active && active.classList.contains('atlas-item') ? active.dataset.id : null;
  }

  function focusListItem(id) {
    const button = byId('atlas-results').querySelector('[data-id="' + CSS.escape(String(id)) + '"]');
    if (button) button.focus();
  }

  function renderList(features) {
    const list = byId('atlas-results');
    const focused = focusedListId();
    const shown = sortedForList(features).slice(0, LIST_LIMIT);
    const items = shown.map(listItem);
    if (features.length > shown.length) {
      const rest = features.length - shown.length;
      items.push(element('li', 'atlas-result-more', 'Et ' + plural(rest, 'autre', 'autres') + ' : zoomez pour affiner la liste.'));
    }
    list.replaceChildren(...items);
    if (focused) focusListItem(focused);
  }

  function openFeature(id) {
    const entry = state.markers.get(id);
    if (!entry) return;
    state.openerId = id;
    entry.marker.openPopup();
  }

  function onPopupOpen(event) {
    const card = event.popup.getElement().querySelector('.atlas-card');
    if (card && state.openerId !== null) card.focus({ preventScroll: true });
  }

  /* Back to the list item that opened the card, unless the visitor went elsewhere. */
  function onPopupClose(event) {
    const id = state.openerId;
    state.openerId = null;
    const active = document.activeElement;
    const popup = event.popup.getElement();
    if (id === null || (active && active !== document.body && !(popup && popup.contains(active)))) return;
    focusListItem(id);
  }

  /* ---------- moving the map: régions, places, near me ---------- */

  function boundsOf(features) {
    const points = features.map((feature) => [feature.geometry.coordinates[1], feature.geometry.coordinates[0]]);
    return points.length ? L.latLngBounds(points) : null;
  }

  async function fitToMatches() {
    const params = filterParams();
    params.set('limit', String(MAX_FEATURES));
    try {
      const collection = await getJSON(API + '/organisations?' + params, restartRequest());
      const bounds = boundsOf(collection.features || []);
      if (bounds) map.fitBounds(bounds, { padding: [32, 32], maxZoom: FIT_MAX_ZOOM });
    } catch (error) {
      if (error.name === 'AbortError') return;
    }
    reload(0);
  }

  function onAreaChange(event) {
    state.area = parseArea(event.target.value);
    leaveNearby(false);
    if (state.area) {
      fitToMatches();
    } else {
      map.setView(home.center, home.zoom);
      reload(0);
    }
  }

  function firstPlace(body) {
    const items = Array.isArray(body) ? body : body.features || body.results || [];
    const item = items[0];
    if (!item) return null;
    if (item.geometry && Array.isArray(item.geometry.coordinates)) {
      return { lat: item.geometry.coordinates[1], lon: item.geometry.coordinates[0], bbox: item.bbox };
    }
    if (Number.isFinite(Number(item.lat)) && Number.isFinite(Number(item.lon))) {
      return { lat: Number(item.lat), lon: Number(item.lon), bbox: item.bbox };
    }
    return null;
  }

  /* The place search endpoint may be missing (404): the caller then searches names. */
  async function findPlace(query) {
    const response = await fetch(API + '/geocode?' + new URLSearchParams({ q: query }), {
      headers: { Accept: 'application/json, application/geo+json' },
    });
    if (!response.ok) return null;
    return firstPlace(await response.json().catch(() => []));
  }

  function goToPlace(place) {
    const box = place.bbox;
    if (Array.isArray(box) && box.length === 4) {
      map.fitBounds([[box[1], box[0]], [box[3], box[2]]], { maxZoom: FIT_MAX_ZOOM });
    } else {
      map.setView([place.lat, place.lon], PLACE_ZOOM);
    }
  }

  async function onPlaceSubmit(event) {
    event.preventDefault();
    const query = byId('atlas-place-q').value.trim();
    if (!query) return;
    leaveNearby(false);
    const place = await findPlace(query).catch(() => null);
    if (place) {
      goToPlace(place);
      return;
    }
    byId('atlas-text').value = query;
    state.text = query;
    fitToMatches();
  }

  function onTextInput(event) {
    state.text = event.target.value.trim();
    reload(TEXT_DEBOUNCE_MS);
  }

  function geolocationMessage(error) {
    if (error.code === 1) return 'Position refusée : autorisez la géolocalisation pour voir les structures proches.';
    return 'Votre position est introuvable pour le moment.';
  }

  function fitNearby() {
    state.fitNearby = false;
    const bounds = L.latLngBounds([[state.position.lat, state.position.lon]]);
    markerLayer.eachLayer((marker) => bounds.extend(marker.getLatLng()));
    map.fitBounds(bounds, { padding: [32, 32], maxZoom: FIT_MAX_ZOOM });
  }

  function showPosition(lat, lon) {
    if (state.positionMarker) state.positionMarker.remove();
    state.positionMarker = L.circleMarker([lat, lon], {
      radius: 9, color: '#0b3c5d', weight: 3, fillColor: '#ffffff', fillOpacity: 1, interactive: false,
    }).addTo(map);
  }

  function enterNearby(position) {
    state.mode = 'nearby';
    state.position = { lat: position.coords.latitude, lon: position.coords.longitude };
    state.fitNearby = true;
    showPosition(state.position.lat, state.position.lon);
    byId('atlas-leave-nearby').hidden = false;
    byId('atlas-results-title').textContent = 'Structures les plus proches de vous';
    reload(0);
  }

  function leaveNearby(reloadNow) {
    if (state.mode !== 'nearby') return;
    state.mode = 'viewport';
    state.position = null;
    if (state.positionMarker) state.positionMarker.remove();
    state.positionMarker = null;
    byId('atlas-leave-nearby').hidden = true;
    byId('atlas-results-title').textContent = 'Structures sur la carte';
    if (reloadNow) reload(0);
  }

  function onNearMe() {
    if (!navigator.geolocation) {
      announce("La géolocalisation n'est pas disponible sur cet appareil.");
      return;
    }
    announce('Recherche de votre position…');
    navigator.geolocation.getCurrentPosition(enterNearby, (error) => announce(geolocationMessage(error)), {
      timeout: 15000,
      maximumAge: 60000,
    });
  }

  /* ---------- start ---------- */

  function wireEvents() {
    map.on('moveend', () => {
      if (state.mode === 'viewport') reload();
    });
    map.on('popupopen', onPopupOpen);
    map.on('popupclose', onPopupClose);
    byId('atlas-sector-groups').addEventListener('change', onSectorsChange);
    byId('atlas-sectors-all').addEventListener('click', () => setAllSectors(true));
    byId('atlas-sectors-none').addEventListener('click', () => setAllSectors(false));
    byId('atlas-region').addEventListener('change', onAreaChange);
    byId('atlas-text').addEventListener('input', onTextInput);
    byId('atlas-place').addEventListener('submit', onPlaceSubmit);
    byId('atlas-near-me').addEventListener('click', onNearMe);
    byId('atlas-leave-nearby').addEventListener('click', () => leaveNearby(true));
  }

  async function start() {
    wireEvents();
    const [categories, regions] = await Promise.all([
      getJSON(API + '/categories').catch(() => []),
      getJSON(API + '/regions').catch(() => []),
    ]);
    categories.forEach((category) => state.categories.set(category.slug, category));
    renderSectors(categories);
    renderRegions(regions);
    onSectorsChange();
  }

  start();
})();
