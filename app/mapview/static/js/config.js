/* The page's configuration: the JSON of <script type="application/json" id="atlas-config">. */

export function readConfig(id) {
  const node = document.getElementById(id || 'atlas-config');
  return JSON.parse(node.textContent);
}
