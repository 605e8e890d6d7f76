"""Counts kept per data version: read back by other engines, never stale, never waited for."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlmodel import Session

from app.data_version import data_version
from app.db import make_engine, session_scope
from app.queries import OrganisationFilter
from app.storage import Placement, StoredRecord, content_hash, organisation_row, write_batch
from app.summaries import number_matched

PLACE = Placement(45.7676, 4.8344, "69381", "69", "84", "given", "input")
SEARCHED = OrganisationFilter(text="ressourcerie")


def stored(index: int, name: str) -> StoredRecord:
    row = organisation_row({"name": name, "city": "Lyon"}, ("reemploi",), PLACE)
    return StoredRecord(f"source:t:{index}", row, ("reemploi",), content_hash(row))


def write(engine: Engine, *names: tuple[int, str]) -> None:
    with session_scope(engine) as session:
        write_batch(session=session, records=[stored(index, name) for index, name in names])


def counted(engine: Engine, filters: OrganisationFilter = SEARCHED) -> int:
    with Session(engine) as session:
        return number_matched(session=session, filters=filters)


def kept(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(  # type: ignore[misc]
            text("SELECT version, n FROM count_cache"))]


def test_a_text_count_is_kept_and_read_back_by_another_engine(engine: Engine) -> None:
    write(engine, (1, "Ressourcerie du Pré"), (2, "Épicerie"), (3, "La Ressourcerie"))
    assert counted(engine) == 2
    with engine.connect() as connection:
        assert kept(engine) == [(data_version(connection).tag, 2)]
    with engine.begin() as connection:  # what another process would read back
        connection.execute(text("UPDATE count_cache SET n = 7"))
    other = make_engine(str(engine.url))
    assert counted(other) == 7
    other.dispose()


def test_a_write_makes_the_kept_count_stale(engine: Engine) -> None:
    write(engine, (1, "Ressourcerie du Pré"))
    assert counted(engine) == 1
    write(engine, (2, "Ressourcerie des Pentes"))
    assert counted(engine) == 2
    assert [n for _, n in kept(engine)] == [2]  # the older version's row is gone


def test_filters_are_kept_apart(engine: Engine) -> None:
    write(engine, (1, "Ressourcerie du Pré"), (2, "Ressourcerie des Pentes"))
    assert counted(engine) == 2
    assert counted(engine, OrganisationFilter(text="ressourcerie", departements=("75",))) == 0
    assert sorted(n for _, n in kept(engine)) == [0, 2]


def test_a_count_during_another_write_is_answered_at_once_and_not_kept(engine: Engine) -> None:
    write(engine, (1, "Ressourcerie du Pré"))
    with engine.connect() as writer:
        writer.exec_driver_sql("BEGIN IMMEDIATE")  # an import holding the write lock
        assert counted(engine) == 1
        writer.exec_driver_sql("ROLLBACK")
    assert kept(engine) == []
