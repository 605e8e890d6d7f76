"""OGC API – Features Part 1 under /ogc.

Landing page, conformance, the OpenAPI 3.0 definition, the organisations collection, its
items and one item; each as JSON or HTML.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import Session

from app import http_cache, queries, summaries
from app.deps import (
    SQLITE_INTEGER_MAX,
    SessionDep,
    SettingsDep,
    TaxonomyDep,
    only_parameters,
    point_read,
)
from app.errors import NotFound
from app.geojson import GEOJSON_MEDIA_TYPE, GeoJSONResponse, feature_collection_response
from app.links import connection_base, same_route_href_under
from app.ogc import pages, resources
from app.ogc.document import ogc_document
from app.ogc.params import ITEMS_PARAMETERS, Format, items_query, response_format
from app.ogc.resources import COLLECTION_ID, OPENAPI_MEDIA_TYPE

# Not in FastAPI's 3.1 document: /ogc/api is this router's own OpenAPI 3.0 definition.
router = APIRouter(prefix=resources.ROOT, tags=["OGC API"], include_in_schema=False)
ONLY_F = [Depends(only_parameters("f"))]


async def link_base(request: Request, settings: SettingsDep) -> str:
    """What every href of /ogc starts with (links.connection_base)."""
    return connection_base(request, settings)


BaseDep = Annotated[str, Depends(link_base)]


def _json_or_html(request: Request, body: dict[str, Any], title: str,
                  headers: dict[str, str] | None = None) -> Response:
    """The resource as JSON, or as its HTML page."""
    if response_format(request) is Format.HTML:
        return HTMLResponse(pages.resource_page(title, body), headers=headers)
    return JSONResponse(body, headers=headers)


def _validators(request: Request, session: Session, base: str) -> dict[str, str]:
    """ETag and Last-Modified of a data resource: its URL, data version, format and base.

    The format may come from the Accept header and the links from the socket's address,
    so both are part of the tag, and caches are told the answer varies with Accept.
    """
    wanted = response_format(request)
    found = http_cache.request_validators(request, session.connection(), wanted.value, base)
    return {**found, "Vary": "Accept"}


@router.get("", dependencies=ONLY_F)
def landing_page(request: Request, base: BaseDep) -> Response:
    """What this service is, and links to everything."""
    html_wanted = response_format(request) is Format.HTML
    return _json_or_html(request, resources.landing_page(base, html_wanted), resources.TITLE)


@router.get("/conformance", dependencies=ONLY_F)
def conformance(request: Request, base: BaseDep) -> Response:
    """The conformance classes implemented."""
    html_wanted = response_format(request) is Format.HTML
    return _json_or_html(request, resources.conformance(base, html_wanted), "Conformance")


@router.get("/api", dependencies=ONLY_F)
def api_definition(request: Request, base: BaseDep, settings: SettingsDep,
                   taxonomy: TaxonomyDep) -> Response:
    """The OpenAPI 3.0 definition of /ogc (or a page describing it)."""
    document = ogc_document(base, settings, taxonomy)
    if response_format(request) is Format.HTML:
        return HTMLResponse(pages.document_page(document))
    return JSONResponse(document, media_type=OPENAPI_MEDIA_TYPE)


def _extent(session: Session) -> resources.Extent:
    """The collection's extent: from the aggregates and the updated_at index, no scan."""
    return resources.Extent(summaries.spatial_extent(session=session),
                            queries.updated_at_range(session=session))


@router.get("/collections", dependencies=ONLY_F)
def collections(request: Request, base: BaseDep, session: SessionDep) -> Response:
    """The collections: one, organisations."""
    validators = _validators(request, session, base)
    if unchanged := http_cache.not_modified(request, validators):
        return unchanged
    html_wanted = response_format(request) is Format.HTML
    body = resources.collections(base, _extent(session), html_wanted)
    return _json_or_html(request, body, "Collections", validators)


def _check_collection(collection_id: str) -> None:
    if collection_id != COLLECTION_ID:
        raise NotFound(f"no collection {collection_id!r}; there is one: {COLLECTION_ID}",
                       parameter="collectionId")


@router.get("/collections/{collectionId}", dependencies=ONLY_F)
def collection(request: Request, collectionId: str, base: BaseDep,
               session: SessionDep) -> Response:
    """The organisations collection: its extent and links."""
    _check_collection(collectionId)
    validators = _validators(request, session, base)
    if unchanged := http_cache.not_modified(request, validators):
        return unchanged
    html_wanted = response_format(request) is Format.HTML
    body = resources.collection(base, _extent(session), html_wanted)
    return _json_or_html(request, body, resources.COLLECTION_TITLE, validators)


def _page_links(request: Request, base: str, wanted: Format,
                next_after: int | None) -> list[dict[str, str]]:
    """self, alternate and (when there is a next page) next, keeping every parameter."""
    own, other = ((GEOJSON_MEDIA_TYPE, resources.HTML_MEDIA_TYPE) if wanted is Format.JSON
                  else (resources.HTML_MEDIA_TYPE, GEOJSON_MEDIA_TYPE))
    other_f = "html" if wanted is Format.JSON else "json"
    found = [{"rel": "self", "type": own, "href": same_route_href_under(base, request)},
             {"rel": "alternate", "type": other,
              "href": same_route_href_under(base, request, f=other_f)}]
    if next_after is not None:
        found.append({"rel": "next", "type": own,
                      "href": same_route_href_under(base, request, after=next_after)})
    return found


@router.get("/collections/{collectionId}/items",
            dependencies=[Depends(only_parameters(*ITEMS_PARAMETERS))])
def items(request: Request, collectionId: str, base: BaseDep, settings: SettingsDep,
          taxonomy: TaxonomyDep, session: SessionDep) -> Response:
    """A page of structures in id order, with numberMatched and a keyset next link."""
    _check_collection(collectionId)
    wanted = response_format(request)
    asked = items_query(request, settings, taxonomy)
    validators = _validators(request, session, base)
    if unchanged := http_cache.not_modified(request, validators):
        return unchanged
    matched = summaries.number_matched(session=session, filters=asked.filters)
    page = queries.organisations_page(session=session, filters=asked.filters,
                                      limit=asked.limit, after=asked.after, matched=matched)
    links = _page_links(request, base, wanted, page.next_after)
    members = resources.items_members(base, links, matched, len(page.rows))
    if wanted is Format.HTML:
        return HTMLResponse(pages.items_page(page.rows, members), headers=validators)
    return feature_collection_response(resources.flat_features(page.rows), members, validators)


def _feature_id(text: str) -> int:
    """The id in the path; anything that is no id names no structure (404)."""
    if not (text.isascii() and text.isdigit() and 0 < int(text) <= SQLITE_INTEGER_MAX):
        raise NotFound(f"no structure with id {text!r}", parameter="featureId")
    return int(text)


@router.get("/collections/{collectionId}/items/{featureId}", dependencies=ONLY_F)
async def item(request: Request, collectionId: str, featureId: str, base: BaseDep,
               session: SessionDep) -> Response:
    """One structure, with its links."""
    _check_collection(collectionId)
    wanted = response_format(request)
    organisation_id = _feature_id(featureId)
    return await point_read(session, lambda: _item(request, base, session, organisation_id,
                                                   wanted))


def _item(request: Request, base: str, session: Session, organisation_id: int,
          wanted: Format) -> Response:
    """The answer of item: 304, 404, or the Feature in the format wanted."""
    validators = _validators(request, session, base)
    if unchanged := http_cache.not_modified(request, validators):
        return unchanged
    row = queries.organisation_by_id(session=session, organisation_id=organisation_id)
    if row is None:
        raise NotFound(f"no structure with id {organisation_id}", parameter="featureId")
    feature = resources.item(base, row)
    if wanted is Format.HTML:
        return HTMLResponse(pages.item_page(feature), headers=validators)
    return GeoJSONResponse(feature, headers=validators)

