"""GET /api/choropleth: counts per région or département for the map's filters."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.area_totals import area_counts
from app.choropleth import AreaLevel, Measure, area_values, value_classes
from app.deps import HARVEST_PARAMETERS, HarvestFilterDep, SessionDep, only_parameters

router = APIRouter(prefix="/api", tags=["reference"])


@router.get("/choropleth",
            dependencies=[Depends(only_parameters(*HARVEST_PARAMETERS, "level", "measure"))])
def choropleth(
    session: SessionDep,
    filters: HarvestFilterDep,
    level: Annotated[AreaLevel, Query(description="region or departement")] = AreaLevel.REGION,
    measure: Annotated[Measure, Query(
        description="count, or per_10000 (structures per 10,000 inhabitants)")] = Measure.COUNT,
) -> dict[str, Any]:
    """Every area of the level with its exact count for the filters, and the legend's classes."""
    areas = area_values(area_counts(session=session, filters=filters), level, measure)
    return {
        "level": level.value,
        "measure": measure.value,
        "areas": [asdict(area) for area in areas],
        "classes": [asdict(found) for found in value_classes([area.value for area in areas])],
    }
