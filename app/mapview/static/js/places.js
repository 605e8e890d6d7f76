/*
 * The place box: a combobox that suggests communes, postcodes and addresses as you
 * type (/api/geocode), by keyboard or pointer. It never filters by keyword: a place is
 * only ever chosen, and the page decides what choosing one does.
 */

import { byId, element } from './dom.js';

const DEBOUNCE_MS = 250;
const BLUR_MS = 150;
const MIN_LENGTH = 2;
const SUGGESTIONS = 6;

/*
 * Wire the box. `on.choose(hit)`: a place was chosen; `on.emptied()`: the box was
 * emptied; `on.notFound(query)`: nothing matched a submitted query.
 */
export function createPlaceBox(api, on) {
  const input = byId('atlas-place-q');
  const box = byId('atlas-place-options');
  const state = { suggestions: [], active: -1, timers: {} };

  function later(name, delay, action) {
    window.clearTimeout(state.timers[name]);
    state.timers[name] = window.setTimeout(action, delay);
  }

  function render(hits) {
    state.suggestions = hits;
    state.active = -1;
    box.replaceChildren(...hits.map((hit, index) => {
      const item = element('li', 'atlas-place-option', hit.label);
      item.id = 'atlas-place-option-' + index;
      item.setAttribute('role', 'option');
      item.addEventListener('mousedown', (event) => event.preventDefault());
      item.addEventListener('click', () => choose(hit));
      return item;
    }));
    box.hidden = hits.length === 0;
    input.setAttribute('aria-expanded', hits.length ? 'true' : 'false');
    input.removeAttribute('aria-activedescendant');
  }

  async function fetchPlaces(query) {
    const body = await api.getJSON('/geocode?' + new URLSearchParams({ q: query, limit: String(SUGGESTIONS) }));
    return body.results || [];
  }

  async function suggest() {
    const query = input.value.trim();
    if (!query) on.emptied();
    if (query.length < MIN_LENGTH) {
      render([]);
      return;
    }
    const hits = await fetchPlaces(query).catch(() => []);
    if (input.value.trim() === query) render(hits);
  }

  function move(step) {
    const count = state.suggestions.length;
    if (!count) return;
    state.active = (state.active + step + count) % count;
    box.querySelectorAll('.atlas-place-option').forEach((node, index) => {
      node.setAttribute('aria-selected', index === state.active ? 'true' : 'false');
    });
    input.setAttribute('aria-activedescendant', 'atlas-place-option-' + state.active);
  }

  function onKey(event) {
    if (event.key === 'ArrowDown') move(1);
    else if (event.key === 'ArrowUp') move(-1);
    else if (event.key === 'Escape') render([]);
    else return;
    event.preventDefault();
  }

  function choose(hit) {
    render([]);
    input.value = hit.label;
    on.choose(hit);
  }

  async function onSubmit(event) {
    event.preventDefault();
    const query = input.value.trim();
    if (!query) return;
    const chosen = state.suggestions[state.active];
    const hits = chosen ? [chosen] : await fetchPlaces(query).catch(() => []);
    if (hits.length) choose(hits[0]);
    else on.notFound(query);
  }

  byId('atlas-place').addEventListener('submit', onSubmit);
  input.addEventListener('input', () => later('suggest', DEBOUNCE_MS, suggest));
  input.addEventListener('keydown', onKey);
  input.addEventListener('blur', () => later('blur', BLUR_MS, () => render([])));
  /* What the box shows (a restored place's name, or nothing). */
  return { show: (label) => { input.value = label; } };
}
