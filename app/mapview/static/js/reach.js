/*
 * The map's reach, plugged in through the page's hooks (hooks.js): the offline basemap
 * when tiles are missing or failing, and the choropleth layer, which follows the
 * filters and filters the map on the area clicked.
 */

import { createOfflineBasemap } from './basemap.js';
import { createChoropleth } from './choropleth.js';

function tileLayerOf(map) {
  let found = null;
  map.eachLayer((layer) => { if (layer instanceof L.TileLayer) found = layer; });
  return found;
}

/* Filter the map on an area through the page's own région / département field. */
function pickArea(level, code) {
  const select = document.getElementById('atlas-region');
  const field = select && select.closest('[data-filter]');
  if (!select || (field && field.hidden)) return;  // a locked area is not changed
  select.value = `${level}:${code}`;
  select.dispatchEvent(new Event('change', { bubbles: true }));
}

function install(atlas) {
  const { map, config, messages } = atlas;
  createOfflineBasemap(map, { apiRoot: config.apiRoot, t: messages.t, tileLayer: tileLayerOf(map) });
  const choropleth = createChoropleth(map, {
    apiRoot: config.apiRoot, t: messages.t, formatNumber: messages.number,
    filterParams: atlas.filterParams, onPick: pickArea,
  });
  atlas.events.addEventListener('filtersChanged', () => choropleth.refresh());
}

if (window.atlas) install(window.atlas);
else document.addEventListener('atlas:ready', (event) => install(event.detail), { once: true });
