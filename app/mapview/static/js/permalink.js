/*
 * The page's state in the URL fragment, and back: the view, the filters, the keyword,
 * the open structure, the place searched and near-me with its radius. Parameter names
 * are French, like the page's first links; '/' and ',' stay readable.
 */

function pair(text) {
  const parts = (text || '').split(/[/,]/).map(Number);
  return parts.length === 2 && parts.every(Number.isFinite) ? parts : null;
}

function parseView(text) {
  const parts = (text || '').split('/').map(Number);
  if (parts.length !== 3 || parts.some((part) => !Number.isFinite(part))) return null;
  return { zoom: parts[0], center: [parts[1], parts[2]] };
}

function parseArea(value) {
  const separator = (value || '').indexOf(':');
  if (separator < 0) return null;
  return { parameter: value.slice(0, separator), code: value.slice(separator + 1) };
}

function parseSectors(text) {
  if (text === null) return undefined;  // every sector
  return text === '-' ? [] : text.split(',');
}

function parsePlace(params) {
  const at = pair(params.get('lieu'));
  return at ? { lat: at[0], lon: at[1], label: params.get('lieu_nom') || '' } : null;
}

function parseNearby(params, defaultRadiusKm) {
  const at = pair(params.get('autour'));
  const radius = Number(params.get('rayon'));
  return at ? { lat: at[0], lon: at[1], radiusKm: Number.isFinite(radius) && radius > 0 ? radius : defaultRadiusKm } : null;
}

/* The state a fragment describes; what it does not name is left undefined or empty. */
export function decodeState(hash, defaultRadiusKm) {
  const params = new URLSearchParams((hash || '').replace(/^#/, ''));
  const id = params.get('structure');
  return {
    view: parseView(params.get('carte')),
    sectors: parseSectors(params.get('secteurs')),
    legalForm: params.get('forme') || '',
    area: parseArea(params.get('zone')),
    text: params.get('q') || '',
    openId: id && /^\d+$/.test(id) ? Number(id) : null,
    place: parsePlace(params),
    nearby: parseNearby(params, defaultRadiusKm),
    names: (name) => params.has(name),
  };
}

function fixed(value) {
  return value.toFixed(5);
}

/* The fragment of a state (sectors: null = none, [] = all, else the slugs ticked). */
export function encodeState(state) {
  const params = new URLSearchParams();
  params.set('carte', [state.view.zoom, fixed(state.view.lat), fixed(state.view.lon)].join('/'));
  if (state.sectors === null) params.set('secteurs', '-');
  else if (state.sectors.length) params.set('secteurs', state.sectors.join(','));
  if (state.legalForm) params.set('forme', state.legalForm);
  if (state.area) params.set('zone', state.area.parameter + ':' + state.area.code);
  if (state.text) params.set('q', state.text);
  if (state.place) {
    params.set('lieu', fixed(state.place.lat) + ',' + fixed(state.place.lon));
    params.set('lieu_nom', state.place.label);
  }
  if (state.nearby) {
    params.set('autour', state.nearby.lat + ',' + state.nearby.lon);
    params.set('rayon', String(state.nearby.radiusKm));
  }
  if (state.openId !== null) params.set('structure', String(state.openId));
  return '#' + params.toString().replace(/%2F/g, '/').replace(/%2C/g, ',');
}
