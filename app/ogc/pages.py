"""The HTML twins of the /ogc resources, built from their JSON bodies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from app.ogc import html
from app.ogc.resources import HTML_MEDIA_TYPE, flat_feature
from app.plain import PlainRow

# The columns of the items table (every property is on each structure's own page).
ITEM_COLUMNS = ("name", "city", "departement", "legal_form", "categories", "updated_at")


def _extent(body: Mapping[str, Any]) -> list[Markup]:
    extent = body.get("extent", {})
    boxes = extent.get("spatial", {}).get("bbox", [])
    intervals = extent.get("temporal", {}).get("interval", [])
    return [*(html.paragraph("Extent (CRS84, minLon, minLat, maxLon, maxLat): "
                             + ", ".join(f"{value:.6f}" for value in box)) for box in boxes),
            *(html.paragraph(f"Updated between {first} and {last}")
              for first, last in intervals)]


def _html_href(links: Sequence[Mapping[str, str]]) -> str:
    return next(found["href"] for found in links if found["type"] == HTML_MEDIA_TYPE)


def resource_page(title: str, body: Mapping[str, Any]) -> str:
    """A landing page, conformance declaration, collection list or collection."""
    parts = [html.paragraph(body["description"])] if "description" in body else []
    parts += _extent(body)
    if "conformsTo" in body:
        parts.append(html.table(("conformance class",), ([uri] for uri in body["conformsTo"])))
    for described in body.get("collections", []):
        parts.append(html.table(("collection", "title"), [
            (html.anchor(_html_href(described["links"]), described["id"]),
             described["title"])]))
    parts.append(html.link_list(body["links"]))
    return html.page(title, *parts)


def items_page(rows: Sequence[PlainRow], members: Mapping[str, Any]) -> str:
    """A page of structures (plain rows) as a table, with the counts and the links."""
    counts = html.paragraph(f"{members['numberReturned']} structures of "
                            f"{members['numberMatched']} matching, in id order.")
    table = html.table(("id", *ITEM_COLUMNS), [
        # Relative to the items page: /ogc/collections/organisations/items/{id}.
        (html.anchor(f"items/{feature['id']}?f=html", str(feature["id"])),
         *(feature["properties"].get(name) for name in ITEM_COLUMNS))
        for feature in map(flat_feature, rows)])
    return html.page("Structures", counts, table, html.link_list(members["links"]))


def item_page(feature: Mapping[str, Any]) -> str:
    """One structure: its position and every public property."""
    lon, lat = feature["geometry"]["coordinates"]
    title = str(feature["properties"]["name"])
    position = html.paragraph(f"id {feature['id']}, longitude {lon}, latitude {lat} (CRS84)")
    return html.page(title, position, html.properties_table(feature["properties"]),
                     html.link_list(feature["links"]))


def document_page(document: Mapping[str, Any]) -> str:
    """The OpenAPI definition, readable: each operation and its parameters."""
    parameters = document["components"]["parameters"]
    parts = [html.paragraph(document["info"]["description"])]
    for path, operations in document["paths"].items():
        operation = operations["get"]
        names = [reference["$ref"].rsplit("/", 1)[-1] for reference in operation["parameters"]]
        parts.append(Markup("<h2>GET {}{}</h2>").format(document["servers"][0]["url"], path))
        parts.append(html.paragraph(operation["summary"]))
        parts.append(html.table(("parameter", "in", "description"), [
            (name, parameters[name]["in"], parameters[name]["description"]) for name in names]))
    return html.page(str(document["info"]["title"]), *parts)
