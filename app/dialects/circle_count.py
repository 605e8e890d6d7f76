"""Counting a circle's structures from the grid's aggregates, in SQL both dialects run.

`sqlite_circle.cover` splits a circle into runs of cells wholly inside it and a rim of
finest cells; the runs are summed here from the `all` aggregate rows, and each dialect
measures the rim's structures through its own spatial index.

Statements of many rows of values take them as one bound VALUES list, in the driver's own
SQL: SQLAlchemy's compilation of a VALUES construct (a parameter per value, compiled anew
for every circle) cost more than the seeks themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement
from sqlalchemy.engine import Connection

from app.aggregates import ALL
from app.dialects import sqlite_circle
from app.models import ACTIVE, Organisation
from app.spatial import Circle

ORGANISATION = Organisation.__table__  # type: ignore[attr-defined]
# The structures the `all` aggregate rows count, as queries.filter_conditions says it.
COUNTED = ORGANISATION.c.status.in_((ACTIVE,))
# Rows of values per statement: SQLite binds at most 32,766 values to one.
VALUES_ROWS = 2000
_RUNS_SQL = (
    "WITH run(level, cx, cy_min, cy_max) AS (VALUES {rows}) "  # noqa: S608  (values bound)
    "SELECT coalesce(sum(cell.n), 0) FROM run {join} organisation_cell AS cell "
    f"ON cell.level = run.level AND cell.dimension = '{ALL}' AND cell.cx = run.cx "
    "AND cell.cy BETWEEN run.cy_min AND run.cy_max AND cell.value = ''")


def counted_by_cells(conditions: Sequence[ColumnElement[bool]]) -> bool:
    """Whether the conditions keep exactly the structures the aggregates count (active ones)."""
    return len(conditions) == 1 and conditions[0].compare(COUNTED)


def values_list(connection: Connection, width: int, rows: int) -> str:
    """The placeholders of a VALUES list of `rows` rows of `width` values, in the driver's style."""
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    row = "(" + ", ".join([mark] * width) + ")"
    return ", ".join([row] * rows)


def count_in_runs(connection: Connection, runs: Sequence[sqlite_circle.Run]) -> int:
    """Structures of the runs of cells, from the `all` aggregate rows (one seek per run)."""
    # SQLite's CROSS JOIN keeps the runs as the outer loop; PostgreSQL has no such JOIN … ON.
    join = "CROSS JOIN" if connection.dialect.name == "sqlite" else "JOIN"
    total = 0
    for start in range(0, len(runs), VALUES_ROWS):
        part = runs[start:start + VALUES_ROWS]
        values = [value for r in part for value in (r.level, r.cx, r.cy_min, r.cy_max)]
        total += int(connection.exec_driver_sql(
            _RUNS_SQL.format(rows=values_list(connection, 4, len(part)), join=join),
            tuple(values)).scalar_one())
    return total


def count_in_rim(connection: Connection, circle: Circle, cells: sqlite_circle.Cover,
                 statement: str) -> int:
    """Active structures within the circle in the rim's finest cells (measured one by one).

    `statement` is the dialect's search of the rim's boxes: its parameters are the centre's
    lat and lon, the boxes' VALUES list (in place of `{rows}`), then the radius in metres;
    it answers (id, cx, cy) of the finest cell of each point found. A point on the edge of
    two boxes is found twice: counted once, by id.
    """
    boxes = cells.rim_boxes()
    found: set[int] = set()
    for start in range(0, len(boxes), VALUES_ROWS):
        part = boxes[start:start + VALUES_ROWS]
        values = [circle.lat, circle.lon, *(value for box in part for value in (
            box.min_lat, box.max_lat, box.min_lon, box.max_lon)), circle.radius_m]
        rows = connection.exec_driver_sql(
            statement.replace("{rows}", values_list(connection, 4, len(part))), tuple(values))
        found.update(row[0] for row in rows if cells.in_rim(row[1], row[2]))
    return len(found)
