"""The engine's connections: PRAGMAs set for a block of work and put back after it."""

from __future__ import annotations

import pytest
from postgres_cluster import BOTH_BACKENDS
from sqlalchemy import Engine, text

from app.db import BULK_WRITE_PRAGMAS, READ_CACHE_KIB, READ_MMAP_BYTES, sqlite_pragmas

BACKENDS = BOTH_BACKENDS


def pragma_values(engine: Engine, names: list[str]) -> dict[str, int]:
    with engine.connect() as connection:
        return {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                for name in names}


@pytest.mark.sqlite_only("PRAGMAs are SQLite's")
def test_pragmas_hold_for_the_block_and_are_put_back_after_it(engine: Engine) -> None:
    names = list(BULK_WRITE_PRAGMAS)
    with engine.connect() as connection:
        before = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                  for name in names}
        connection.rollback()
        with sqlite_pragmas(connection, BULK_WRITE_PRAGMAS):
            assert not connection.in_transaction()
            inside = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                      for name in names}
            connection.rollback()
        assert not connection.in_transaction()
    assert inside == BULK_WRITE_PRAGMAS
    assert before == {"cache_size": -READ_CACHE_KIB, "mmap_size": READ_MMAP_BYTES,
                      "wal_autocheckpoint": 1000}
    assert pragma_values(engine, names) == before


@pytest.mark.sqlite_only("PRAGMAs are SQLite's")
def test_pragmas_are_put_back_when_the_block_fails(engine: Engine) -> None:
    with (engine.connect() as connection, pytest.raises(ZeroDivisionError),
          sqlite_pragmas(connection, {"cache_size": -1234})):
        _ = 1 / 0
    assert pragma_values(engine, ["cache_size"]) == {"cache_size": -READ_CACHE_KIB}


def test_a_block_on_another_database_runs_untouched(engine: Engine) -> None:
    with engine.connect() as connection, sqlite_pragmas(connection, {"cache_size": -1234}):
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
