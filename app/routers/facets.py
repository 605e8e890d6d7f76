"""GET /api/facets: the total and the counts per sector and legal form of a view."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from app import summaries
from app.answer_cache import kept_json_response
from app.deps import HARVEST_PARAMETERS, HarvestFilterDep, SessionDep, TaxonomyDep, only_parameters
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
    return kept_json_response(request, session.connection(),
                              lambda: _facets(session, taxonomy, filters), "application/json")


def _facets(session: Session, taxonomy: Taxonomy, filters: OrganisationFilter) -> dict[str, Any]:
    found = summaries.facets(session=session, filters=filters,
                             sectors=[category.slug for category in taxonomy.categories])
    return {
        "numberMatched": found.number_matched,
        "categories": [{"value": slug, "count": n} for slug, n in found.categories.items()],
        "legal_forms": [{"value": form, "count": n} for form, n in found.legal_forms.items()],
    }
