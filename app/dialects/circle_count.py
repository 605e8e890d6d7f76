"""Counting a circle's structures from the grid's aggregates, in SQL any dialect runs.

`sqlite_circle.cover` splits a circle into runs of cells wholly inside it and a rim of
finest cells; the runs are summed here from the `all` aggregate rows, and each dialect
measures the rim's structures through its own spatial index.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Integer, and_, column, func, select, values
from sqlalchemy.engine import Connection

from app.aggregates import ALL, CELL_TABLE
from app.dialects import sqlite_circle
from app.models import ACTIVE, Organisation

ORGANISATION = Organisation.__table__  # type: ignore[attr-defined]
# The structures the `all` aggregate rows count, as queries.filter_conditions says it.
COUNTED = ORGANISATION.c.status.in_((ACTIVE,))
# Runs per statement: four bound values each, far below any driver's limit.
RUNS_PER_STATEMENT = 2000


def counted_by_cells(conditions: Sequence[ColumnElement[bool]]) -> bool:
    """Whether the conditions keep exactly the structures the aggregates count (active ones)."""
    return len(conditions) == 1 and conditions[0].compare(COUNTED)


def count_in_runs(connection: Connection, runs: Sequence[sqlite_circle.Run]) -> int:
    """Structures of the runs of cells, from the `all` aggregate rows (one seek per run)."""
    total = 0
    for start in range(0, len(runs), RUNS_PER_STATEMENT):
        part = runs[start:start + RUNS_PER_STATEMENT]
        run = values(column("level", Integer), column("cx", Integer), column("cy_min", Integer),
                     column("cy_max", Integer), name="run").data(
            [(r.level, r.cx, r.cy_min, r.cy_max) for r in part])
        cell = CELL_TABLE.c
        joined = run.join(CELL_TABLE, and_(
            cell.level == run.c.level, cell.dimension == ALL, cell.cx == run.c.cx,
            cell.cy.between(run.c.cy_min, run.c.cy_max), cell.value == ""))
        total += int(connection.execute(
            select(func.coalesce(func.sum(cell.n), 0)).select_from(joined)).scalar_one())
    return total
