/*
 * The choropleth layer: structures per région or département (or per 10,000
 * inhabitants) for the page's current filters, from /api/choropleth, drawn on the
 * app's own polygons. A control toggles it, chooses the areas and the measure, shows the
 * legend's classes and a table of every area; clicking an area (or its name in the
 * table) filters the map on it.
 */

// Five classes, light to dark (ColorBrewer YlGnBu, readable by colour-blind visitors).
const PALETTE = ['#ffffcc', '#a1dab4', '#41b6c4', '#2c7fb8', '#253494'];
const PANE = 'atlasChoropleth';

export function createChoropleth(map, options) {
  const { apiRoot, t, formatNumber, filterParams, onPick } = options;
  const pane = map.createPane(PANE);
  pane.style.zIndex = 350;  // above the basemap, below the structures' dots
  const renderer = L.svg({ pane: PANE });
  const polygons = {};
  const state = { on: false, level: 'region', measure: 'count', layer: null, controller: null };
  const panel = buildPanel();

  function buildPanel() {
    const Panel = L.Control.extend({
      options: { position: 'topright' },
      onAdd() {
        const node = L.DomUtil.create('section', 'atlas-choropleth');
        node.setAttribute('aria-label', t('choropleth.title'));
        L.DomEvent.disableClickPropagation(node);
        L.DomEvent.disableScrollPropagation(node);
        node.append(toggleButton(), settings(), legendList(), areaTable());
        return node;
      },
    });
    return new Panel().addTo(map);
  }

  function toggleButton() {
    const button = element('button', 'atlas-choropleth-toggle', t('choropleth.toggle'));
    button.type = 'button';
    button.id = 'atlas-choropleth-toggle';
    button.setAttribute('aria-pressed', 'false');
    button.addEventListener('click', () => setOn(!state.on));
    return button;
  }

  function select(id, label, choices, onChange) {
    const field = element('div', 'atlas-choropleth-field');
    const name = element('label', null, label);
    name.htmlFor = id;
    const input = element('select');
    input.id = id;
    for (const [value, text] of choices) {
      const option = element('option', null, text);
      option.value = value;
      input.append(option);
    }
    input.addEventListener('change', () => onChange(input.value));
    field.append(name, input);
    return field;
  }

  function settings() {
    const box = element('div', 'atlas-choropleth-settings');
    box.id = 'atlas-choropleth-settings';
    box.hidden = true;
    box.append(
      select('atlas-choropleth-level', t('choropleth.level'),
        [['region', t('choropleth.regions')], ['departement', t('choropleth.departements')]],
        (value) => { state.level = value; refresh(); }),
      select('atlas-choropleth-measure', t('choropleth.measure'),
        [['count', t('choropleth.count')], ['per_10000', t('choropleth.per10000')]],
        (value) => { state.measure = value; refresh(); }));
    return box;
  }

  function legendList() {
    const list = element('ul', 'atlas-choropleth-legend');
    list.id = 'atlas-choropleth-legend';
    list.setAttribute('aria-label', t('choropleth.legend'));
    list.hidden = true;
    return list;
  }

  function areaTable() {
    const details = element('details', 'atlas-choropleth-areas');
    details.id = 'atlas-choropleth-areas';
    details.hidden = true;
    const summary = element('summary', null, t('choropleth.table'));
    const table = element('table');
    const head = element('tr');
    for (const title of [t('choropleth.area'), t('choropleth.structures'), t('choropleth.value')]) {
      const cell = element('th', null, title);
      cell.scope = 'col';
      head.append(cell);
    }
    const thead = element('thead');
    thead.append(head);
    table.append(thead, element('tbody'));
    details.append(summary, table);
    return details;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setOn(on) {
    state.on = on;
    const container = panel.getContainer();
    container.querySelector('#atlas-choropleth-toggle').setAttribute('aria-pressed', String(on));
    for (const id of ['#atlas-choropleth-settings', '#atlas-choropleth-legend', '#atlas-choropleth-areas']) {
      container.querySelector(id).hidden = !on;
    }
    if (on) refresh();
    else clear();
  }

  function clear() {
    if (state.layer) map.removeLayer(state.layer);
    state.layer = null;
  }

  async function shapes(level) {
    polygons[level] = polygons[level] ||
      fetch(`${apiRoot}/basemap/${level}s`).then((response) => response.json());
    return polygons[level];
  }

  async function refresh() {
    if (!state.on) return;
    if (state.controller) state.controller.abort();
    const controller = new AbortController();
    state.controller = controller;
    const params = filterParams();
    params.set('level', state.level);
    params.set('measure', state.measure);
    const [answer, collection] = await Promise.all([
      fetch(`${apiRoot}/choropleth?${params}`, { signal: controller.signal })
        .then((response) => response.json()),
      shapes(state.level),
    ]).catch(() => [null, null]);
    if (!answer || controller.signal.aborted || !state.on) return;
    draw(answer, collection);
  }

  function classOf(value, classes) {
    const index = classes.findIndex((range) => value <= range.high);
    return index < 0 ? classes.length - 1 : index;
  }

  function colours(classes) {
    // Fewer classes than colours: spread them over the palette, light to dark.
    const step = classes.length > 1 ? (PALETTE.length - 1) / (classes.length - 1) : 0;
    return classes.map((_, index) => PALETTE[Math.round(index * step)]);
  }

  function shown(area) {
    return state.measure === 'count' ? formatNumber(area.count) : formatNumber(area.value);
  }

  function draw(answer, collection) {
    clear();
    const byCode = new Map(answer.areas.map((area) => [area.code, area]));
    const palette = colours(answer.classes);
    state.layer = L.geoJSON(collection, {
      pane: PANE, renderer,
      style: (feature) => {
        const area = byCode.get(feature.properties.code);
        return { color: '#ffffff', weight: 0.8, fillOpacity: 0.75,
                 fillColor: palette[classOf(area ? area.value : 0, answer.classes)] };
      },
      onEachFeature: (feature, layer) => {
        const area = byCode.get(feature.properties.code);
        if (!area) return;
        layer.bindTooltip(element('span', null, t('choropleth.tooltip', { name: area.name, value: shown(area) })),
          { sticky: true });
        layer.on('click', () => onPick(state.level, area.code));
      },
    }).addTo(map);
    fillLegend(answer.classes, palette);
    fillTable(answer.areas);
  }

  function fillLegend(classes, palette) {
    const list = panel.getContainer().querySelector('#atlas-choropleth-legend');
    list.replaceChildren(...classes.map((range, index) => {
      const item = element('li');
      const swatch = element('span', 'atlas-swatch');
      swatch.setAttribute('aria-hidden', 'true');
      swatch.style.backgroundColor = palette[index];
      const text = range.low === range.high ? formatNumber(range.low)
        : t('choropleth.range', { low: formatNumber(range.low), high: formatNumber(range.high) });
      item.append(swatch, element('span', null, text));
      return item;
    }));
  }

  function fillTable(areas) {
    const body = panel.getContainer().querySelector('#atlas-choropleth-areas tbody');
    body.replaceChildren(...areas.map((area) => {
      const row = element('tr');
      row.dataset.code = area.code;
      const name = element('th');
      name.scope = 'row';
      const pick = element('button', 'atlas-link-button', area.name);
      pick.type = 'button';
      pick.addEventListener('click', () => onPick(state.level, area.code));
      name.append(pick);
      row.append(name, element('td', 'atlas-choropleth-count', formatNumber(area.count)),
        element('td', null, shown(area)));
      return row;
    }));
  }

  return { refresh, setOn, isOn: () => state.on };
}
