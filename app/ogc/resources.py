"""The JSON bodies of the OGC API – Features resources.

Landing page, conformance, collections, items, one item: pure functions of what was read
and of the links base.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.geojson import GEOJSON_MEDIA_TYPE, feature_of_values
from app.links import href_under
from app.plain import PlainRow
from app.queries import ID_INDEX, BBox

ROOT = "/ogc"
COLLECTION_ID = "organisations"
COLLECTION_PATH = f"{ROOT}/collections/{COLLECTION_ID}"
ITEMS_PATH = f"{COLLECTION_PATH}/items"
JSON_MEDIA_TYPE = "application/json"
HTML_MEDIA_TYPE = "text/html"
OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
_CONFORMANCE_BASE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
# Only what is implemented: Part 1 core, GeoJSON, HTML and the OpenAPI 3.0 document.
CONFORMANCE_CLASSES = tuple(f"{_CONFORMANCE_BASE}{name}"
                            for name in ("core", "geojson", "html", "oas30"))
TITLE = "ess-atlas"
DESCRIPTION = ("The structures of the French social and solidarity economy (ESS) "
               "as OGC API – Features")
COLLECTION_TITLE = "Structures of the social and solidarity economy"
COLLECTION_DESCRIPTION = (
    "One point per structure (WGS84); properties are the public fields, `categories` "
    "joined by '|'. Filters: bbox, datetime (on updated_at), category, region, "
    "departement, legal_form, q.")


def link(base: str, rel: str, media_type: str, path: str, query: str = "",
         title: str | None = None) -> dict[str, str]:
    """One link object, its href under `base` (see links.connection_base)."""
    found = {"rel": rel, "type": media_type, "href": href_under(base, path, query)}
    return found | ({"title": title} if title else {})


def _both(base: str, path: str, json_type: str = JSON_MEDIA_TYPE,
          html: bool = False) -> list[dict[str, str]]:
    """The self and alternate links of a resource (the HTML one is self when `html`)."""
    as_json = link(base, "alternate" if html else "self", json_type, path, "f=json")
    as_html = link(base, "self" if html else "alternate", HTML_MEDIA_TYPE, path, "f=html")
    return [as_html, as_json] if html else [as_json, as_html]


def landing_page(base: str, html: bool = False) -> dict[str, Any]:
    """The landing page: what this service is and where everything is."""
    links = [
        *_both(base, ROOT, html=html),
        link(base, "service-desc", OPENAPI_MEDIA_TYPE, f"{ROOT}/api",
             title="The OpenAPI 3.0 definition of /ogc"),
        link(base, "service-doc", HTML_MEDIA_TYPE, f"{ROOT}/api", "f=html",
             title="The documentation of /ogc"),
        link(base, "conformance", JSON_MEDIA_TYPE, f"{ROOT}/conformance",
             title="The conformance classes implemented"),
        link(base, "data", JSON_MEDIA_TYPE, f"{ROOT}/collections",
             title="The collections"),
    ]
    return {"title": TITLE, "description": DESCRIPTION, "links": links}


def conformance(base: str, html: bool = False) -> dict[str, Any]:
    """The conformance declaration."""
    return {"conformsTo": list(CONFORMANCE_CLASSES),
            "links": _both(base, f"{ROOT}/conformance", html=html)}


@dataclass(frozen=True)
class Extent:
    """Where and when: the bounds of the points, the first and last updated_at."""

    box: BBox | None
    updated: tuple[datetime, datetime] | None


def rfc3339(moment: datetime) -> str:
    """A moment as RFC 3339 UTC with `Z` (SQLite gives datetimes back naive, in UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _extent_member(extent: Extent) -> dict[str, Any]:
    """The `extent` of the collection: spatial in CRS84, temporal on updated_at."""
    member: dict[str, Any] = {}
    if extent.box is not None:
        box = extent.box
        member["spatial"] = {"bbox": [[box.min_lon, box.min_lat, box.max_lon, box.max_lat]],
                             "crs": CRS84}
    if extent.updated is not None:
        member["temporal"] = {"interval": [[rfc3339(moment) for moment in extent.updated]],
                              "trs": GREGORIAN}
    return member


def collection(base: str, extent: Extent, html: bool = False) -> dict[str, Any]:
    """The one collection, with its extent (CRS84; updated_at) and its links."""
    links = [
        *_both(base, COLLECTION_PATH, html=html),
        link(base, "items", GEOJSON_MEDIA_TYPE, ITEMS_PATH, "f=json", title="The structures"),
        link(base, "items", HTML_MEDIA_TYPE, ITEMS_PATH, "f=html", title="The structures"),
    ]
    body: dict[str, Any] = {
        "id": COLLECTION_ID, "title": COLLECTION_TITLE, "description": COLLECTION_DESCRIPTION,
        "itemType": "feature", "crs": [CRS84], "links": links,
    }
    if member := _extent_member(extent):
        body["extent"] = member
    return body


def collections(base: str, extent: Extent, html: bool = False) -> dict[str, Any]:
    """The list of collections (one: organisations)."""
    return {"collections": [collection(base, extent)],
            "links": _both(base, f"{ROOT}/collections", html=html)}


def flat_feature(row: PlainRow) -> dict[str, Any]:
    """A structure (a plain row) as an OGC feature: flat properties, `categories` joined by '|'.

    GIS formats have no list columns (GDAL would write a GeoPackage cell as `(2:a,b)`).
    """
    feature = feature_of_values(row)
    feature["properties"]["categories"] = "|".join(feature["properties"]["categories"])
    return feature


def item(base: str, row: PlainRow) -> dict[str, Any]:
    """One structure (a plain row), with its links."""
    feature = flat_feature(row)
    path = f"{ITEMS_PATH}/{row[ID_INDEX]}"
    feature["links"] = [
        *_both(base, path, json_type=GEOJSON_MEDIA_TYPE),
        link(base, "collection", JSON_MEDIA_TYPE, COLLECTION_PATH, "f=json"),
    ]
    return feature


def time_stamp() -> str:
    """Now, as RFC 3339 UTC (the `timeStamp` of a page)."""
    return rfc3339(datetime.now(UTC).replace(microsecond=0))


def items_members(base: str, links: Iterable[dict[str, str]], matched: int,
                  returned: int) -> dict[str, Any]:
    """The members of an items page besides its features."""
    collection_link = link(base, "collection", JSON_MEDIA_TYPE, COLLECTION_PATH, "f=json")
    return {"numberMatched": matched, "numberReturned": returned, "timeStamp": time_stamp(),
            "links": [*links, collection_link]}


def flat_features(rows: Sequence[PlainRow]) -> list[dict[str, Any]]:
    """The features of a page."""
    return [flat_feature(row) for row in rows]
