"""GET /api/organisations (GeoJSON, filtered, keyset-paged) and /api/organisations/{id}."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlmodel import Session

from app import http_cache, queries, summaries
from app.config import Settings
from app.deps import (
    HARVEST_PARAMETERS,
    SQLITE_INTEGER_MAX,
    HarvestFilterDep,
    Integer,
    Paging,
    PagingDep,
    SessionDep,
    SettingsDep,
    geojson_format,
    only_parameters,
    point_read,
)
from app.errors import NotFound
from app.geojson import (
    GEOJSON_MEDIA_TYPE,
    GeoJSONResponse,
    feature_collection_response,
    feature_of_values,
    organisation_feature,
)
from app.geojson_models import OrganisationCollection, OrganisationFeature
from app.links import same_route_href
from app.queries import OrganisationFilter, PageOrder

router = APIRouter(prefix="/api/organisations", tags=["organisations"])


def _next_link(request: Request, settings: Settings, after: int) -> dict[str, str]:
    """The link to the page after the id `after`, keeping every other parameter."""
    href = same_route_href(request, settings, after=after)
    return {"rel": "next", "type": GEOJSON_MEDIA_TYPE, "href": href}


@router.get(
    "",
    response_class=GeoJSONResponse,
    responses={200: {"model": OrganisationCollection, "description": "A FeatureCollection"}},
    dependencies=[Depends(only_parameters(*HARVEST_PARAMETERS, "limit", "after", "sort", "f")),
                  Depends(geojson_format)],
)
def list_organisations(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    filters: HarvestFilterDep,
    page_request: PagingDep,
) -> Response:
    """Structures matching the filters, in id order (or by relevance), as GeoJSON."""
    validators = http_cache.request_validators(request, session.connection())
    if unchanged := http_cache.not_modified(request, validators):
        return unchanged
    if page_request.sort is PageOrder.RELEVANCE:
        return _by_relevance(session, filters, page_request, validators)
    matched = summaries.number_matched(session=session, filters=filters)
    page = queries.organisations_page(session=session, filters=filters,
                                      limit=page_request.limit, after=page_request.after,
                                      matched=matched)
    links: list[dict[str, Any]] = []
    if page.next_after is not None:
        links.append(_next_link(request, settings, page.next_after))
    members = {"numberMatched": matched, "numberReturned": len(page.rows), "links": links}
    features = [feature_of_values(row) for row in page.rows]
    return feature_collection_response(features, members, validators)


def _by_relevance(
    session: Session, filters: OrganisationFilter, paging: Paging, headers: dict[str, str]
) -> Response:
    """The best `limit` matches of `q`; `moreMatched` says whether others matched."""
    ranked = queries.organisations_by_relevance(
        session=session, filters=filters, limit=paging.limit, after=paging.after)
    members = {"numberReturned": len(ranked.rows), "moreMatched": ranked.more, "links": []}
    return feature_collection_response([organisation_feature(row) for row in ranked.rows],
                                       members, headers)


@router.get(
    "/{organisation_id}",
    response_class=GeoJSONResponse,
    responses={200: {"model": OrganisationFeature, "description": "A Feature"},
               404: {"description": "No structure with this id"}},
    dependencies=[Depends(only_parameters("f")), Depends(geojson_format)],
)
async def get_organisation(
    request: Request,
    organisation_id: Annotated[Integer, Path(ge=1, le=SQLITE_INTEGER_MAX)],
    session: SessionDep,
) -> Response:
    """One structure as a GeoJSON Feature."""
    return await point_read(session, lambda: _organisation(request, session, organisation_id))


def _organisation(request: Request, session: Session, organisation_id: int) -> Response:
    """The answer of get_organisation: 304, 404 or the Feature."""
    validators = http_cache.request_validators(request, session.connection())
    if unchanged := http_cache.not_modified(request, validators):
        return unchanged
    row = queries.organisation_by_id(session=session, organisation_id=organisation_id)
    if row is None:
        raise NotFound(f"no structure with id {organisation_id}", parameter="organisation_id")
    return GeoJSONResponse(feature_of_values(row), headers=validators)
