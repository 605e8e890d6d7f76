"""The page of one structure at /structures/{id}: its card, a small map, schema.org JSON-LD.

Server-rendered, so it can be shared and indexed; only public columns are read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from app.config import Settings
from app.mapview.i18n import (
    NUMBER_LOCALES,
    category_label,
    legal_form_labels,
    script_catalogue,
)
from app.mapview.page import atlas_asset_url, leaflet_asset_url, tiles_config
from app.mapview.templates import render, script_json
from app.taxonomy import Taxonomy


def _web_address(text: str | None) -> str | None:
    """Only http(s) addresses become links."""
    if not text:
        return None
    return text if text.startswith(("https://", "http://")) else None


def json_ld(properties: dict[str, Any], lat: float, lon: float) -> Markup:
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
    return script_json({k: v for k, v in document.items() if v})


def _legal_line(properties: dict[str, Any], language: str) -> str:
    """The legal form family and status, as the map's card shows them."""
    label = legal_form_labels(language).get(properties.get("legal_form") or "")
    return " · ".join(part for part in (label, properties.get("legal_status")) if part)


def home_link(language: str, fragment: str = "") -> str:
    """The map page in the same language, at `fragment`."""
    return f"/?{urlencode({'lang': language})}{fragment}"


def render_structure(
    feature: dict[str, Any], taxonomy: Taxonomy, settings: Settings, language: str
) -> str:
    """The HTML page of one structure (a GeoJSON feature of public properties)."""
    properties = feature["properties"]
    lon, lat = feature["geometry"]["coordinates"]
    town = " ".join(part for part in (properties.get("postcode"), properties.get("city")) if part)
    sectors = [category_label(c, language)
               for slug in properties["categories"] if (c := taxonomy.get(slug))]
    config = {"language": language, "locale": NUMBER_LOCALES[language], "lat": lat, "lon": lon,
              "messages": script_catalogue(language), "tiles": tiles_config(settings)}
    return render(
        "structure.html", language,
        name=properties["name"], description=properties.get("description"),
        sectors=sectors, legal=_legal_line(properties, language),
        address=", ".join(part for part in (properties.get("street"), town) if part),
        website=_web_address(properties.get("website")), home_link=home_link(language),
        map_link=home_link(language, f"#carte=16/{lat:.5f}/{lon:.5f}&structure={feature['id']}"),
        json_ld=json_ld(properties, lat, lon), config_json=script_json(config), assets=_assets(),
    )


def render_missing(wanted: str, language: str) -> str:
    """The 404 page for an unknown structure."""
    return render("missing.html", language, wanted=wanted, home_link=home_link(language),
                  assets={"atlas_css": atlas_asset_url("atlas.css")})


def _assets() -> dict[str, str]:
    """The versioned URLs the structure page loads."""
    return {"favicon": atlas_asset_url("favicon.svg"), "atlas_css": atlas_asset_url("atlas.css"),
            "structure_js": atlas_asset_url("js/structure.js"),
            "leaflet_js": leaflet_asset_url("leaflet.js"),
            "leaflet_css": leaflet_asset_url("leaflet.css")}
