"""GET /api/facets: the total and the counts per sector and legal form of a view."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from app import http_cache, summaries
from app.deps import HARVEST_PARAMETERS, HarvestFilterDep, SessionDep, TaxonomyDep, only_parameters
from app.geojson import json_bytes
from app.queries import OrganisationFilter
from app.taxonomy import Taxonomy

router = APIRouter(prefix="/api", tags=["organisations"])


@router.get("/facets", dependencies=[Depends(only_parameters(*HARVEST_PARAMETERS))],
            responses={200: {"description": "numberMatched, and counts per sector and legal "
                                            "form", "content": {"application/json": {}}}})
def facets(
    request: Request, session: SessionDep, taxonomy: TaxonomyDep, filters: HarvestFilterDep
) -> Response:
    """Structures matching the filters, and per sector / legal form without that facet's filter."""
    validators = http_cache.request_validators(request, session.connection())
    if unchanged := http_cache.not_modified(request, validators):
        return unchanged
    body = request.app.state.answers.body(
        validators["ETag"], lambda: json_bytes(_facets(session, taxonomy, filters)))
    return Response(body, media_type="application/json", headers=validators)


def _facets(session: Session, taxonomy: Taxonomy, filters: OrganisationFilter) -> dict[str, Any]:
    found = summaries.facets(session=session, filters=filters,
                             sectors=[category.slug for category in taxonomy.categories])
    return {
        "numberMatched": found.number_matched,
        "categories": [{"value": slug, "count": n} for slug, n in found.categories.items()],
        "legal_forms": [{"value": form, "count": n} for form, n in found.legal_forms.items()],
    }
