/* The small map of a structure's own page: one dot, no interaction needed. */
(function () {
  'use strict';

  const element = document.getElementById('atlas-structure-map');
  const lat = Number(element.dataset.lat);
  const lon = Number(element.dataset.lon);
  const map = L.map(element, { zoomControl: false, scrollWheelZoom: false, keyboard: false }).setView([lat, lon], 15);
  L.tileLayer(element.dataset.tiles, { attribution: element.dataset.attribution, maxZoom: 19 }).addTo(map);
  L.circleMarker([lat, lon], { radius: 9, color: '#ffffff', weight: 2, fillColor: '#0b6b7d', fillOpacity: 1 }).addTo(map);
})();
