"""The page of one structure at /structures/{id}: its card, a small map, schema.org JSON-LD.

Server-rendered, so it can be shared and indexed; only public columns are read.
"""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment

from app.config import Settings
from app.mapview.page import (
    atlas_asset_url,
    content_security_policy,
    leaflet_asset_url,
    legal_form_labels,
)
from app.taxonomy import Taxonomy

_TEMPLATES = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)

STRUCTURE_TEMPLATE = _TEMPLATES.from_string("""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ name }} — Atlas de l'ESS</title>
{% if description %}<meta name="description" content="{{ description }}">{% endif %}
<link rel="icon" type="image/svg+xml" href="{{ assets.favicon }}">
<link rel="stylesheet" href="{{ assets.leaflet_css }}">
<link rel="stylesheet" href="{{ assets.atlas_css }}">
<script src="{{ assets.leaflet_js }}" defer></script>
<script src="{{ assets.structure_js }}" defer></script>
<script type="application/ld+json">{{ json_ld | safe }}</script>
</head>
<body class="atlas-structure-page">
<header class="atlas-header">
  <div class="atlas-brand"><p><a href="/">Atlas de l'ESS</a></p></div>
</header>
<main class="atlas-structure">
  <article class="atlas-card">
    <h1 class="atlas-card-title">{{ name }}</h1>
    {% if sectors %}
    <ul class="atlas-card-sectors">
      {% for sector in sectors %}<li>{{ sector }}</li>{% endfor %}
    </ul>
    {% endif %}
    {% if legal %}<p class="atlas-card-form">{{ legal }}</p>{% endif %}
    {% if description %}<p class="atlas-card-description">{{ description }}</p>{% endif %}
    {% if address %}<p class="atlas-card-address">{{ address }}</p>{% endif %}
    {% if website %}
    <p><a href="{{ website }}" rel="noopener noreferrer">{{ website }}</a></p>
    {% endif %}
    <p><a href="{{ map_link }}">Voir sur la carte</a></p>
  </article>
  <div id="atlas-structure-map" class="atlas-structure-map" role="img"
       aria-label="Position de {{ name }} sur la carte"
       data-lat="{{ lat }}" data-lon="{{ lon }}" data-tiles="{{ tiles_url }}"
       data-attribution="{{ attribution }}"></div>
</main>
</body>
</html>
""")

MISSING_TEMPLATE = _TEMPLATES.from_string("""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Structure introuvable — Atlas de l'ESS</title>
<link rel="stylesheet" href="{{ atlas_css }}">
</head>
<body class="atlas-structure-page">
<main class="atlas-structure">
  <h1>Structure introuvable</h1>
  <p>Aucune structure ne porte le numéro {{ wanted }}.</p>
  <p><a href="/">Retour à la carte</a></p>
</main>
</body>
</html>
""")


def _web_address(text: str | None) -> str | None:
    """Only http(s) addresses become links."""
    if not text:
        return None
    return text if text.startswith(("https://", "http://")) else None


def json_ld(properties: dict[str, Any], lat: float, lon: float) -> str:
    """schema.org Organization of the public fields, safe inside a <script> element."""
    address = {"@type": "PostalAddress", "streetAddress": properties.get("street"),
               "postalCode": properties.get("postcode"),
               "addressLocality": properties.get("city"),
               "addressCountry": properties.get("country")}
    document = {
        "@context": "https://schema.org", "@type": "Organization",
        "name": properties["name"], "description": properties.get("description"),
        "url": _web_address(properties.get("website")), "email": properties.get("email"),
        "telephone": properties.get("phone"), "taxID": properties.get("siren"),
        "address": {k: v for k, v in address.items() if v},
        "geo": {"@type": "GeoCoordinates", "latitude": lat, "longitude": lon},
    }
    text = json.dumps({k: v for k, v in document.items() if v}, ensure_ascii=False)
    # "<" escaped: no text from the data can close the script element.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _legal_line(properties: dict[str, Any]) -> str:
    """The legal form family and status, as the map's card shows them."""
    label = legal_form_labels().get(properties.get("legal_form") or "")
    return " · ".join(part for part in (label, properties.get("legal_status")) if part)


def render_structure(feature: dict[str, Any], taxonomy: Taxonomy, settings: Settings) -> str:
    """The HTML page of one structure (a GeoJSON feature of public properties)."""
    properties = feature["properties"]
    lon, lat = feature["geometry"]["coordinates"]
    town = " ".join(part for part in (properties.get("postcode"), properties.get("city")) if part)
    sectors = [c.label_fr for slug in properties["categories"] if (c := taxonomy.get(slug))]
    html: str = STRUCTURE_TEMPLATE.render(
        name=properties["name"], description=properties.get("description"),
        sectors=sectors, legal=_legal_line(properties),
        address=", ".join(part for part in (properties.get("street"), town) if part),
        website=_web_address(properties.get("website")), lat=lat, lon=lon,
        map_link=f"/#carte=16/{lat:.5f}/{lon:.5f}&structure={feature['id']}",
        tiles_url=settings.tiles_url, attribution=settings.tiles_attribution,
        json_ld=json_ld(properties, lat, lon), assets=_assets(),
    )
    return html


def render_missing(wanted: str) -> str:
    """The 404 page for an unknown structure."""
    html: str = MISSING_TEMPLATE.render(wanted=wanted, atlas_css=atlas_asset_url("atlas.css"))
    return html


def _assets() -> dict[str, str]:
    """The versioned URLs the structure page loads."""
    return {"favicon": atlas_asset_url("favicon.svg"), "atlas_css": atlas_asset_url("atlas.css"),
            "structure_js": atlas_asset_url("structure.js"),
            "leaflet_js": leaflet_asset_url("leaflet.js"),
            "leaflet_css": leaflet_asset_url("leaflet.css")}


def page_headers(html: str, settings: Settings) -> dict[str, str]:
    """The same strict headers as the map page."""
    return {"Content-Security-Policy": content_security_policy(html, settings.tiles_url),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "Cache-Control": "no-cache"}
