"""The grid aggregates equal a GROUP BY recomputation after every kind of write."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from aggregate_data import france_records, record, write
from alembic import command
from postgres_cluster import BOTH_BACKENDS
from sqlalchemy import Engine, text
from sqlmodel import Session
from typer.testing import CliRunner

from app import aggregates, grid, summaries
from app.cli import cli
from app.db import create_schema, session_scope
from app.dialects import strategy_for
from app.duplicates import merge_candidate
from app.models import DuplicateCandidate, OrganisationCreate
from app.queries import BBox, OrganisationFilter
from app.schema import BASELINE, run_alembic
from app.storage import Placement, UpsertOutcome, delete_organisation, upsert_organisation

BACKENDS = BOTH_BACKENDS

Cells = dict[tuple[Any, ...], tuple[Any, ...]]
# The recomputation, written out in SQL independently of app/aggregates.py: the sectors
# come from organisation_category, not from category_set.
# `{min}` and `{max}` are the scalar minimum and maximum: min/max on SQLite, least/greatest
# on PostgreSQL.
CELL = """{min}({max}(CAST(floor((o.lon + 180.0) / 360.0 * :n) AS INTEGER), 0), :n - 1) AS cx,
    {min}({max}(CAST(floor((1.0 - ln(tan(radians({min}({max}(o.lat, -85.0511287798066),
        85.0511287798066))) + 1.0 / cos(radians({min}({max}(o.lat, -85.0511287798066),
        85.0511287798066)))) / pi()) / 2.0 * :n) AS INTEGER), 0), :n - 1) AS cy"""
SCALAR = {"sqlite": {"min": "min", "max": "max"},
          "postgresql": {"min": "least", "max": "greatest"}}
TOTALS = """count(*), sum(o.id), sum(CAST(round(o.lat * 1000000.0) AS INTEGER)),
    sum(CAST(round(o.lon * 1000000.0) AS INTEGER)), min(o.lat), min(o.lon), max(o.lat),
    max(o.lon)"""
SECTORS = "organisation o JOIN organisation_category c ON c.organisation_id = o.id"
DIMENSIONS = {
    "all": ("''", "organisation o"),
    "sector": ("c.category", SECTORS),
    "legal_form": ("coalesce(CAST(o.legal_form AS VARCHAR), '')", "organisation o"),
    "sector_form": ("c.category || '|' || coalesce(CAST(o.legal_form AS VARCHAR), '')",
                    SECTORS),
    "categories": ("o.categories", "organisation o"),
}


def recompute_sql(dimension: str, dialect: str) -> str:
    value, source = DIMENSIONS[dimension]
    cell = CELL.format(**SCALAR[dialect])
    return (f"SELECT :level, '{dimension}', {cell}, {value} AS value, {TOTALS} "  # noqa: S608
            f"FROM {source} GROUP BY cx, cy, value")


def recomputed(engine: Engine) -> Cells:
    with engine.connect() as connection:
        return {tuple(row[:5]): tuple(row[5:]) for dimension in DIMENSIONS
                for level in aggregates.levels_of(dimension)
                for row in connection.execute(text(recompute_sql(dimension, engine.dialect.name)),
                                              {"level": level, "n": 1 << level})}


def stored_cells(engine: Engine) -> Cells:
    query = text("SELECT level, dimension, cx, cy, value, n, sum_id, sum_lat_e6, sum_lon_e6, "
                 "min_lat, min_lon, max_lat, max_lon FROM organisation_cell")
    with engine.connect() as connection:
        return {tuple(row[:5]): tuple(row[5:]) for row in connection.execute(query)}


def assert_in_step(engine: Engine, *, tight: bool = False) -> None:
    """Counts and sums equal; stored bounds contain the members (equal them when `tight`)."""
    expected, actual = recomputed(engine), stored_cells(engine)
    assert {k: v[:4] for k, v in actual.items()} == {k: v[:4] for k, v in expected.items()}
    for key, (*_, min_lat, min_lon, max_lat, max_lon) in expected.items():
        bounds = actual[key][4:]
        if tight:
            assert bounds == (min_lat, min_lon, max_lat, max_lon)
        else:
            assert bounds[0] <= min_lat and bounds[1] <= min_lon
            assert bounds[2] >= max_lat and bounds[3] >= max_lon
    with engine.connect() as connection:
        assert aggregates.mismatches(connection) == 0


def total(engine: Engine) -> int:
    """The structures counted at the coarsest level."""
    return sum(v[0] for k, v in stored_cells(engine).items() if k[:2] == (2, "all"))


def organisation_ids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT id FROM organisation ORDER BY id")).scalars())


def moved(records: list[Any], rng: random.Random) -> list[Any]:
    """The same keys, each moved far away and given other sectors."""
    changed = []
    for stored in records:
        values = stored.values
        place = Placement(values["lat"] - 3.1, values["lon"] + 2.7, values["citycode"],
                          "13", "93", "municipality", "input")
        fields = {name: values[name] for name in ("name", "city", "legal_form", "source",
                                                  "source_id")}
        changed.append(record(fields, rng.sample(["habitat", "reemploi", "alimentation"], 2),
                              place))
    return changed


def test_inserts_updates_and_reimports_keep_the_aggregates_in_step(engine: Engine) -> None:
    records = france_records(3000)
    write(engine, records, batch=700)
    assert_in_step(engine, tight=True)
    assert total(engine) == 3000
    rng = random.Random(3)  # noqa: S311  (test data)
    changed = moved(rng.sample(records, 300), rng)
    write(engine, changed + france_records(200, seed=9, first=5000), batch=250)
    assert_in_step(engine)
    before = stored_cells(engine)
    write(engine, changed)  # a re-import: nothing changes
    assert stored_cells(engine) == before


def test_an_update_moves_a_structure_to_its_new_cell_and_sector(engine: Engine) -> None:
    records = france_records(50)
    write(engine, records)
    [changed] = moved(records[:1], random.Random(1))  # noqa: S311  (test data)
    write(engine, [changed])
    finest = {k: v for k, v in stored_cells(engine).items() if k[0] == grid.FINEST}
    values = changed.values
    cell = (int(grid.x_of(values["lon"]) * (1 << grid.FINEST)),
            int(grid.y_of(values["lat"]) * (1 << grid.FINEST)))
    here = [v for k, v in finest.items()
            if k[2:4] == cell and k[1] == "categories" and k[4] == values["categories"]]
    assert [v[0] for v in here] == [1]
    assert_in_step(engine)


def test_deletes_and_merges_keep_the_aggregates_in_step(engine: Engine) -> None:
    write(engine, france_records(1500))
    ids = organisation_ids(engine)
    with session_scope(engine) as session:
        for organisation_id in random.Random(5).sample(ids, 60):  # noqa: S311  (test data)
            assert delete_organisation(session=session, organisation_id=organisation_id)
    assert_in_step(engine)
    first, second = organisation_ids(engine)[:2]
    with session_scope(engine) as session:
        session.add(DuplicateCandidate(first_id=first, second_id=second, rule="same_name_nearby"))
    with session_scope(engine) as session:
        candidate = session.exec(text("SELECT id FROM duplicate_candidate")).scalar_one()  # type: ignore[call-overload]
        merge_candidate(session=session, candidate_id=candidate)
    assert len(organisation_ids(engine)) == 1500 - 61
    assert total(engine) == 1500 - 61
    assert_in_step(engine)


def test_the_single_record_upsert_keeps_the_aggregates_in_step(engine: Engine) -> None:
    write(engine, france_records(100))
    fields: dict[str, Any] = {"name": "Le Jardin", "city": "Lyon", "categories": ["habitat"],
                              "source": "api", "source_id": "1"}
    lyon = Placement(45.76, 4.84, "69381", "69", "84", "given", "input")
    nantes = Placement(47.21, -1.55, "44109", "44", "52", "given", "input")
    with session_scope(engine) as session:
        outcome, _ = upsert_organisation(session=session, record=OrganisationCreate(**fields),
                                         place=lyon)
    assert outcome is UpsertOutcome.INSERTED
    assert_in_step(engine)
    with session_scope(engine) as session:
        outcome, _ = upsert_organisation(session=session, record=OrganisationCreate(
            **{**fields, "categories": ["reemploi", "habitat"]}), place=nantes)
    assert outcome is UpsertOutcome.UPDATED
    assert_in_step(engine)


def test_rebuild_gives_tight_bounds_again(engine: Engine) -> None:
    write(engine, france_records(800))
    with session_scope(engine) as session:
        for organisation_id in organisation_ids(engine)[::7]:
            delete_organisation(session=session, organisation_id=organisation_id)
    with engine.begin() as connection:
        aggregates.rebuild(connection)
    assert_in_step(engine, tight=True)


@pytest.mark.sqlite_only("PostGIS databases were never made before migrations")
def test_an_older_database_gets_its_aggregates_when_the_schema_is_created(engine: Engine) -> None:
    write(engine, france_records(600))
    expected = stored_cells(engine)
    with engine.connect() as connection:  # back to the first release's tables, unversioned
        # Rebuilding the organisation table must not cascade into its sectors.
        connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
        connection.commit()
        with connection.begin():
            strategy = strategy_for(engine.dialect.name)
            strategy.detach(connection)
            run_alembic(connection, command.downgrade, BASELINE)
            strategy.attach(connection)
            connection.execute(text("DROP TABLE organisation_cell"))
            connection.execute(text("DROP TABLE category_set"))
            connection.execute(text("DROP TABLE alembic_version"))  # made before migrations
        connection.exec_driver_sql("PRAGMA foreign_keys = ON")
        connection.commit()
    create_schema(engine)
    assert stored_cells(engine) == expected
    assert_in_step(engine, tight=True)


def test_aggregates_made_before_the_finest_level_are_rebuilt_with_the_schema(
        engine: Engine) -> None:
    write(engine, france_records(400))
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM organisation_cell WHERE level > :finest"),
                           {"finest": grid.FINEST})
    create_schema(engine)
    assert {key[0] for key in stored_cells(engine)} == set(grid.ALL_LEVELS)
    assert_in_step(engine, tight=True)


@pytest.mark.parametrize("taken_out", [
    "level > 12 AND dimension IN ('sector', 'legal_form')",  # made before levels 14 and 16
    "level = 16 AND dimension = 'sector'",
], ids=["sector-and-form", "sector-16"])
def test_aggregates_made_before_the_sector_levels_are_rebuilt_with_the_schema(
        engine: Engine, taken_out: str) -> None:
    write(engine, france_records(400))
    with engine.connect() as connection:
        assert not aggregates.is_missing(connection)
    with engine.begin() as connection:
        connection.execute(text(f"DELETE FROM organisation_cell WHERE {taken_out}"))  # noqa: S608
        assert aggregates.is_missing(connection)
    create_schema(engine)
    sector_levels = {key[0] for key in stored_cells(engine) if key[1] == "sector"}
    assert sector_levels == set(aggregates.levels_of("sector")) == {*grid.LEVELS, 14, 16}
    assert_in_step(engine, tight=True)


def test_an_empty_database_needs_no_aggregates(engine: Engine) -> None:
    with engine.connect() as connection:
        assert not aggregates.is_missing(connection)


def test_check_and_rebuild_commands(engine: Engine) -> None:
    write(engine, france_records(300))
    environment = {"ESS_DATABASE_URL": str(engine.url)}
    runner = CliRunner()
    result = runner.invoke(cli, ["aggregates", "check"], env=environment)
    assert (result.exit_code, result.stdout) == (
        0, "aggregates in step with the organisation table\n")
    with engine.begin() as connection:
        connection.execute(text("UPDATE organisation_cell SET n = n + 1 WHERE level = 8 "
                                "AND dimension = 'sector' AND cx = (SELECT min(cx) "
                                "FROM organisation_cell WHERE level = 8)"))
        connection.execute(text("DELETE FROM category_set"))
    result = runner.invoke(cli, ["aggregates", "check"], env=environment)
    assert result.exit_code == 1
    assert "aggregates out of step" in result.stderr
    result = runner.invoke(cli, ["aggregates", "rebuild"], env=environment)
    assert result.exit_code == 0 and result.stdout.startswith("aggregates rebuilt in ")
    assert_in_step(engine, tight=True)


# Offsets (degrees) from a covered cell's edge: on it, within the live strips' margin
# (1e-7), on the margin and beyond it, on both sides.
EDGE_OFFSETS = (0.0, 1e-9, 5e-8, 9.9e-8, 1e-7, 1.01e-7, 2e-7, 1e-6)


def test_counts_are_exact_for_points_on_and_beside_the_covered_cells_edges(
    engine: Engine,
) -> None:
    box = BBox(2.25, 48.81, 2.42, 48.90)
    n = 1 << grid.ALL_LEVELS[-1]  # the finest cells wholly inside the box bound its strips
    west = grid.lon_of(math.ceil(grid.x_of(box.min_lon) * n) / n)
    east = grid.lon_of(math.floor(grid.x_of(box.max_lon) * n) / n)
    north = grid.lat_of(math.ceil(grid.y_of(box.max_lat) * n) / n)
    south = grid.lat_of(math.floor(grid.y_of(box.min_lat) * n) / n)
    middle_lat, middle_lon = (box.min_lat + box.max_lat) / 2, (box.min_lon + box.max_lon) / 2
    points = []
    for offset in (value * sign for value in EDGE_OFFSETS for sign in (1, -1)):
        points += [(middle_lat, west + offset), (middle_lat, east + offset),
                   (north + offset, middle_lon), (south + offset, middle_lon),
                   (north + offset, west + offset), (south + offset, east - offset)]
    records = [record({"name": f"Bord {index}", "source": "edge", "source_id": str(index)},
                      ("habitat",), Placement(lat, lon, "75056", "75", "11", "given", "input"))
               for index, (lat, lon) in enumerate(points)]
    write(engine, records)
    inside = sum(box.min_lat <= lat <= box.max_lat and box.min_lon <= lon <= box.max_lon
                 for lat, lon in points)
    assert inside == len(points)  # the covered cells lie within the box
    with Session(engine) as session:
        filters = OrganisationFilter(bbox=box)
        assert summaries.number_matched(session=session, filters=filters) == inside
        for zoom in (12, 14):  # live strips grouped by display cell
            view = summaries.clusters(session=session, filters=filters, zoom=zoom)
            assert view.number_matched == inside
