/*
 * The page's language: ?lang= first, then the switch on the page (remembered in
 * localStorage), then the browser's Accept-Language (the server's choice).
 */

const STORAGE_KEY = 'atlas-language';

function stored() {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch (error) {
    return null;  // storage refused (private mode, policy): the server's choice stands
  }
}

/* With no ?lang= in the address, go to the remembered language; true when leaving. */
export function rememberedLanguageRedirect(language) {
  const url = new URL(window.location.href);
  const wanted = stored();
  if (url.searchParams.has('lang') || !wanted || wanted === language) return false;
  if (!document.querySelector('[data-atlas-language="' + CSS.escape(wanted) + '"]')) return false;
  url.searchParams.set('lang', wanted);
  window.location.replace(url.href);
  return true;
}

/* A click on the switch remembers the language and keeps the state in the fragment. */
export function rememberSwitch() {
  document.querySelectorAll('[data-atlas-language]').forEach((link) => {
    link.addEventListener('click', (event) => {
      try {
        window.localStorage.setItem(STORAGE_KEY, link.dataset.atlasLanguage);
      } catch (error) {
        // not remembered: the link still changes the language of this page
      }
      event.preventDefault();
      const url = new URL(window.location.href);
      url.searchParams.set('lang', link.dataset.atlasLanguage);
      window.location.assign(url.href);
    });
  });
}
