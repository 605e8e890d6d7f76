/*
 * Sectors: their colours and labels in the page's language (the palette), and the
 * sector tree of the filters (groups that tick their members, live counts).
 */

import { byId, element, hiddenText } from './dom.js';

const FALLBACK_COLOR = '#6b7280';
const HEX_COLOR = /^#[0-9a-fA-F]{3,8}$/;

/* Colours and labels of the sectors, filled from /api/categories. */
export function createPalette(language) {
  const categories = new Map();
  const labelField = language === 'en' ? 'label_en' : 'label_fr';
  const palette = {
    categories: categories,
    load: (list) => list.forEach((category) => categories.set(category.slug, category)),
    colorOf: (slug) => {
      const category = categories.get(slug);
      return category && HEX_COLOR.test(category.color) ? category.color : FALLBACK_COLOR;
    },
    labelOf: (slug) => {
      const category = categories.get(slug);
      return category ? category[labelField] || category.label_fr : slug;
    },
    swatch: (slug) => {
      const node = element('span', 'atlas-swatch');
      node.setAttribute('aria-hidden', 'true');
      node.style.backgroundColor = palette.colorOf(slug);
      return node;
    },
  };
  return palette;
}

function checkbox(id, value, checked) {
  const input = element('input');
  input.type = 'checkbox';
  input.id = id;
  input.value = value;
  input.checked = checked;
  return input;
}

function countNode(node, count, messages) {
  node.replaceChildren(document.createTextNode(messages.number(count)), hiddenText(messages.t('sectorCount', { count: count })));
}

function sectorCheckbox(category, palette, messages) {
  const item = element('li', 'atlas-sector');
  const input = checkbox('atlas-sector-' + category.slug, category.slug, true);
  input.name = 'category';
  const label = element('label');
  label.htmlFor = input.id;
  const count = element('span', 'atlas-sector-count');
  count.dataset.slug = category.slug;
  countNode(count, category.count, messages);
  label.append(palette.swatch(category.slug), element('span', 'atlas-sector-label', palette.labelOf(category.slug)), count);
  item.append(input, label);
  return item;
}

function groupedByParent(categories) {
  const groups = new Map();
  for (const category of categories) {
    const key = category.parent || '';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(category);
  }
  return groups;
}

function groupLegend(parent, groupLabels, messages) {
  const legend = element('legend');
  const input = checkbox('atlas-group-' + (parent || 'autres'), parent, true);
  input.className = 'atlas-group-box';
  const label = element('label', null, groupLabels[parent] || parent || messages.t('otherSectors'));
  label.htmlFor = input.id;
  legend.append(input, label);
  return legend;
}

/* The tree of sectors by group, every box ticked. */
export function renderSectors(categories, palette, groupLabels, messages) {
  const container = byId('atlas-sector-groups');
  container.replaceChildren();
  for (const [parent, members] of groupedByParent(categories)) {
    const group = element('fieldset', 'atlas-sector-group');
    const list = element('ul', 'atlas-sector-list');
    members.forEach((category) => list.append(sectorCheckbox(category, palette, messages)));
    group.append(groupLegend(parent, groupLabels, messages), list);
    container.append(group);
  }
}

function sectorBoxes() {
  return Array.from(document.querySelectorAll('#atlas-sector-groups input[name="category"]'));
}

/* The sectors ticked: [] means every sector, null means none at all. */
export function selectedSectors() {
  const boxes = sectorBoxes();
  const checked = boxes.filter((box) => box.checked).map((box) => box.value);
  if (boxes.length > 0 && checked.length === 0) return null;
  return checked.length === boxes.length ? [] : checked;
}

/* Tick exactly `slugs` (undefined: every sector). */
export function setSectors(slugs, messages) {
  sectorBoxes().forEach((box) => {
    box.checked = slugs === undefined || slugs.includes(box.value);
  });
  syncSectorSummary(messages);
}

export function setAllSectors(checked, messages) {
  setSectors(checked ? undefined : [], messages);
}

function syncGroupBoxes() {
  document.querySelectorAll('.atlas-sector-group').forEach((group) => {
    const boxes = Array.from(group.querySelectorAll('input[name="category"]'));
    const checked = boxes.filter((box) => box.checked).length;
    const groupBox = group.querySelector('.atlas-group-box');
    groupBox.checked = checked === boxes.length;
    groupBox.indeterminate = checked > 0 && checked < boxes.length;
  });
}

export function syncSectorSummary(messages) {
  const boxes = sectorBoxes();
  const checked = boxes.filter((box) => box.checked).length;
  let text = messages.t('sectorsSome', { checked: checked, total: boxes.length });
  if (checked === boxes.length) text = messages.t('sectorsAll');
  if (checked === 0) text = messages.t('sectorsNone');
  byId('atlas-sector-summary').textContent = text;
  syncGroupBoxes();
}

/* A group's box ticks or unticks its whole group. */
export function applyGroupBox(target) {
  if (!target.classList.contains('atlas-group-box')) return;
  target.closest('.atlas-sector-group').querySelectorAll('input[name="category"]').forEach((box) => {
    box.checked = target.checked;
  });
}

/* The live count of each sector (slug -> count; absent: 0). */
export function showSectorCounts(counts, messages) {
  document.querySelectorAll('.atlas-sector-count').forEach((node) => countNode(node, counts.get(node.dataset.slug) || 0, messages));
}
