"""SQLite's R*Tree and FTS5: created once, filled for old databases, in step on every write."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aggregate_data import france_records
from aggregate_data import write as write_records
from index_agreement import index_disagreements
from sqlalchemy import Engine, event, text
from sqlmodel import Session

from app.db import create_schema, session_scope
from app.dialects.sqlite import BAND_INDEXES, DENSE_BOX_ROWS, TRIGGERS
from app.duplicates import merge_candidate
from app.models import DuplicateCandidate, OrganisationCreate
from app.queries import BBox, OrganisationFilter, filter_conditions, id_ordered_select
from app.storage import (
    Placement,
    StoredRecord,
    content_hash,
    delete_organisation,
    key_for,
    organisation_row,
    upsert_organisation,
    write_batch,
)
from app.summaries import clusters, facets, number_matched

LYON = Placement(45.7676, 4.8344, "69381", "69", "84", "given", "input")
NOUMEA = Placement(-22.2758, 166.458, "98818", None, None, "given", "input")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "atlas.sqlite3"


def record(name: str, place: Placement, categories: tuple[str, ...] = ("reemploi",),
           description: str | None = "Atelier vélo") -> StoredRecord:
    fields = {"name": name, "description": description, "city": "Lyon", "source": "t",
              "source_id": name}
    row = organisation_row(fields, categories, place)
    return StoredRecord(key_for(fields, place.citycode), row, categories, content_hash(row))


def write(engine: Engine, *records: StoredRecord) -> list[int]:
    with session_scope(engine) as session:
        written = write_batch(session=session, records=list(records))
    return [written.written[r.key] for r in records]


def test_bulk_inserts_are_indexed(engine: Engine, database: Path) -> None:
    write(engine, record("Café Œuvre", LYON), record("Nouméa Solidaire", NOUMEA, ("habitat",)))
    assert index_disagreements(database) == []
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM organisation_rtree").fetchone() == (2,)


def test_bulk_updates_of_place_text_and_sectors_are_reindexed(
    engine: Engine, database: Path
) -> None:
    write(engine, record("Café Œuvre", LYON), record("La Ruche", LYON))
    moved = record("Café Œuvre", NOUMEA, ("habitat", "insertion-emploi"), "Cantine « bio »")
    write(engine, moved)
    assert index_disagreements(database) == []


def test_orm_upserts_and_deletes_are_indexed(engine: Engine, database: Path) -> None:
    created = OrganisationCreate(name="Épicerie d'Ève", categories=["alimentation"], city="Évry")
    with session_scope(engine) as session:
        _, row = upsert_organisation(session=session, record=created, place=LYON, key="k")
    assert row is not None and row.id is not None
    changed = created.model_copy(update={"description": "Vrac 100 % local"})
    with session_scope(engine) as session:
        upsert_organisation(session=session, record=changed, place=NOUMEA, key="k")
    assert index_disagreements(database) == []
    with session_scope(engine) as session:
        assert delete_organisation(session=session, organisation_id=row.id)
    assert index_disagreements(database) == []
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM organisation_rtree").fetchone() == (0,)


def test_a_duplicate_merge_removes_the_dropped_structure_from_the_indexes(
    engine: Engine, database: Path
) -> None:
    first, second = write(engine, record("La Fabrique", LYON), record("La Fabrik", LYON))
    with session_scope(engine) as session:
        session.add(DuplicateCandidate(first_id=first, second_id=second, rule="test"))
    with session_scope(engine) as session:
        dropped = merge_candidate(session=session, candidate_id=1)
    assert index_disagreements(database) == []
    with sqlite3.connect(database) as connection:
        kept = ({first, second} - {dropped}).pop()
        assert connection.execute("SELECT id FROM organisation_rtree").fetchall() == [(kept,)]


def test_a_rolled_back_write_leaves_the_indexes_as_they_were(
    engine: Engine, database: Path
) -> None:
    write(engine, record("La Ruche", LYON))
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        write_batch(session=session, records=[record("Le Nid", NOUMEA)])
        raise RuntimeError("killed mid-batch")
    assert index_disagreements(database) == []
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM organisation_fts").fetchone() == (1,)


def test_an_old_database_gets_its_indexes_filled_on_the_next_start(
    engine: Engine, database: Path
) -> None:
    write(engine, record("Café Œuvre", LYON), record("Nouméa Solidaire", NOUMEA))
    with sqlite3.connect(database) as connection:
        for name in TRIGGERS:
            connection.execute(f"DROP TRIGGER {name}")
        connection.execute("DROP TABLE organisation_rtree")
        connection.execute("DROP TABLE organisation_fts")
    write(engine, record("La Ruche", LYON))
    create_schema(engine)
    create_schema(engine)
    assert index_disagreements(database) == []
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM organisation_rtree").fetchone() == (3,)


def test_the_text_index_gathers_a_bulk_write_in_large_segments(
    engine: Engine, database: Path
) -> None:
    with sqlite3.connect(database) as connection:
        settings = "SELECT k, v FROM organisation_fts_config WHERE k = 'hashsize'"
        assert connection.execute(settings).fetchall() == [("hashsize", 16 << 20)]
        connection.execute("DELETE FROM organisation_fts_config WHERE k = 'hashsize'")
    create_schema(engine)  # an older database gets it on its next start
    with sqlite3.connect(database) as connection:
        assert connection.execute(settings).fetchall() == [("hashsize", 16 << 20)]


def plan(engine: Engine, filters: OrganisationFilter, tail: str = "") -> str:
    """EXPLAIN QUERY PLAN of a filtered id listing, as one text."""
    from sqlalchemy import select

    from app.models import Organisation

    statement = select(Organisation.__table__.c.id).where(  # type: ignore[attr-defined]
        *filter_conditions(filters))
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True})) + tail
    with Session(engine) as session:
        rows = session.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize("bbox", [BBox(2.2, 48.8, 2.5, 48.9), BBox(170.0, -20.0, -170.0, -10.0)])
def test_bbox_pages_are_driven_by_the_rtree(engine: Engine, bbox: BBox) -> None:
    steps = plan(engine, OrganisationFilter(bbox=bbox), " AND id > 10 ORDER BY id LIMIT 101")
    assert "VIRTUAL TABLE INDEX" in steps and "organisation_rtree" in steps
    assert "SCAN organisation\n" not in steps + "\n"


def rtree_probes(engine: Engine, bbox: BBox, matched: int | None) -> tuple[str, int]:
    """The box condition of an id listing built knowing `matched`, and the R*Tree reads made."""
    statements: list[str] = []

    def note(conn: object, cursor: object, statement: str, *rest: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        with Session(engine) as session:
            built = id_ordered_select(session.connection(), OrganisationFilter(bbox=bbox),
                                      matched=matched)
            sql = str(built.compile(engine))
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return sql, sum("organisation_rtree" in each for each in statements)


def test_a_count_that_makes_the_box_dense_spares_the_rtree_probe(engine: Engine) -> None:
    paris = BBox(2.2, 48.8, 2.5, 48.9)
    # The listing's count is a subset of the box's points: that many make it dense.
    dense_sql, probes = rtree_probes(engine, paris, matched=DENSE_BOX_ROWS)
    assert probes == 0
    assert "organisation_rtree" not in dense_sql  # checked on the rows read in id order
    # Fewer matches say nothing of the box (other filters): the R*Tree is asked.
    for matched in (DENSE_BOX_ROWS - 1, None):
        sql, probes = rtree_probes(engine, paris, matched=matched)
        assert probes == 1
        assert "organisation_rtree" in sql  # an empty box is sparse: driven by the R*Tree


def test_text_search_is_driven_by_fts(engine: Engine) -> None:
    steps = plan(engine, OrganisationFilter(text="ressourcerie"), " ORDER BY id LIMIT 101")
    assert "SCAN organisation_fts VIRTUAL TABLE INDEX" in steps
    assert "SCAN organisation\n" not in steps + "\n"


def summary_plans(engine: Engine, filters: OrganisationFilter) -> list[str]:
    """The query plan of each statement on `organisation` a count, clusters and facets run."""
    statements: list[tuple[str, Any]] = []

    def note(conn: object, cursor: object, statement: str, parameters: Any, *rest: object
             ) -> None:
        if "FROM organisation " in statement or "FROM organisation\n" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", note)
    try:
        with session_scope(engine) as session:
            number_matched(session=session, filters=filters)
            clusters(session=session, filters=filters, zoom=11)
            facets(session=session, filters=filters, sectors=["habitat", "reemploi"])
    finally:
        event.remove(engine, "before_cursor_execute", note)
    with engine.connect() as connection:
        return [" | ".join(str(row[-1]) for row in connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters)) for statement, parameters in statements]


def assert_no_whole_reads(plans: list[str]) -> None:
    """No statement walks the table, nor an index for the status alone (every active row)."""
    steps = [step for plan in plans for step in plan.split(" | ")]
    assert [step for step in steps if step.startswith("SCAN organisation ")
            or step == "SCAN organisation" or step.endswith("(status=?)")] == []


SUMMARY_FILTERS = [OrganisationFilter(), OrganisationFilter(categories=("habitat",)),
                   OrganisationFilter(legal_forms=("cooperative",)),
                   OrganisationFilter(categories=("habitat", "reemploi"))]


@pytest.mark.parametrize("filters", SUMMARY_FILTERS)
def test_the_edge_strips_of_a_box_are_read_from_the_band_indexes(
    engine: Engine, filters: OrganisationFilter
) -> None:
    write_records(engine, france_records(300))
    paris = BBox(2.2, 48.8, 2.5, 48.9)
    plans = summary_plans(engine, replace(filters, bbox=paris))
    steps = "\n".join(plans)
    # North and south strips by latitude, west and east ones by longitude.
    assert "INDEX organisation_band_lat (lat>? AND lat<?)" in steps
    assert "INDEX organisation_band_lon (lon>? AND lon<?)" in steps
    assert_no_whole_reads(plans)


@pytest.mark.parametrize("filters", SUMMARY_FILTERS)
def test_a_box_smaller_than_a_cell_is_read_through_the_rtree(
    engine: Engine, filters: OrganisationFilter
) -> None:
    write_records(engine, france_records(300))
    street = BBox(2.35, 48.85, 2.3505, 48.8503)  # no aggregate cell inside: counted live
    plans = summary_plans(engine, replace(filters, bbox=street))
    assert "organisation_rtree" in "\n".join(plans)
    assert "organisation_band" not in "\n".join(plans)
    assert_no_whole_reads(plans)


def test_the_band_indexes_are_made_again_on_the_next_start(engine: Engine, database: Path
                                                          ) -> None:
    write(engine, record("Café Œuvre", LYON))
    with sqlite3.connect(database) as connection:
        for name in BAND_INDEXES:
            connection.execute(f"DROP INDEX {name}")
    create_schema(engine)
    with sqlite3.connect(database) as connection:
        made = connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                  "AND name LIKE 'organisation_band%'").fetchall()
    assert {name: sql.split(" ON ")[1] for name, sql in made} == {
        "organisation_band_lat": "organisation (lat, lon, status) WHERE status = 'active'",
        "organisation_band_lon": "organisation (lon, lat, status) WHERE status = 'active'"}


def test_band_indexes_made_otherwise_are_made_again(engine: Engine, database: Path) -> None:
    with sqlite3.connect(database) as connection:  # as an earlier build made them
        connection.execute("DROP INDEX organisation_band_lat")
        connection.execute("CREATE INDEX organisation_band_lat ON organisation (status, lat, lon)")
    create_schema(engine)
    with sqlite3.connect(database) as connection:
        (sql,) = connection.execute("SELECT sql FROM sqlite_master "
                                    "WHERE name = 'organisation_band_lat'").fetchone()
    assert sql.endswith("(lat, lon, status) WHERE status = 'active'")


def test_an_older_insert_trigger_indexes_until_the_next_start_replaces_it(
    engine: Engine, database: Path
) -> None:
    older = ("CREATE TRIGGER organisation_index_insert AFTER INSERT ON organisation BEGIN "
             "INSERT INTO organisation_rtree VALUES (new.id, new.lat, new.lat, new.lon, new.lon); "
             "INSERT INTO organisation_fts(rowid, document) VALUES (new.id, new.search_text || ' ' "
             "|| replace(replace(new.categories, '|', ' '), '-', ' ')); END")
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TRIGGER organisation_index_insert")
        connection.execute(older)
    write(engine, record("Café Œuvre", LYON))
    assert index_disagreements(database) == []
    create_schema(engine)
    with sqlite3.connect(database) as connection:
        stored = connection.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                    "AND name = 'organisation_index_insert'").fetchone()
    assert stored == (f"CREATE TRIGGER organisation_index_insert "
                      f"{TRIGGERS['organisation_index_insert']}",)
    write(engine, record("La Ruche", LYON), record("Nouméa Solidaire", NOUMEA))
    assert index_disagreements(database) == []
