/* Requests to the app's API, under the root the page is configured with. */

/* An answer that is not 2xx: its status, for a message from the catalogue. */
export class HttpError extends Error {
  constructor(status) {
    super('HTTP ' + status);
    this.status = status;
  }
}

export function createApi(root) {
  async function getJSON(path, signal) {
    const response = await fetch(root + path, { signal: signal, headers: { Accept: 'application/json, application/geo+json' } });
    if (!response.ok) throw new HttpError(response.status);
    return response.json();
  }

  /* `path` with URLSearchParams `params` plus `extra` (name -> value). */
  function withParams(path, params, extra) {
    const query = new URLSearchParams(params);
    Object.entries(extra || {}).forEach(([name, value]) => query.set(name, String(value)));
    const text = query.toString();
    return path + (text ? '?' + text : '');
  }

  return { root: root, getJSON: getJSON, withParams: withParams };
}

export function isAbort(error) {
  return Boolean(error) && error.name === 'AbortError';
}
