"""The OpenAPI 3.0 definition of /ogc, written by hand (FastAPI's 3.1 document is for /api).

Paths are relative to the server `/ogc`, as OGC clients read them (GDAL looks up
`/collections/organisations/items`). The list filters are `in: query, style: form,
explode: false` arrays, so QGIS and GDAL send `category=a,b`; their accepted values,
the largest page and the text length come from the taxonomy, the gazetteer and the
settings of this instance.
"""

from __future__ import annotations

from typing import Any

from app import regions
from app.config import Settings
from app.deps import Q_MAX_LENGTH, SQLITE_INTEGER_MAX
from app.geojson import GEOJSON_MEDIA_TYPE
from app.links import href_under
from app.ogc.params import ITEMS_PARAMETERS
from app.ogc.resources import (
    COLLECTION_ID,
    DESCRIPTION,
    HTML_MEDIA_TYPE,
    JSON_MEDIA_TYPE,
    OPENAPI_MEDIA_TYPE,
    ROOT,
    TITLE,
)
from app.taxonomy import LegalForm, Taxonomy

OPENAPI_VERSION = "3.0.3"
_COLLECTION = f"/collections/{COLLECTION_ID}"
_LIST_DESCRIPTIONS = {
    "category": "Sector slugs, comma-separated: structures in any of them",
    "region": "INSEE région codes, comma-separated",
    "departement": "Département codes, comma-separated",
    "legal_form": "ESS legal-form families, comma-separated",
}


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A single-valued query parameter."""
    return {"name": name, "in": "query", "required": False, "description": description,
            "style": "form", "explode": False, "schema": schema}


def _accepted(taxonomy: Taxonomy) -> dict[str, list[str]]:
    """The accepted values of each list filter."""
    return {
        "category": sorted(taxonomy.slugs()),
        "region": [r.code for r in regions.list_regions()],
        "departement": [d.code for d in regions.list_departements()],
        "legal_form": [f.value for f in LegalForm],
    }


def _parameters(settings: Settings, taxonomy: Taxonomy) -> dict[str, Any]:
    """Every query parameter of /ogc, as components."""
    found = {
        "f": _query("f", {"type": "string", "enum": ["json", "geojson", "html"]},
                    "The format of the answer; without it, the Accept header decides"),
        "limit": _query("limit", {"type": "integer", "minimum": 1,
                                  "maximum": settings.max_page_size,
                                  "default": settings.default_page_size},
                        f"Page size; a larger one is answered with {settings.max_page_size}"),
        "after": _query("after", {"type": "integer", "minimum": 0,
                                  "maximum": SQLITE_INTEGER_MAX},
                        "Keyset paging: the last id of the previous page (follow `next`)"),
        "bbox": _query("bbox", {"type": "array", "minItems": 4, "maxItems": 6,
                                "items": {"type": "number"}},
                       "minLon,minLat,maxLon,maxLat in CRS84 (6 numbers: heights ignored); "
                       "minLon > maxLon crosses the antimeridian"),
        "datetime": _query("datetime", {"type": "string"},
                           "updated_at: an RFC 3339 instant, or an interval start/end with "
                           "`..` or nothing for an open end"),
        "updated_since": _query(
            "updated_since", {"type": "string"},
            "Only structures added or changed at or after this RFC 3339 date or date-time "
            "(for mirrors; with `datetime`, both apply)"),
        "q": _query("q", {"type": "string", "minLength": 3, "maxLength": Q_MAX_LENGTH},
                    "Text in name, description, city or sector; accents and case ignored"),
        "featureId": {"name": "featureId", "in": "path", "required": True,
                      "description": "The id of a structure",
                      "schema": {"type": "integer", "minimum": 1,
                                 "maximum": SQLITE_INTEGER_MAX}},
    }
    for name, values in _accepted(taxonomy).items():
        found[name] = _query(name, {"type": "array", "items": {"type": "string", "enum": values}},
                             _LIST_DESCRIPTIONS[name])
    return found


def _content(*media_types: str, schema: str | None = None) -> dict[str, Any]:
    """A content map; the first media type carries the schema when there is one."""
    content: dict[str, Any] = {}
    for index, media_type in enumerate(media_types):
        content[media_type] = {"schema": _ref("schemas", schema)} if schema and index == 0 else {}
    return content


def _responses(description: str, json_type: str, schema: str, *errors: int) -> dict[str, Any]:
    """A 200 in JSON (with its schema) or HTML, and the error answers."""
    answers: dict[str, Any] = {"200": {
        "description": description,
        "content": _content(json_type, HTML_MEDIA_TYPE, schema=schema)}}
    for status in ("400", *map(str, errors)):
        answers[status] = _ref("responses", status)
    return answers


def _operation(operation_id: str, summary: str, parameters: list[str],
               responses: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"operationId": operation_id, "summary": summary, "tags": ["OGC API"],
                    "parameters": [_ref("parameters", name) for name in parameters],
                    "responses": responses}}


def _paths() -> dict[str, Any]:
    """The operations of /ogc."""
    items = list(ITEMS_PARAMETERS)
    return {
        "/": _operation("getLandingPage", "Landing page", ["f"], _responses(
            "Links to the API definition, the conformance classes and the data",
            JSON_MEDIA_TYPE, "landingPage")),
        "/conformance": _operation("getConformance", "Conformance classes", ["f"], _responses(
            "The conformance classes implemented", JSON_MEDIA_TYPE, "confClasses")),
        "/api": _operation("getApi", "This document", ["f"], _responses(
            "The OpenAPI 3.0 definition of /ogc", OPENAPI_MEDIA_TYPE, "document")),
        "/collections": _operation("getCollections", "The collections", ["f"], _responses(
            "The one collection, organisations", JSON_MEDIA_TYPE, "collections")),
        _COLLECTION: _operation("describeOrganisations", "The organisations collection", ["f"],
                                _responses("Its extent (CRS84) and links", JSON_MEDIA_TYPE,
                                           "collection")),
        f"{_COLLECTION}/items": _operation("getOrganisations", "Structures, filtered, paged",
                                           items, _responses(
            "A page of structures in id order, with numberMatched and a next link",
            GEOJSON_MEDIA_TYPE, "featureCollection")),
        f"{_COLLECTION}/items/{{featureId}}": _operation(
            "getOrganisation", "One structure", ["featureId", "f"], _responses(
                "One structure", GEOJSON_MEDIA_TYPE, "feature", 404)),
    }


def _schemas() -> dict[str, Any]:
    """The shapes of the answers."""
    string, number = {"type": "string"}, {"type": "number"}
    link = {"type": "object", "required": ["href", "rel"], "properties": {
        "href": string, "rel": string, "type": string, "title": string}}
    links = {"type": "array", "items": _ref("schemas", "link")}
    point = {"type": "object", "required": ["type", "coordinates"], "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {"type": "array", "minItems": 2, "maxItems": 2, "items": number}}}
    feature = {"type": "object", "required": ["type", "id", "geometry", "properties"],
               "properties": {"type": {"type": "string", "enum": ["Feature"]},
                              "id": {"type": "integer"}, "geometry": point,
                              "properties": {"type": "object"}, "links": links}}
    count = {"type": "integer", "minimum": 0}
    collection = {"type": "object", "required": ["id", "links"], "properties": {
        "id": string, "title": string, "description": string, "itemType": string,
        "crs": {"type": "array", "items": string}, "links": links,
        "extent": {"type": "object", "properties": {"spatial": {"type": "object", "properties": {
            "bbox": {"type": "array", "items": {"type": "array", "minItems": 4, "maxItems": 4,
                                                 "items": number}},
            "crs": string}}}}}}
    error = {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["status", "code", "message"], "properties": {
            "status": {"type": "integer"}, "code": string, "message": string,
            "parameter": string}}}}
    return {
        "link": link, "feature": feature, "collection": collection, "error": error,
        "landingPage": {"type": "object", "required": ["links"], "properties": {
            "title": string, "description": string, "links": links}},
        "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
            "conformsTo": {"type": "array", "items": string}, "links": links}},
        "collections": {"type": "object", "required": ["collections", "links"], "properties": {
            "collections": {"type": "array", "items": _ref("schemas", "collection")},
            "links": links}},
        "featureCollection": {"type": "object", "required": ["type", "features"], "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": _ref("schemas", "feature")},
            "numberMatched": count, "numberReturned": count, "timeStamp": string,
            "links": links}},
        "document": {"type": "object", "required": ["openapi", "paths"]},
    }


def _error_responses() -> dict[str, Any]:
    content = {JSON_MEDIA_TYPE: {"schema": _ref("schemas", "error")}}
    return {
        "400": {"description": "A parameter is malformed, out of range or unknown "
                               "(named in `error.parameter`)", "content": content},
        "404": {"description": "No such structure", "content": content},
    }


def ogc_document(base: str, settings: Settings, taxonomy: Taxonomy) -> dict[str, Any]:
    """The whole OpenAPI 3.0 document of /ogc, its server under `base`."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": f"{TITLE} – OGC API – Features", "version": "1.0.0",
                 "description": DESCRIPTION},
        "servers": [{"url": href_under(base, ROOT)}],
        "paths": _paths(),
        "components": {"parameters": _parameters(settings, taxonomy), "schemas": _schemas(),
                       "responses": _error_responses()},
    }

