"""The pre-aggregated grid counts, kept in step with the organisation table.

`organisation_cell` holds, for every level of `grid.LEVELS`, one row per cell and kind
(exact `categories` string, legal form, région, département): how many structures, the
exact integer sums of their ids and micro-degree coordinates, and bounds that contain
them. Every write path calls `subtract` on the rows it is about to change or delete and
`add` on the rows it has written, in the same transaction, with set-based INSERT … SELECT
… GROUP BY … ON CONFLICT DO UPDATE statements: readers in any process see counts that
match the table at every commit. `category_set` maps each stored `categories` string to
its sectors, so a sector filter or a per-sector count is a join.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Integer,
    Select,
    String,
    Table,
    and_,
    cast,
    except_,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from app import grid
from app.models import CategorySet, Organisation, OrganisationCell

CELL_TABLE: Table = OrganisationCell.__table__  # type: ignore[attr-defined]
SET_TABLE: Table = CategorySet.__table__  # type: ignore[attr-defined]
_ORGANISATION: Table = Organisation.__table__  # type: ignore[attr-defined]
KIND_COLUMNS = ("categories", "legal_form", "region", "departement")
KEY_COLUMNS = ("level", "cx", "cy", *KIND_COLUMNS)
SUM_COLUMNS = ("n", "sum_id", "sum_lat_e6", "sum_lon_e6")
BOUND_COLUMNS = ("min_lat", "min_lon", "max_lat", "max_lon")
_IDS_PER_QUERY = 900


def micro_degrees(column: Any) -> ColumnElement[int]:
    """SQL: a coordinate in integer micro-degrees (exact to add and subtract)."""
    return cast(func.round(column * literal(1_000_000.0)), Integer)


def kind_expressions(table: Table) -> list[ColumnElement[Any]]:
    """SQL: the kind of a structure row as the aggregate table keys it ('' for unknown)."""
    return [table.c.categories, func.coalesce(cast(table.c.legal_form, String), ""),
            func.coalesce(table.c.region, ""), func.coalesce(table.c.departement, "")]


def _cell_rows(level: int, condition: ColumnElement[bool] | None, sign: int) -> Select[Any]:
    """The aggregate rows of the structures matching `condition` at one level, times `sign`."""
    table = _ORGANISATION
    cx = grid.cell_index(grid.x_expression(table.c.lon), level)
    cy = grid.cell_index(grid.y_expression(table.c.lat), level)
    kind = kind_expressions(table)
    sums = [func.count(), func.sum(table.c.id), func.sum(micro_degrees(table.c.lat)),
            func.sum(micro_degrees(table.c.lon))]
    bounds = [func.min(table.c.lat), func.min(table.c.lon), func.max(table.c.lat),
              func.max(table.c.lon)]
    query = select(literal(level), cx, cy, *kind, *(total * sign for total in sums), *bounds)
    if condition is not None:
        query = query.where(condition)
    return query.group_by(cx, cy, *kind)


def _upsert(connection: Connection, rows: Select[Any]) -> None:
    """Add `rows` to organisation_cell: sums add up, bounds only grow."""
    dialect = connection.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(CELL_TABLE).from_select([*KEY_COLUMNS, *SUM_COLUMNS, *BOUND_COLUMNS], rows)
    smaller = func.least if dialect == "postgresql" else func.min
    larger = func.greatest if dialect == "postgresql" else func.max
    excluded, cells = statement.excluded, CELL_TABLE.c
    changes: dict[str, Any] = {name: cells[name] + excluded[name] for name in SUM_COLUMNS}
    changes.update({name: smaller(cells[name], excluded[name]) for name in BOUND_COLUMNS[:2]})
    changes.update({name: larger(cells[name], excluded[name]) for name in BOUND_COLUMNS[2:]})
    connection.execute(statement.on_conflict_do_update(index_elements=list(KEY_COLUMNS),
                                                       set_=changes))


def _id_conditions(ids: Sequence[int]) -> Iterator[ColumnElement[bool]]:
    """Conditions selecting these ids: one range when they follow each other, else IN lists."""
    column = _ORGANISATION.c.id
    if ids and max(ids) - min(ids) + 1 == len(ids) == len(set(ids)):
        yield column.between(min(ids), max(ids))
        return
    for start in range(0, len(ids), _IDS_PER_QUERY):
        yield column.in_(list(ids[start : start + _IDS_PER_QUERY]))


def _apply(connection: Connection, ids: Sequence[int], sign: int) -> None:
    """Add (sign 1) or subtract (sign -1) the stored rows with these ids at every level."""
    for condition in _id_conditions(ids):
        for level in grid.LEVELS:
            _upsert(connection, _cell_rows(level, condition, sign))


def _record_category_sets(connection: Connection, condition: ColumnElement[bool] | None) -> None:
    """Make sure every `categories` string of the matching rows is in category_set."""
    query = select(_ORGANISATION.c.categories).distinct()
    if condition is not None:
        query = query.where(condition)
    pairs = {(slug, categories) for (categories,) in connection.execute(query)
             for slug in categories.split("|") if slug}
    if not pairs:
        return
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    rows = [{"category": slug, "categories": categories} for slug, categories in sorted(pairs)]
    connection.execute(insert(SET_TABLE).on_conflict_do_nothing(), rows)


def add(connection: Connection, ids: Sequence[int]) -> None:
    """Count the stored rows with these ids in the aggregates (call after writing them)."""
    if not ids:
        return
    _apply(connection, ids, 1)
    for condition in _id_conditions(ids):
        _record_category_sets(connection, condition)


def subtract(connection: Connection, ids: Sequence[int]) -> None:
    """Take the stored rows with these ids out of the aggregates (call before changing them)."""
    if not ids:
        return
    _apply(connection, ids, -1)
    connection.execute(CELL_TABLE.delete().where(CELL_TABLE.c.n == 0))


def rebuild(connection: Connection) -> None:
    """Recompute every aggregate from the organisation table."""
    connection.execute(CELL_TABLE.delete())
    connection.execute(SET_TABLE.delete())
    for level in grid.LEVELS:
        _upsert(connection, _cell_rows(level, None, 1))
    _record_category_sets(connection, None)


def mismatches(connection: Connection) -> int:
    """How many aggregate rows differ from a recomputation (0 when they are in step).

    Counts and sums must be equal; stored bounds must contain the recomputed ones.
    """
    exact = [*KEY_COLUMNS, *SUM_COLUMNS]
    expected = [_cell_rows(level, None, 1).subquery() for level in grid.LEVELS]
    expected_rows = [select(*(q.c[i] for i in range(len(exact)))) for q in expected]
    recomputed = expected_rows[0].union_all(*expected_rows[1:]).subquery()
    stored = select(*(CELL_TABLE.c[name] for name in exact))
    wanted = select(*recomputed.c)
    missing = except_(wanted, stored).subquery()
    extra = except_(stored, wanted).subquery()
    count = connection.execute(select(func.count()).select_from(missing)).scalar_one()
    count += connection.execute(select(func.count()).select_from(extra)).scalar_one()
    return int(count) + _loose_bounds(connection) + _missing_sets(connection)


def _loose_bounds(connection: Connection) -> int:
    """Structures outside the bounds of their own aggregate row, at every level."""
    cells, table = CELL_TABLE.c, _ORGANISATION
    total = 0
    for level in grid.LEVELS:
        cx = grid.cell_index(grid.x_expression(table.c.lon), level)
        cy = grid.cell_index(grid.y_expression(table.c.lat), level)
        same_row = and_(cells.level == level, cells.cx == cx, cells.cy == cy,
                        *(cells[name] == value for name, value
                          in zip(KIND_COLUMNS, kind_expressions(table), strict=True)))
        outside = or_(table.c.lat < cells.min_lat, table.c.lat > cells.max_lat,
                      table.c.lon < cells.min_lon, table.c.lon > cells.max_lon)
        query = select(func.count()).select_from(table.join(CELL_TABLE, same_row)).where(outside)
        total += int(connection.execute(query).scalar_one())
    return total


def _missing_sets(connection: Connection) -> int:
    """Stored `categories` strings that category_set does not know."""
    known = select(SET_TABLE.c.categories)
    query = select(func.count(func.distinct(_ORGANISATION.c.categories))).where(
        _ORGANISATION.c.categories != "", _ORGANISATION.c.categories.not_in(known))
    return int(connection.execute(query).scalar_one())


def is_missing(connection: Connection) -> bool:
    """True for a database with structures but no aggregates (made before they existed)."""
    has_rows = connection.execute(select(_ORGANISATION.c.id).limit(1)).first() is not None
    has_cells = connection.execute(select(CELL_TABLE.c.level).limit(1)).first() is not None
    return has_rows and not has_cells


def ensure(engine: Engine) -> bool:
    """Back-fill the aggregates of an older database; True when it had to."""
    with engine.begin() as connection:
        if not is_missing(connection):
            return False
        rebuild(connection)
        return True
