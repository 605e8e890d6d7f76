/*
 * The embed generator (/embed/new): the form's choices become an /embed URL with locked
 * filters, shown live in a preview frame and as <iframe> code to copy.
 */
(function () {
  'use strict';

  const form = document.getElementById('atlas-embed-form');
  const code = document.getElementById('atlas-embed-code');
  const preview = document.getElementById('atlas-embed-preview');
  const WIDTH = /^[0-9]{2,4}(px|%)?$/;
  const HEIGHT = /^[0-9]{3,4}$/;
  let shownUrl = null;

  function embedUrl() {
    const params = new URLSearchParams();
    for (const box of form.querySelectorAll('input[type=checkbox]:checked')) {
      params.append(box.name, box.value);
    }
    const area = form.elements.area.value;
    if (area) {
      const [name, value] = area.split('=');
      params.append(name, value);
    }
    params.append('lang', form.elements.lang.value);
    return `${window.location.origin}/embed?${params.toString()}`;
  }

  function size(input, pattern, fallback) {
    const value = input.value.trim();
    return pattern.test(value) ? value.replace(/px$/, '') : fallback;
  }

  function escapeAttribute(text) {
    return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  }

  function iframeCode(url, width, height) {
    return `<iframe src="${escapeAttribute(url)}" width="${width}" height="${height}" ` +
      'style="border:0" loading="lazy" title="Atlas de l\'ESS"></iframe>';
  }

  function update() {
    const url = embedUrl();
    const width = size(form.elements.width, WIDTH, '100%');
    const height = size(form.elements.height, HEIGHT, '600');
    code.value = iframeCode(url, width, height);
    let frame = preview.querySelector('iframe');
    if (!frame) {
      frame = document.createElement('iframe');
      frame.title = 'Aperçu de la carte intégrée';
      frame.style.border = '0';
      preview.appendChild(frame);
    }
    frame.width = width;
    frame.height = height;
    if (url !== shownUrl) {
      frame.src = url;
      shownUrl = url;
    }
  }

  async function copy() {
    code.select();
    const status = document.getElementById('atlas-embed-copied');
    try {
      await navigator.clipboard.writeText(code.value);
      status.textContent = 'Code copié.';
    } catch (error) {
      status.textContent = 'Copie refusée par le navigateur : sélectionnez le code et copiez-le.';
    }
  }

  form.addEventListener('input', update);
  form.addEventListener('change', update);
  form.addEventListener('submit', (event) => event.preventDefault());
  document.getElementById('atlas-embed-copy').addEventListener('click', copy);
  update();
}());
