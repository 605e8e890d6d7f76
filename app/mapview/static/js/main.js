/*
 * The map page's entry module: the configuration from the page, the texts of its
 * language, the Leaflet map, then the page itself; other modules get the hooks
 * (hooks.js). The language switch is remembered in localStorage.
 */

import { startAtlas } from './atlas.js';
import { readConfig } from './config.js';
import { announceReady } from './hooks.js';
import { createMessages } from './i18n.js';
import { createMap } from './leaflet_map.js';
import { rememberSwitch, rememberedLanguageRedirect } from './language.js';
// Extra layers (offline basemap, choropleth): they wait for atlas:ready, dispatched below.
import './reach.js';

const config = readConfig();
if (!rememberedLanguageRedirect(config.language)) {
  rememberSwitch();
  const messages = createMessages(config.messages, config.locale);
  const map = createMap(document.getElementById('atlas-map'), config, messages);
  announceReady(startAtlas(map, config, messages));
}
