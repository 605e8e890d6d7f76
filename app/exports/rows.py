"""The rows an export writes: public rows matching the filters, batch by batch in id order.

Each batch is one index-driven keyset query (queries.id_ordered_select, the listing's own)
whose values are read straight from the database driver's cursor: no ORM object, no
SQLAlchemy row, no dict per row. A row is a tuple in PUBLIC_COLUMNS order holding plain
values (text, numbers, booleans, None), its times already ISO 8601 UTC text and its enums
their public value, so every format writes them as they come.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Boolean, Connection, Date, DateTime, Engine
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.types import TypeEngine

from app.db import SCAN_PRAGMAS, sqlite_pragmas
from app.geojson import JSON_TIME_OPTIONS, in_utc
from app.models import PUBLIC_COLUMNS
from app.queries import ORGANISATION_TABLE, OrganisationFilter, id_ordered_select

# Rows read per query: large enough to amortise a query, small enough to bound memory.
BATCH_ROWS = 2_000
ID_INDEX = PUBLIC_COLUMNS.index("id")

PlainRow = tuple[Any, ...]
Column = Sequence[Any]
Plain = Callable[[Column], Column]


@dataclass(frozen=True)
class PlainBatch:
    """One batch of plain values, column by column in PUBLIC_COLUMNS order."""

    columns: Sequence[Column]

    def __len__(self) -> int:
        return len(self.columns[0])

    def column(self, name: str) -> Column:
        """The values of one public column."""
        return self.columns[PUBLIC_COLUMNS.index(name)]

    def rows(self) -> Iterator[PlainRow]:
        """The batch row by row (tuples in PUBLIC_COLUMNS order)."""
        return zip(*self.columns, strict=True)


RowBatches = Iterator[PlainBatch]


def _iso_times(values: Column) -> Column:
    """Stored times (SQLite gives text, other drivers datetimes) as the API writes them."""
    moments = [in_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)
               if value is not None else None for value in values]
    # One orjson call for the whole column: the API's format, at C speed.
    texts: list[str | None] = orjson.loads(orjson.dumps(moments, option=JSON_TIME_OPTIONS))
    return texts


def _iso_dates(values: Column) -> Column:
    """Stored dates as ISO 8601 text (SQLite already gives them so)."""
    return [value.isoformat() if isinstance(value, date) else value for value in values]


def _looked_up(table: dict[Any, Any]) -> Plain:
    """Values replaced through a table (None stays None; an unknown value raises)."""
    known = {None: None, **table}
    return lambda values: list(map(known.__getitem__, values))


def _plain_for(kind: TypeEngine[Any]) -> Plain | None:
    """How a column's raw driver values become plain public values (None: as they are)."""
    kind = getattr(kind, "impl_instance", kind)  # a TypeDecorator's stored type
    if isinstance(kind, SqlEnum) and kind.enum_class is not None:
        return _looked_up({member.name: member.value for member in kind.enum_class})
    if isinstance(kind, Boolean):
        return _looked_up({0: False, 1: True})
    if isinstance(kind, DateTime):
        return _iso_times
    if isinstance(kind, Date):
        return _iso_dates
    return None


# (position, conversion) of the public columns whose raw values need one.
_CONVERSIONS: tuple[tuple[int, Plain], ...] = tuple(
    (index, plain) for index, name in enumerate(PUBLIC_COLUMNS)
    if (plain := _plain_for(ORGANISATION_TABLE.c[name].type)) is not None
)


def plain_batch(raw: Sequence[Sequence[Any]]) -> PlainBatch:
    """Raw driver rows as a batch of plain columns."""
    columns: list[Column] = list(zip(*raw, strict=True))
    for index, plain in _CONVERSIONS:
        columns[index] = plain(columns[index])
    return PlainBatch(columns)


def _raw_batch(connection: Connection, filters: OrganisationFilter, after: int | None,
               limit: int) -> list[Any]:
    """One keyset query's rows, fetched from the driver's cursor without row objects."""
    result = connection.execute(id_ordered_select(connection, filters, after).limit(limit))
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


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
