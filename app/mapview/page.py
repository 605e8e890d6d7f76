"""The map page: a folium figure that references only assets the app serves itself.

The page is a shell. It never embeds the dataset: atlas.js asks the API for the
structures of the current viewport.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import folium
import xstatic.pkg.leaflet as xstatic_leaflet
from branca.element import Figure
from folium.template import Template
from markupsafe import Markup, escape

from app.config import Settings
from app.taxonomy import LEGAL_FORM_LABELS, load_taxonomy

STATIC_DIR = Path(__file__).parent / "static"
LEAFLET_DIR = Path(xstatic_leaflet.BASE_DIR)
LEAFLET_URL = "/static/leaflet"
ATLAS_URL = "/static/atlas"
FRANCE_CENTER = (46.6, 2.4)
FRANCE_ZOOM = 6
TILES_MIN_ZOOM = 2
TILES_MAX_ZOOM = 19
# In the order they run: the texts, the tile grid and its cache, the page itself.
SCRIPTS = ("messages.js", "cells.js", "atlas.js")

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>(.*?)</script>", re.DOTALL)
INLINE_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL)
TEMPLATE_HOST_LABEL = re.compile(r"^\{[a-z]+\}\.")

MAP_TEMPLATE = """
{% macro html(this, kwargs) %}
<div class="folium-map atlas-map" id={{ this.get_name()|tojson }} data-atlas-map
     role="region" aria-label="Carte des structures"></div>
{% endmacro %}

{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.map(
    {{ this.get_name()|tojson }},
    {
        center: {{ this.location|tojson }},
        crs: L.CRS.{{ this.crs }},
        ...{{ this.options|tojavascript }}
    }
);
{% endmacro %}
"""

PAGE_TEMPLATE = """<!DOCTYPE html>
<html lang="fr">
<head>
{{ this.header.render(**kwargs) }}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ this.title }}</title>
<meta name="description" content="Carte interactive des structures de l'économie sociale et \
solidaire en France : associations, coopératives, mutuelles, fondations et entreprises de l'ESS.">
<link rel="icon" type="image/svg+xml" href="{{ this.asset_urls['favicon.svg'] }}">
{% for name in this.scripts %}<script src="{{ this.asset_urls[name] }}" defer></script>
{% endfor %}
</head>
<body data-legal-forms="{{ this.legal_forms_json }}" data-sector-groups="{{ this.groups_json }}">
<a class="atlas-skip" href="#atlas-results">Aller à la liste des structures</a>
<header class="atlas-header">
  <div class="atlas-brand">
    <h1>Atlas de l'ESS</h1>
    <p>Les structures de l'économie sociale et solidaire en France</p>
  </div>
  <form class="atlas-place" id="atlas-place" role="search" action="#" autocomplete="off">
    <label class="atlas-visually-hidden" for="atlas-place-q">
      Aller à une ville ou une adresse
    </label>
    <div class="atlas-place-box">
      <input id="atlas-place-q" name="q" type="search" maxlength="200" role="combobox"
             aria-autocomplete="list" aria-expanded="false" aria-controls="atlas-place-options"
             placeholder="Ville, code postal, adresse…">
      <ul id="atlas-place-options" class="atlas-place-options" role="listbox"
          aria-label="Lieux proposés" hidden></ul>
    </div>
    <button type="submit">Aller</button>
    <button type="button" id="atlas-near-me" class="atlas-near-me">Autour de moi</button>
  </form>
</header>
<nav class="atlas-switch" aria-label="Affichage">
  <button type="button" id="atlas-show-map" aria-pressed="true">Carte</button>
  <button type="button" id="atlas-show-list" aria-pressed="false">Liste</button>
  <button type="button" id="atlas-filters-toggle" aria-expanded="false"
          aria-controls="atlas-filters">Filtres</button>
</nav>
<main class="atlas-main">
{{ this.html.render(**kwargs) }}
<section id="atlas-card" class="atlas-card-panel" tabindex="-1" hidden
         aria-labelledby="atlas-card-title">
  <button type="button" id="atlas-card-close" class="atlas-card-close"
          aria-label="Fermer la fiche">×</button>
  <div id="atlas-card-body"></div>
</section>
<aside class="atlas-panel" aria-label="Filtres et liste des structures">
  <section class="atlas-filters" id="atlas-filters" aria-labelledby="atlas-filters-title">
    <h2 id="atlas-filters-title" class="atlas-visually-hidden">Filtres</h2>
    <div class="atlas-field">
      <label for="atlas-text">Nom ou mot-clé (toute la France)</label>
      <input id="atlas-text" type="search" maxlength="200" autocomplete="off"
             placeholder="ex. épicerie, recyclerie…">
    </div>
    <div class="atlas-field">
      <label for="atlas-region">Région ou département</label>
      <select id="atlas-region"><option value="">Toute la France</option></select>
    </div>
    <div class="atlas-field">
      <label for="atlas-legal-form">Forme juridique</label>
      <select id="atlas-legal-form"><option value="">Toutes les formes juridiques</option></select>
    </div>
    <details class="atlas-sectors-box" id="atlas-sectors-box">
      <summary>
        Secteurs <span id="atlas-sector-summary" class="atlas-sector-summary"></span>
      </summary>
      <fieldset class="atlas-sectors" id="atlas-sectors">
        <legend class="atlas-visually-hidden">Secteurs à afficher</legend>
        <div class="atlas-sector-actions">
          <button type="button" id="atlas-sectors-all">Tout cocher</button>
          <button type="button" id="atlas-sectors-none">Tout décocher</button>
        </div>
        <div id="atlas-sector-groups"></div>
      </fieldset>
    </details>
  </section>
  <div class="atlas-summary">
    <p id="atlas-status" class="atlas-status" role="status" aria-live="polite">Chargement…</p>
    <button type="button" id="atlas-fit" class="atlas-link-button" hidden>
      Voir tous les résultats
    </button>
    <div id="atlas-nearby-tools" class="atlas-nearby-tools" hidden>
      <label for="atlas-radius">Rayon</label>
      <select id="atlas-radius">
        <option value="1">1 km</option><option value="5">5 km</option>
        <option value="10" selected>10 km</option><option value="25">25 km</option>
        <option value="50">50 km</option>
      </select>
      <button type="button" id="atlas-leave-nearby" class="atlas-link-button">
        Revenir à la zone de la carte
      </button>
    </div>
  </div>
  <h2 id="atlas-results-title" class="atlas-results-title">Structures dans la vue</h2>
  <ol id="atlas-results" class="atlas-results" aria-labelledby="atlas-results-title"
      tabindex="-1"></ol>
</aside>
</main>
<noscript><p class="atlas-noscript">La carte et la liste ont besoin de JavaScript.
Les données restent disponibles en GeoJSON sur
<a href="/api/organisations">/api/organisations</a>.</p></noscript>
<script>
{{ this.script.render(**kwargs) }}
</script>
</body>
</html>
"""


@dataclass(frozen=True)
class MapPage:
    """The rendered page and the headers it must be served with."""

    html: str
    headers: dict[str, str] = field(default_factory=dict)


@cache
def asset_version(path: Path) -> str:
    """A short content hash, so that long-cached asset URLs change with their file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def atlas_asset_url(name: str) -> str:
    """The versioned URL of one of our static files."""
    return f"{ATLAS_URL}/{name}?v={asset_version(STATIC_DIR / name)}"


def leaflet_asset_url(name: str) -> str:
    """The versioned URL of a Leaflet file served from XStatic-Leaflet."""
    return f"{LEAFLET_URL}/{name}?v={xstatic_leaflet.VERSION}"


class AtlasMap(folium.Map):
    """A folium map whose only assets are the locally served Leaflet and atlas CSS."""

    _template = Template(MAP_TEMPLATE)

    def __init__(self, settings: Settings) -> None:
        super().__init__(location=FRANCE_CENTER, zoom_start=FRANCE_ZOOM, tiles=None)
        # Instance attributes: folium's class-level lists point at CDNs.
        self.default_js = [("leaflet", leaflet_asset_url("leaflet.js"))]
        self.default_css = [
            ("leaflet_css", leaflet_asset_url("leaflet.css")),
            ("atlas_css", atlas_asset_url("atlas.css")),
        ]
        tiles = folium.TileLayer(
            tiles=settings.tiles_url,
            attr=settings.tiles_attribution,
            min_zoom=TILES_MIN_ZOOM,
            max_zoom=TILES_MAX_ZOOM,
        )
        tiles.add_to(self)


class AtlasFigure(Figure):
    """The whole page around the map: header, filters, status line and list."""

    _template = Template(PAGE_TEMPLATE)

    def __init__(self, groups: dict[str, str]) -> None:
        super().__init__(title="Atlas de l'ESS — carte de l'économie sociale et solidaire")
        self.scripts = SCRIPTS
        self.asset_urls = {name: atlas_asset_url(name) for name in (*SCRIPTS, "favicon.svg")}
        self.legal_forms_json = json_attribute(legal_form_labels())
        self.groups_json = json_attribute(groups)


def legal_form_labels() -> dict[str, str]:
    """The French label of each legal-form family, by its value."""
    return {form.value: labels[0] for form, labels in LEGAL_FORM_LABELS.items()}


def json_attribute(value: object) -> Markup:
    """JSON escaped for a double-quoted HTML attribute."""
    return escape(json.dumps(value, ensure_ascii=False))


def sector_groups(categories_yaml: Path) -> dict[str, str]:
    """The French labels of the sector groups (the `parent` of each category)."""
    return {group.slug: group.label_fr for group in load_taxonomy(categories_yaml).groups}


def render_map_html(settings: Settings) -> str:
    """Render the page shell with folium."""
    figure = AtlasFigure(sector_groups(settings.categories_yaml))
    AtlasMap(settings).add_to(figure)
    html: str = figure.render()
    return html


def csp_hash(text: str) -> str:
    """The CSP source expression that allows exactly this inline script or style."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def tile_source(tiles_url: str) -> str | None:
    """The CSP source of the tile server, or None when the tiles come from this app."""
    parts = urlsplit(tiles_url)
    if not parts.scheme or not parts.netloc:
        return None
    host = TEMPLATE_HOST_LABEL.sub("*.", parts.netloc)
    if "{" in host:
        return f"{parts.scheme}:"
    return f"{parts.scheme}://{host}"


def content_security_policy(html: str, tiles_url: str) -> str:
    """A policy allowing only this app, the page's own inline code and the tile server."""
    scripts = " ".join(csp_hash(body) for body in INLINE_SCRIPT.findall(html))
    styles = " ".join(csp_hash(body) for body in INLINE_STYLE.findall(html))
    tiles = tile_source(tiles_url)
    directives = [
        "default-src 'none'",
        f"script-src 'self' {scripts}".strip(),
        f"style-src 'self' {styles}".strip(),
        # Leaflet cancels tile downloads by pointing them at a data: GIF.
        f"img-src 'self' data: {tiles or ''}".strip(),
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def build_map_page(settings: Settings) -> MapPage:
    """Render the page once and compute its security headers."""
    html = render_map_html(settings)
    headers = {
        "Content-Security-Policy": content_security_policy(html, settings.tiles_url),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Cache-Control": "no-cache",
    }
    return MapPage(html=html, headers=headers)
