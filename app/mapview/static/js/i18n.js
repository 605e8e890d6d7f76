/*
 * The page's texts from its JSON catalogue (static/i18n/<language>.json, given by the
 * page's configuration). A message is a string with {placeholders}, or an object of
 * plural forms chosen by its `count`; numbers are formatted for the page's locale.
 */

export function createMessages(catalogue, locale) {
  const numbers = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  const compactNumbers = new Intl.NumberFormat(locale, { notation: 'compact', maximumFractionDigits: 1 });
  const metres = new Intl.NumberFormat(locale, { style: 'unit', unit: 'meter', maximumFractionDigits: 0 });
  const kilometres = new Intl.NumberFormat(locale, { style: 'unit', unit: 'kilometer', maximumFractionDigits: 1 });
  const plurals = new Intl.PluralRules(locale);

  const number = (value) => numbers.format(value);
  const format = (value) => (typeof value === 'number' ? number(value) : String(value === undefined || value === null ? '' : value));

  function lookup(key) {
    return key.split('.').reduce((node, part) => (node && typeof node === 'object' ? node[part] : undefined), catalogue);
  }

  /* The message `key` with its placeholders filled; a missing message shows its key. */
  function t(key, params) {
    const values = params || {};
    let text = lookup(key);
    if (text && typeof text === 'object') text = text[plurals.select(values.count)] || text.other;
    if (typeof text !== 'string') return key;
    return text.replace(/\{(\w+)\}/g, (whole, name) => format(values[name]));
  }

  function has(key) {
    return typeof lookup(key) === 'string';
  }

  /* A distance in metres: "850 m", "1.2 km" (in the locale's own way). */
  function distance(value) {
    return value < 1000 ? metres.format(Math.round(value)) : kilometres.format(value / 1000);
  }

  return { locale: locale, t: t, has: has, number: number, compact: (value) => compactNumbers.format(value), distance: distance };
}
