"""Exact counts of the structures matching filters, per région and per département.

What the grid can express (active structures, sectors, legal forms, région or
département) is read from `organisation_area`: a few hundred rows whatever the size of
the table. Other filters (text, SIREN, bbox, closed structures, change dates) narrow the
rows through their own indexes and are grouped live, as `summaries.number_matched` does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import Session

from app.area_counts import AREA_TABLE
from app.models import Organisation
from app.queries import OrganisationFilter, filter_conditions
from app.summaries import total_spec
from geocode.gazetteer import default_gazetteer

_ORGANISATION = Organisation.__table__  # type: ignore[attr-defined]
# Arrondissements (ARM) repeat their city's inhabitants: only communes add up.
_COMMUNE_KIND = "COM"


@dataclass(frozen=True)
class AreaCounts:
    """How many matching structures each région and département has (none: left out)."""

    regions: dict[str, int]
    departements: dict[str, int]


def _from_aggregates(filters: OrganisationFilter) -> Select[Any] | None:
    """Counts per (région, département) from organisation_area, or None if it cannot."""
    spec = None if filters.bbox else total_spec(replace(filters, regions=(), departements=()))
    if spec is None:
        return None
    areas = AREA_TABLE.c
    query = select(areas.region, areas.departement, func.sum(areas.n)).where(
        *spec.conditions(AREA_TABLE)).group_by(areas.region, areas.departement)
    if filters.regions:
        query = query.where(areas.region.in_(filters.regions))
    if filters.departements:
        query = query.where(areas.departement.in_(filters.departements))
    return query


def _live(filters: OrganisationFilter) -> Select[Any]:
    """Counts per (région, département) of the matching rows, grouped live."""
    region = func.coalesce(_ORGANISATION.c.region, "")
    departement = func.coalesce(_ORGANISATION.c.departement, "")
    return select(region, departement, func.count()).where(
        *filter_conditions(filters)).group_by(region, departement)


def area_counts(*, session: Session, filters: OrganisationFilter) -> AreaCounts:
    """Exact counts per région and per département of the structures matching `filters`."""
    query = _from_aggregates(filters)
    rows = session.connection().execute(query if query is not None else _live(filters)).all()
    regions: Counter[str] = Counter()
    departements: Counter[str] = Counter()
    for region, departement, n in rows:
        if region and n:
            regions[region] += int(n)
        if departement and n:
            departements[departement] += int(n)
    return AreaCounts(dict(regions), dict(departements))


@cache
def populations() -> AreaCounts:
    """Inhabitants per région and per département, from the gazetteer's communes."""
    regions: Counter[str] = Counter()
    departements: Counter[str] = Counter()
    for commune in default_gazetteer():
        if commune.kind == _COMMUNE_KIND:
            regions[commune.region] += commune.population
            departements[commune.departement] += commune.population
    return AreaCounts(dict(regions), dict(departements))
