/*
 * The card of a structure and the card of structures stacked on one point, as DOM
 * built from a feature's public properties (text only, links checked).
 */

import { element, hiddenText } from './dom.js';

const EMAIL = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/;
const BARE_DOMAIN = /^[\w-]+(\.[\w-]+)+(\/\S*)?$/;

function webUrl(text) {
  if (!text) return null;
  try {
    const url = new URL(BARE_DOMAIN.test(text) ? 'https://' + text : text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
  } catch (error) {
    return null;
  }
}

function websiteLink(text, messages) {
  const url = webUrl(text);
  if (!url) return null;
  const link = element('a', 'atlas-card-website', url.host + (url.pathname === '/' ? '' : url.pathname));
  link.href = url.href;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  link.append(hiddenText(messages.t('newTab')));
  return link;
}

function contactLine(properties, messages) {
  const line = element('p', 'atlas-card-contact');
  const website = websiteLink(properties.website, messages);
  if (website) line.append(website);
  if (properties.email && EMAIL.test(properties.email)) {
    const mail = element('a', null, properties.email);
    mail.href = 'mailto:' + properties.email;
    line.append(mail);
  }
  const digits = (properties.phone || '').replace(/[^\d+]/g, '');
  if (digits.length >= 4) {
    const phone = element('a', null, properties.phone);
    phone.href = 'tel:' + digits;
    line.append(phone);
  }
  return line.childElementCount ? line : null;
}

function addressLines(properties) {
  const town = [properties.postcode, properties.city].filter(Boolean).join(' ');
  return [properties.street, town].filter(Boolean);
}

function addressBlock(properties) {
  const lines = addressLines(properties);
  if (!lines.length) return null;
  const block = element('p', 'atlas-card-address');
  lines.forEach((line, index) => {
    if (index) block.append(element('br'));
    block.append(document.createTextNode(line));
  });
  return block;
}

function precisionLine(properties, messages) {
  const key = 'precision.' + properties.geocode_precision;
  const text = messages.has(key) ? messages.t(key, { address: addressLines(properties).join(', ') }) : messages.t('unknownPrecision');
  return element('p', 'atlas-card-precision', text);
}

function sectorList(properties, palette) {
  const list = element('ul', 'atlas-card-sectors');
  for (const slug of properties.categories || []) {
    const item = element('li');
    item.append(palette.swatch(slug), element('span', null, palette.labelOf(slug)));
    list.append(item);
  }
  return list;
}

function legalLine(properties, legalForms) {
  const parts = [legalForms[properties.legal_form], properties.legal_status].filter(Boolean);
  return parts.length ? element('p', 'atlas-card-form', parts.join(' · ')) : null;
}

function pageLink(id, context) {
  const link = element('a', 'atlas-card-page', context.messages.t('structurePage'));
  link.href = '/structures/' + encodeURIComponent(String(id)) + '?lang=' + encodeURIComponent(context.language);
  const line = element('p');
  line.append(link);
  return line;
}

function cardTitle(text) {
  const title = element('h2', 'atlas-card-title', text);
  title.id = 'atlas-card-title';
  return title;
}

/*
 * One structure. `context`: messages, palette, legalForms, language, and
 * distanceText (metres -> text or null when there is no origin).
 */
export function structureCard(feature, context) {
  const properties = feature.properties;
  const card = element('article', 'atlas-card');
  card.append(cardTitle(properties.name), sectorList(properties, context.palette));
  const away = context.distanceText(feature);
  const distance = away ? element('p', 'atlas-card-distance', context.messages.t('distance', { distance: away })) : null;
  const description = properties.description ? element('p', 'atlas-card-description', properties.description) : null;
  [legalLine(properties, context.legalForms), description, addressBlock(properties), precisionLine(properties, context.messages),
    distance, contactLine(properties, context.messages), pageLink(feature.id, context)].filter(Boolean).forEach((part) => card.append(part));
  return card;
}

/* Structures on one point: `items` are their list entries, `total` how many there are. */
export function stackCard(items, total, messages) {
  const card = element('article', 'atlas-card');
  const list = element('ol', 'atlas-stack');
  list.append(...items);
  card.append(cardTitle(messages.t('stack', { count: total })), list);
  if (total > items.length) card.append(element('p', 'atlas-result-more', messages.t('stackPartial', { shown: items.length, total: total })));
  return card;
}
