"""organisations_nearby against a brute-force haversine over 20,000 structures."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from postgres_cluster import BOTH_BACKENDS, DatabaseUrls
from sqlalchemy import Engine
from sqlmodel import Session

from app import aggregates
from app.db import create_schema, make_engine, session_scope
from app.dialects import sqlite as sqlite_dialect
from app.dialects.portable import PortableStrategy
from app.queries import (
    ORGANISATION_TABLE,
    OrganisationFilter,
    haversine_m,
    organisations_nearby,
)
from app.spatial import BBox, Circle
from app.storage import Placement, StoredRecord, content_hash, organisation_row, write_batch
from app.summaries import number_matched

BACKENDS = BOTH_BACKENDS

ROWS = 20_000
SEED = 20261201
# Dense clusters (a city, an overseas town, both sides of the antimeridian) and a sparse world.
# Lyon is dense enough for the counts from cells (thousands of points in a circle's box).
CENTRES = [(48.8566, 2.3522, 0.3), (-22.2758, 166.458, 0.2), (-13.28, -176.17, 0.2),
           (-16.5, 179.9, 0.4), (64.0, -179.95, 0.3), (89.9, 0.0, 0.05), (45.76, 4.83, 0.03)]
SECTORS = ("reemploi", "habitat")


def placed(generator: random.Random) -> tuple[float, float]:
    """A point near one of the centres (wrapped across ±180), or anywhere."""
    if generator.random() < 0.15:
        return generator.uniform(-90, 90), generator.uniform(-180, 180)
    lat, lon, spread = generator.choice(CENTRES)
    lat = max(-90.0, min(90.0, generator.gauss(lat, spread)))
    lon = (generator.gauss(lon, spread) + 180) % 360 - 180
    return lat, lon


def records(generator: random.Random) -> Iterator[StoredRecord]:
    for index in range(ROWS):
        lat, lon = placed(generator)
        if index % 97 == 0:  # a few structures at exactly the same point: ties broken by id
            lat, lon = -22.2758, 166.458
        place = Placement(round(lat, 7), round(lon, 7), None, None, None, "given", "input")
        sectors = (SECTORS[index % 2],)
        row = organisation_row({"name": f"S{index}", "city": "X"}, sectors, place)
        yield StoredRecord(f"source:t:{index}", row, sectors, content_hash(row))


@pytest.fixture(scope="module")
def engine(
    tmp_path_factory: pytest.TempPathFactory, database_urls: DatabaseUrls,
) -> Iterator[Engine]:
    engine = make_engine(database_urls(tmp_path_factory.mktemp("nearby")))
    create_schema(engine)
    everything = list(records(random.Random(SEED)))  # noqa: S311  (reproducible, not secret)
    for start in range(0, ROWS, 5000):
        with session_scope(engine) as session:
            write_batch(session=session, records=everything[start:start + 5000])
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def points(engine: Engine) -> list[tuple[int, float, float, str]]:
    from sqlalchemy import text

    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(  # type: ignore[misc]
            text("SELECT id, lat, lon, categories FROM organisation"))]


def brute_force(points: list[tuple[int, float, float, str]], lat: float, lon: float,
                radius_m: float, sector: str | None) -> list[tuple[float, int]]:
    inside = [(haversine_m(lat, lon, p_lat, p_lon), row_id)
              for row_id, p_lat, p_lon, sectors in points
              if sector in (None, sectors)]
    return sorted(hit for hit in inside if hit[0] <= radius_m)


def asked() -> Iterator[tuple[float, float, float, int, str | None]]:
    """Random (lat, lon, radius, limit, sector), many near the clusters and the antimeridian."""
    generator = random.Random(SEED + 1)  # noqa: S311  (reproducible, not secret)
    fixed = [(-22.2758, 166.458, 5_000, 10, None), (-13.28, -176.17, 50_000, 100, "habitat"),
             (-16.5, 180.0, 100_000, 100, None), (-16.5, -180.0, 30_000, 7, "reemploi"),
             (64.0, 179.99, 80_000, 50, None), (89.99, 120.0, 100_000, 20, None),
             (48.8566, 2.3522, 10_000, 100, None), (0.0, 0.0, 1_000, 100, None),
             (45.76, 4.83, 5_000, 100, None), (45.77, 4.84, 20_000, 10, None),
             (45.75, 4.82, 2_500, 1000, None), (45.74, 4.80, 8_000, 1, None)]
    yield from fixed
    for _ in range(12):  # dense circles read from cells: rims through fine cells
        yield (generator.gauss(45.76, 0.01), generator.gauss(4.83, 0.01),
               generator.uniform(1_500, 8_000), generator.choice([1, 100]), None)
    for _ in range(40):
        lat, lon = placed(generator)
        yield (lat, lon, generator.choice([500, 3_000, 20_000, 100_000]),
               generator.choice([1, 5, 100, 1000]), generator.choice([None, "reemploi"]))


@pytest.fixture(params=["cells when dense", "cells always"])
def cells_from(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """As configured, or with every circle without a filter counted from cells and rims."""
    if request.param == "cells always":
        monkeypatch.setattr(sqlite_dialect, "_CELLS_WORTH", 0)
    return str(request.param)


@pytest.mark.parametrize(("lat", "lon", "radius_m", "limit", "sector"), list(asked()))
def test_nearby_equals_brute_force_haversine(
    engine: Engine, points: list[tuple[int, float, float, str]], cells_from: str,
    lat: float, lon: float, radius_m: float, limit: int, sector: str | None,
) -> None:
    filters = OrganisationFilter(categories=(sector,) if sector else ())
    with Session(engine) as session:
        nearby = organisations_nearby(session=session, lat=lat, lon=lon, radius_m=radius_m,
                                      filters=filters, limit=limit)
    expected = brute_force(points, lat, lon, radius_m, sector)
    assert nearby.number_matched == len(expected)
    assert [(h.distance_m, h.organisation["id"]) for h in nearby.hits] == expected[:limit]


@pytest.mark.parametrize(("lat", "lon", "radius_m", "limit"), [
    (-16.5, 180.0, 100_000, 100), (45.76, 4.83, 5_000, 10), (48.8566, 2.3522, 30_000, 3)])
def test_the_portable_strategy_gives_the_same_answer(
    engine: Engine, points: list[tuple[int, float, float, str]],
    lat: float, lon: float, radius_m: float, limit: int,
) -> None:
    columns = [ORGANISATION_TABLE.c.id]
    with engine.connect() as connection:
        rows, total = PortableStrategy().nearby(connection, Circle(lat, lon, radius_m), columns,
                                                [], limit)
    expected = brute_force(points, lat, lon, radius_m, None)
    assert total == len(expected)
    assert [(distance, values[0]) for values, distance in rows] == expected[:limit]


@pytest.fixture
def half_closed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """3,000 structures around Lyon, every third one closed."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('closed') / 'atlas.sqlite3'}")
    create_schema(engine)
    generator = random.Random(SEED + 2)  # noqa: S311  (reproducible, not secret)
    rows = []
    for index in range(3000):
        place = Placement(generator.gauss(45.76, 0.02), generator.gauss(4.83, 0.02), None, None,
                          None, "given", "input")
        row = organisation_row({"name": f"S{index}", "city": "X"}, ("habitat",), place)
        rows.append(StoredRecord(f"source:t:{index}", row, ("habitat",), content_hash(row)))
    with session_scope(engine) as session:
        write_batch(session=session, records=rows)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE organisation SET status = 'closed' WHERE id % 3 = 0")
        aggregates.rebuild(connection)  # the grid counts active structures only
    yield engine
    engine.dispose()


@pytest.mark.parametrize("statuses", [("active",), ("closed",), ("active", "closed")])
def test_nearby_counts_the_asked_statuses_from_cells_or_rows(
    half_closed: Engine, monkeypatch: pytest.MonkeyPatch, statuses: tuple[str, ...],
) -> None:
    monkeypatch.setattr(sqlite_dialect, "_CELLS_WORTH", 0)
    with half_closed.connect() as connection:
        points = [(row[1], row[2]) for row in connection.exec_driver_sql(
            "SELECT id, lat, lon, status FROM organisation") if row[3] in statuses]
    with Session(half_closed) as session:
        nearby = organisations_nearby(session=session, lat=45.76, lon=4.83, radius_m=2_500,
                                      filters=OrganisationFilter(statuses=statuses), limit=5)
    expected = sum(haversine_m(45.76, 4.83, lat, lon) <= 2_500 for lat, lon in points)
    assert (nearby.number_matched, len(nearby.hits)) == (expected, 5)


def test_a_box_count_leaves_closed_structures_out(half_closed: Engine) -> None:
    box = (4.8, 45.74, 4.86, 45.78)
    with half_closed.connect() as connection:
        expected = sum(row[0] == "active" and box[0] <= row[2] <= box[2]
                       and box[1] <= row[1] <= box[3] for row in connection.exec_driver_sql(
                           "SELECT status, lat, lon FROM organisation"))
    with Session(half_closed) as session:
        counted = number_matched(session=session, filters=OrganisationFilter(bbox=BBox(*box)))
    assert counted == expected
