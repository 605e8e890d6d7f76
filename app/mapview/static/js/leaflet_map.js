/* The Leaflet map of a page, from its configuration: tiles, home view, controls in its language. */

export function createMap(container, config, messages, options) {
  const map = L.map(container, Object.assign({ zoomControl: false }, options || {}));
  const tiles = config.tiles;
  if (tiles.url) {
    L.tileLayer(tiles.url, { attribution: tiles.attribution, minZoom: tiles.minZoom, maxZoom: tiles.maxZoom }).addTo(map);
  }
  if (messages) {
    L.control.zoom({ zoomInTitle: messages.t('zoomIn'), zoomOutTitle: messages.t('zoomOut') }).addTo(map);
  }
  return map;
}
