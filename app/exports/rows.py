"""The rows an export writes: public rows matching the filters, batch by batch in id order.

Each batch is one index-driven keyset query (queries.id_ordered_select, the listing's own)
whose values are read straight from the database driver's cursor: no ORM object, no
SQLAlchemy row, no dict per row. A row is a tuple in PUBLIC_COLUMNS order holding plain
values (text, numbers, booleans, None), its times already ISO 8601 UTC text and its enums
their public value, so every format writes them as they come.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine

from app.models import PUBLIC_COLUMNS
from app.plain import PlainBatch as PlainBatch
from app.plain import PlainRow as PlainRow
from app.plain import plain_batch
from app.queries import OrganisationFilter, id_ordered_select

# Rows read per query: large enough to amortise a query, small enough to bound memory.
BATCH_ROWS = 2_000
ID_INDEX = PUBLIC_COLUMNS.index("id")

RowBatches = Iterator[PlainBatch]


def _raw_batch(connection: Connection, filters: OrganisationFilter, after: int | None,
               limit: int) -> list[Any]:
    """One keyset query's rows, fetched from the driver's cursor without row objects."""
    result = connection.execute(id_ordered_select(connection, filters, after).limit(limit))
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


# SQLite page cache of an export's connection meanwhile (KiB): a scan in id order reads
# each page once, so the readers' large cache would only hold what is never read again.
SCAN_CACHE_KIB = 2048


@contextmanager
def _scanning(connection: Connection) -> Iterator[None]:
    """On SQLite, read without mapping the file and with a small cache, then as before.

    Every page of a mapped file that a whole-table read touches stays counted in the
    process's resident memory (the readers map up to 1 GiB), and so would its cache.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    before = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
              for name in ("mmap_size", "cache_size")}
    connection.exec_driver_sql("PRAGMA mmap_size = 0")
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SCAN_CACHE_KIB}")
    try:
        yield
    finally:
        for name, value in before.items():
            connection.exec_driver_sql(f"PRAGMA {name} = {int(value)}")


def row_batches(
    engine: Engine, filters: OrganisationFilter, batch_rows: int = BATCH_ROWS
) -> RowBatches:
    """Every matching row, in keyset-paged batches of plain values."""
    with engine.connect() as connection, _scanning(connection):
        after: int | None = None
        while raw := _raw_batch(connection, filters, after, batch_rows):
            yield plain_batch(raw)
            if len(raw) < batch_rows:
                return
            after = int(raw[-1][ID_INDEX])
