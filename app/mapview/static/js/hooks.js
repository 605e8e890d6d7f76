/*
 * What other modules (extra layers, the embed page) may use: the map, the current
 * filters and the page's events. `atlas:ready` is dispatched on document with this
 * object as its detail, and it stays at window.atlas.
 *
 *   document.addEventListener('atlas:ready', ({ detail: atlas }) => {
 *     atlas.events.addEventListener('filtersChanged', () => redraw(atlas.filterParams()));
 *   });
 *
 * Events (on atlas.events): filtersChanged (detail: { params }), viewLoaded.
 */

export function createHooks(map, config, messages, filterParams) {
  const events = new EventTarget();
  return {
    map: map,
    config: config,
    messages: messages,
    events: events,
    /* The API parameters of the current filters (locked ones included), a fresh copy. */
    filterParams: () => new URLSearchParams(filterParams()),
    emit: (name, detail) => events.dispatchEvent(new CustomEvent(name, { detail: detail })),
  };
}

export function announceReady(hooks) {
  window.atlas = hooks;
  document.dispatchEvent(new CustomEvent('atlas:ready', { detail: hooks }));
}
