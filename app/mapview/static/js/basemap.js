/*
 * The offline basemap: when the tile server is not configured or its tiles fail, the
 * app's own simplified polygons (land, régions, départements, /api/basemap/…) are drawn
 * in its place, with the names of the communes that have structures at high zoom. The
 * switch is automatic and said on the map ("fond de carte hors ligne").
 */

const LAYERS = ['land', 'departements', 'regions'];
const STYLES = {
  land: { stroke: false, fillColor: '#f3f1ea', fillOpacity: 1 },
  departements: { color: '#b9b4a6', weight: 0.6, fill: false },
  regions: { color: '#8a8474', weight: 1.4, fill: false },
};
// Tiles failing this many times with none loaded: the tile server is out of reach.
const FAILED_TILES = 4;
const COMMUNE_ZOOM = 10;
const PANE = 'atlasBasemap';

export function createOfflineBasemap(map, options) {
  const { apiRoot, t, tileLayer } = options;  // t: the page's messages.t
  const pane = map.createPane(PANE);
  pane.style.zIndex = 250;  // above the (absent) tiles, below markers and the choropleth
  const renderer = L.svg({ pane: PANE });
  const group = L.layerGroup();
  const names = L.layerGroup();
  const notice = noticeControl(t);
  let shown = false;
  let loaded = null;
  let namesController = null;

  async function loadPolygons() {
    const answers = await Promise.all(LAYERS.map((layer) =>
      fetch(`${apiRoot}/basemap/${layer}`).then((response) => response.json())));
    answers.forEach((collection, index) => {
      const layer = LAYERS[index];
      L.geoJSON(collection, {
        pane: PANE, renderer, interactive: false, style: STYLES[layer],
        className: `atlas-basemap-${layer}`,
      }).addTo(group);
    });
  }

  async function refreshNames() {
    names.clearLayers();
    if (namesController) namesController.abort();
    if (!shown || map.getZoom() < COMMUNE_ZOOM) return;
    namesController = new AbortController();
    const bounds = map.getBounds();
    const bbox = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
      .map((value) => value.toFixed(5)).join(',');
    const response = await fetch(`${apiRoot}/basemap/communes?bbox=${bbox}`,
      { signal: namesController.signal }).catch(() => null);
    if (!response || !response.ok) return;
    const body = await response.json();
    for (const feature of body.features) {
      const [lon, lat] = feature.geometry.coordinates;
      L.tooltip({ permanent: true, direction: 'center', className: 'atlas-basemap-name',
                  interactive: false, pane: PANE })
        .setLatLng([lat, lon]).setContent(escapeText(feature.properties.name)).addTo(names);
    }
  }

  async function show() {
    if (shown) return;
    shown = true;
    if (tileLayer && map.hasLayer(tileLayer)) map.removeLayer(tileLayer);
    map.getContainer().classList.add('atlas-offline-basemap');
    group.addTo(map);
    names.addTo(map);
    notice.addTo(map);
    loaded = loaded || loadPolygons();
    await loaded;
    refreshNames();
  }

  map.on('moveend', () => { if (shown) refreshNames(); });
  if (!tileLayer) {
    show();
  } else {
    let failures = 0;
    let successes = 0;
    tileLayer.on('tileload', () => { successes += 1; });
    tileLayer.on('tileerror', () => {
      failures += 1;
      if (failures >= FAILED_TILES && successes === 0) show();
    });
  }
  return { show, isShown: () => shown };
}

function escapeText(text) {
  const node = document.createElement('span');
  node.textContent = text;
  return node;
}

function noticeControl(t) {
  const Notice = L.Control.extend({
    options: { position: 'bottomleft' },
    onAdd() {
      const node = L.DomUtil.create('p', 'atlas-basemap-notice');
      node.setAttribute('role', 'status');
      node.textContent = t('basemap.offline');
      node.title = t('basemap.offlineWhy');
      return node;
    },
  });
  return new Notice();
}
