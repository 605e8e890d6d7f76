"""Counts per région and département: from organisation_area, equal to a brute force."""

from __future__ import annotations

from collections import Counter

import pytest
from aggregate_data import france_records, matches, record, stored, write
from sqlalchemy import Engine, func, select

from app import aggregates
from app.aggregates import CELL_TABLE
from app.area_counts import AREA_TABLE
from app.area_totals import AreaCounts, area_counts, populations
from app.db import session_scope
from app.models import CLOSED
from app.queries import BBox, OrganisationFilter
from app.storage import Placement, delete_organisation

FILTERS = [
    OrganisationFilter(),
    OrganisationFilter(categories=("habitat",)),
    OrganisationFilter(categories=("habitat", "reemploi")),
    OrganisationFilter(legal_forms=("association",)),
    OrganisationFilter(categories=("alimentation",), legal_forms=("cooperative",)),
    OrganisationFilter(categories=("alimentation", "habitat"), legal_forms=("association",)),
    OrganisationFilter(regions=("52",)),
    OrganisationFilter(departements=("75", "13"), categories=("habitat",)),
    OrganisationFilter(text="solidaire"),
    OrganisationFilter(bbox=BBox(-1.0, 43.0, 6.0, 48.0)),
]


def brute_force(engine: Engine, filters: OrganisationFilter) -> AreaCounts:
    """The counts computed in Python over every stored active structure."""
    kept = [item for item in stored(engine) if matches(item, filters)]
    regions = Counter(item.region for item in kept if item.region)
    departements = Counter(item.departement for item in kept if item.departement)
    return AreaCounts(dict(regions), dict(departements))


def counted(engine: Engine, filters: OrganisationFilter) -> AreaCounts:
    """area_counts in a session of its own."""
    with session_scope(engine) as session:
        return area_counts(session=session, filters=filters)


@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_counts_per_area_equal_a_brute_force(engine: Engine, filters: OrganisationFilter) -> None:
    write(engine, france_records(1500))
    assert counted(engine, filters) == brute_force(engine, filters)


def test_counts_follow_updates_and_deletions(engine: Engine) -> None:
    write(engine, france_records(600))
    ajaccio = Placement(41.93, 8.74, "2A004", "2A", "94", "municipality", "input")
    moved = [record({"name": f"Déplacée {index}", "source": "synthetic",
                     "source_id": str(index)}, ["reemploi"], ajaccio) for index in range(1, 51)]
    write(engine, moved)
    with session_scope(engine) as session:
        for organisation_id in range(100, 140):
            delete_organisation(session=session, organisation_id=organisation_id)
    with engine.connect() as connection:
        assert aggregates.mismatches(connection) == 0
    assert counted(engine, OrganisationFilter(categories=("reemploi",))).departements["2A"] >= 50
    assert counted(engine, OrganisationFilter()) == brute_force(engine, OrganisationFilter())


def test_closed_structures_are_counted_only_when_asked(engine: Engine) -> None:
    place = Placement(48.85, 2.35, "75056", "75", "11", "municipality", "input")
    open_one = record({"name": "Ouverte", "source": "t", "source_id": "1"}, ["habitat"], place)
    closed = record({"name": "Fermée", "source": "t", "source_id": "2", "status": CLOSED},
                    ["habitat"], place)
    write(engine, [open_one, closed])
    assert counted(engine, OrganisationFilter()) == AreaCounts({"11": 1}, {"75": 1})
    assert counted(engine, OrganisationFilter(statuses=("active", CLOSED))) == AreaCounts(
        {"11": 2}, {"75": 2})


def test_populations_add_up_the_communes_not_the_arrondissements() -> None:
    people = populations()
    assert len(people.regions) == 18
    assert len(people.departements) == 101
    assert sum(people.regions.values()) == sum(people.departements.values())
    assert 2_000_000 < people.departements["75"] < 2_300_000


def test_ensure_fills_the_area_counts_of_a_database_that_has_only_the_grid(
        engine: Engine) -> None:
    write(engine, france_records(300))
    with engine.begin() as connection:
        connection.execute(AREA_TABLE.delete())
        cells = connection.execute(select(func.count()).select_from(CELL_TABLE)).scalar_one()
    assert aggregates.ensure(engine) is True
    with engine.connect() as connection:
        assert aggregates.mismatches(connection) == 0
        assert connection.execute(select(func.count()).select_from(CELL_TABLE)
                                  ).scalar_one() == cells
    assert counted(engine, OrganisationFilter()) == brute_force(engine, OrganisationFilter())
    assert aggregates.ensure(engine) is False
