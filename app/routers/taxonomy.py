"""GET /api/categories and /api/regions (with the listing filters), each with counts."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from app import queries, regions
from app.area_totals import area_counts
from app.deps import HARVEST_PARAMETERS, HarvestFilterDep, SessionDep, TaxonomyDep, only_parameters

router = APIRouter(prefix="/api", tags=["reference"])


class CategoryOut(BaseModel):
    """A sector and how many structures it has."""

    slug: str
    label_fr: str
    label_en: str
    color: str
    parent: str | None
    count: int


class DepartementOut(BaseModel):
    """A département and how many structures it has."""

    code: str
    name: str
    count: int


class RegionOut(BaseModel):
    """A région, its départements, and how many structures they have."""

    code: str
    name: str
    count: int
    departements: list[DepartementOut]


@router.get("/categories", dependencies=[Depends(only_parameters())])
def list_categories(session: SessionDep, taxonomy: TaxonomyDep) -> list[CategoryOut]:
    """Every sector of the taxonomy, in its order, with its count of structures."""
    counts = queries.category_counts(session=session)
    return [
        CategoryOut(
            slug=c.slug,
            label_fr=c.label_fr,
            label_en=c.label_en,
            color=c.color,
            parent=c.parent,
            count=counts.get(c.slug, 0),
        )
        for c in taxonomy.categories
    ]


@router.get("/regions", dependencies=[Depends(only_parameters(*HARVEST_PARAMETERS))])
def list_regions(session: SessionDep, filters: HarvestFilterDep) -> list[RegionOut]:
    """Every French région with its départements and their counts of matching structures."""
    counts = area_counts(session=session, filters=filters)
    by_region, by_departement = counts.regions, counts.departements
    departements = regions.list_departements()
    return [
        RegionOut(
            code=region.code,
            name=region.name,
            count=by_region.get(region.code, 0),
            departements=[
                DepartementOut(code=d.code, name=d.name, count=by_departement.get(d.code, 0))
                for d in departements
                if d.region == region.code
            ],
        )
        for region in regions.list_regions()
    ]
