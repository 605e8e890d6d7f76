"""GET /api/facets: the total and the counts per sector and legal form of a view."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from app import summaries
from app.deps import HARVEST_PARAMETERS, HarvestFilterDep, SessionDep, TaxonomyDep, only_parameters

router = APIRouter(prefix="/api", tags=["organisations"])


@router.get("/facets", dependencies=[Depends(only_parameters(*HARVEST_PARAMETERS))])
def facets(session: SessionDep, taxonomy: TaxonomyDep, filters: HarvestFilterDep) -> dict[str, Any]:
    """Structures matching the filters, and per sector / legal form without that facet's filter."""
    found = summaries.facets(session=session, filters=filters,
                             sectors=[category.slug for category in taxonomy.categories])
    return {
        "numberMatched": found.number_matched,
        "categories": [{"value": slug, "count": n} for slug, n in found.categories.items()],
        "legal_forms": [{"value": form, "count": n} for form, n in found.legal_forms.items()],
    }
