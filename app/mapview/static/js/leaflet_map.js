/* The Leaflet map of a page, from its configuration: tiles, controls in the page's language. */

/* Leaflet's own credit, its title in the page's language (Leaflet writes it in English). */
function attributionPrefix(messages) {
  const link = document.createElement('a');
  link.href = 'https://leafletjs.com';
  link.title = messages.t('leafletTitle');
  link.textContent = 'Leaflet';
  return link.outerHTML;
}

/* `options.zoomControl: false` leaves the zoom buttons out (the structure page's small map). */
export function createMap(container, config, messages, options) {
  const settings = Object.assign({ zoomControl: true }, options || {});
  const map = L.map(container, Object.assign({}, settings, { zoomControl: false }));
  map.attributionControl.setPrefix(attributionPrefix(messages));
  const tiles = config.tiles;
  if (tiles.url) {
    L.tileLayer(tiles.url, { attribution: tiles.attribution, minZoom: tiles.minZoom, maxZoom: tiles.maxZoom }).addTo(map);
  }
  if (settings.zoomControl) {
    L.control.zoom({ zoomInTitle: messages.t('zoomIn'), zoomOutTitle: messages.t('zoomOut') }).addTo(map);
  }
  return map;
}
