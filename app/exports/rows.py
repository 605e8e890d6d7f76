"""The rows an export writes: public rows matching the filters, batch by batch in id order.

Each batch is one index-driven keyset query (queries.id_ordered_select, the listing's own)
whose values are read straight from the database driver's cursor: no ORM object, no
SQLAlchemy row, no dict per row. A row is a tuple in PUBLIC_COLUMNS order holding plain
values (text, numbers, booleans, None), its times already ISO 8601 UTC text and its enums
their public value, so every format writes them as they come.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine

from app.db import SCAN_PRAGMAS, sqlite_pragmas
from app.plain import PlainBatch as PlainBatch
from app.plain import PlainRow as PlainRow
from app.plain import plain_batch
from app.queries import ID_INDEX, OrganisationFilter, driver_rows, id_ordered_select

# Rows read per query: large enough to amortise a query, small enough to bound memory.
BATCH_ROWS = 2_000

RowBatches = Iterator[PlainBatch]


def _raw_batch(connection: Connection, filters: OrganisationFilter, after: int | None,
               limit: int) -> list[Any]:
    """One keyset query's rows, fetched from the driver's cursor without row objects."""
    return driver_rows(connection, id_ordered_select(connection, filters, after).limit(limit))


def row_batches(
    engine: Engine, filters: OrganisationFilter, batch_rows: int = BATCH_ROWS
) -> RowBatches:
    """Every matching row, in keyset-paged batches of plain values."""
    with engine.connect() as connection, sqlite_pragmas(connection, SCAN_PRAGMAS):
        after: int | None = None
        while raw := _raw_batch(connection, filters, after, batch_rows):
            yield plain_batch(raw)
            if len(raw) < batch_rows:
                return
            after = int(raw[-1][ID_INDEX])
