"""The map page: a Jinja2 template configured by one JSON element, and its CSP.

The page is a shell. It never embeds the dataset: the script modules (static/js, ES
modules) read the page's configuration and ask the API for the structures of the view.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import xstatic.pkg.leaflet as xstatic_leaflet

from app.config import Settings
from app.mapview.i18n import (
    NUMBER_LOCALES,
    group_labels,
    legal_form_labels,
    script_catalogue,
)
from app.mapview.templates import render, script_json
from app.taxonomy import Taxonomy

STATIC_DIR = Path(__file__).parent / "static"
LEAFLET_DIR = Path(xstatic_leaflet.BASE_DIR)
LEAFLET_URL = "/static/leaflet"
ATLAS_URL = "/static/atlas"
API_ROOT = "/api"
FRANCE_CENTER = (46.6, 2.4)
FRANCE_ZOOM = 6
TILES_MIN_ZOOM = 2
TILES_MAX_ZOOM = 19
RADII_KM = (1, 5, 10, 25, 50)
DEFAULT_RADIUS_KM = 10
# The modules main.js imports, fetched in parallel with it rather than one after another.
PRELOADED_MODULES = (
    "js/atlas.js", "js/api.js", "js/card.js", "js/cells.js", "js/config.js", "js/dom.js",
    "js/hooks.js", "js/i18n.js", "js/language.js", "js/leaflet_map.js", "js/permalink.js",
    "js/places.js", "js/sectors.js", "js/reach.js", "js/basemap.js", "js/choropleth.js",
)

# Executable inline code only: JSON data blocks (config, JSON-LD) are not scripts to the CSP.
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\ssrc=)(?![^>]*\stype=\"application/(?:ld\+)?json\")[^>]*>(.*?)</script>",
    re.DOTALL,
)
INLINE_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL)
TEMPLATE_HOST_LABEL = re.compile(r"^\{[a-z]+\}\.")


@dataclass(frozen=True)
class MapPage:
    """The rendered page and the headers it must be served with."""

    html: str
    headers: dict[str, str] = field(default_factory=dict)


@cache
def static_version() -> str:
    """A short hash of every static file: the directory part of their long-cached URLs.

    A directory rather than a query string, so that the modules' relative imports
    carry the version too.
    """
    digest = hashlib.sha256()
    for path in sorted(p for p in STATIC_DIR.rglob("*") if p.is_file()):
        digest.update(path.relative_to(STATIC_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def atlas_asset_url(name: str) -> str:
    """The versioned URL of one of our static files (`name` relative to static/)."""
    return f"{ATLAS_URL}/{static_version()}/{name}"


def leaflet_asset_url(name: str) -> str:
    """The versioned URL of a Leaflet file served from XStatic-Leaflet."""
    return f"{LEAFLET_URL}/{name}?v={xstatic_leaflet.VERSION}"


def page_assets() -> dict[str, Any]:
    """The versioned URLs the map page loads."""
    return {
        "favicon": atlas_asset_url("favicon.svg"),
        "atlas_css": atlas_asset_url("atlas.css"),
        "leaflet_css": leaflet_asset_url("leaflet.css"),
        "leaflet_js": leaflet_asset_url("leaflet.js"),
        "main_js": atlas_asset_url("js/main.js"),
        "preloaded_modules": [atlas_asset_url(name) for name in PRELOADED_MODULES],
    }


def tiles_config(settings: Settings) -> dict[str, Any]:
    """The tile layer as the script draws it."""
    return {"url": settings.tiles_url, "attribution": settings.tiles_attribution,
            "minZoom": TILES_MIN_ZOOM, "maxZoom": TILES_MAX_ZOOM}


def page_config(
    settings: Settings, taxonomy: Taxonomy, language: str,
    locked_filters: Mapping[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Everything the script is configured with (the JSON of #atlas-config)."""
    return {
        "apiRoot": API_ROOT,
        "language": language,
        "locale": NUMBER_LOCALES[language],
        "messages": script_catalogue(language),
        "tiles": tiles_config(settings),
        "home": {"center": list(FRANCE_CENTER), "zoom": FRANCE_ZOOM},
        "defaultRadiusKm": DEFAULT_RADIUS_KM,
        "lockedFilters": dict(locked_filters or {}),
        "legalForms": legal_form_labels(language),
        "sectorGroups": group_labels(taxonomy, language),
    }


def render_map_html(
    settings: Settings, taxonomy: Taxonomy, language: str,
    locked_filters: Mapping[str, list[str]] | None = None, *, embedded: bool = False,
) -> str:
    """The map page in `language`; `locked_filters` apply to every request and hide their field."""
    config = page_config(settings, taxonomy, language, locked_filters)
    return render(
        "page.html", language, assets=page_assets(), config_json=script_json(config),
        legal_forms=config["legalForms"], radii_km=RADII_KM,
        default_radius_km=DEFAULT_RADIUS_KM, embedded=embedded,
    )


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


def content_security_policy(html: str, tiles_url: str, frame_ancestors: str = "'none'") -> str:
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
        f"frame-ancestors {frame_ancestors}",
    ]
    return "; ".join(directives)


def page_headers(html: str, settings: Settings, language: str) -> dict[str, str]:
    """The strict headers of every page: CSP, no sniffing, language negotiated per request."""
    return {
        "Content-Security-Policy": content_security_policy(html, settings.tiles_url),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Cache-Control": "no-cache",
        "Content-Language": language,
        "Vary": "Accept-Language",
    }


def build_map_page(settings: Settings, taxonomy: Taxonomy, language: str) -> MapPage:
    """Render the page in one language and compute its headers."""
    html = render_map_html(settings, taxonomy, language)
    return MapPage(html=html, headers=page_headers(html, settings, language))
