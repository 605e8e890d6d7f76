/* Small DOM helpers: every text goes in with textContent, never as HTML. */

export function byId(id) {
  return document.getElementById(id);
}

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function hiddenText(text) {
  return element('span', 'atlas-visually-hidden', text);
}

export function option(value, text) {
  const node = element('option', null, text);
  node.value = value;
  return node;
}
