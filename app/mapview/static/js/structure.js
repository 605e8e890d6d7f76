/* The small map of a structure's own page: one dot, no interaction needed. */

import { readConfig } from './config.js';
import { createMessages } from './i18n.js';
import { rememberedLanguageRedirect, rememberSwitch } from './language.js';
import { createMap } from './leaflet_map.js';

const config = readConfig();
if (!rememberedLanguageRedirect(config.language)) {
  rememberSwitch();
  const messages = createMessages(config.messages, config.locale);
  const map = createMap(document.getElementById('atlas-structure-map'), config, messages,
    { zoomControl: false, scrollWheelZoom: false, keyboard: false }).setView([config.lat, config.lon], 15);
  L.circleMarker([config.lat, config.lon], { radius: 9, color: '#ffffff', weight: 2, fillColor: '#0b6b7d', fillOpacity: 1 }).addTo(map);
}
