"""The pre-aggregated grid counts, kept in step with the organisation table.

`organisation_cell` holds, for every level of `grid.LEVELS`, one row per cell and value
of each dimension (`all`, `sector`, `legal_form`, `sector_form`, `categories`), and at the
finer `grid.FINE_LEVELS` rows of the dimensions `levels_of` names there (`all` down to 18,
`sector` and `legal_form` down to 16): how many structures, the exact integer sums of their
ids and micro-degree coordinates, and bounds that contain them.
A cell has at most 1 + sectors + legal forms + sectors × legal forms rows besides its
distinct `categories` strings, whatever the number of structures.

Every write path calls `subtract` on the rows it is about to change or delete and
`add` on the rows it has written, in the same transaction, with set-based INSERT … SELECT
… GROUP BY … ON CONFLICT DO UPDATE statements: readers in any process see counts that
match the table at every commit. `category_set` maps each stored `categories` string to
its sectors, so a sector filter or a per-sector count is a join.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Engine,
    Float,
    Integer,
    MetaData,
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
from sqlalchemy.engine import Connection

from app import area_counts, grid
from app.models import ACTIVE, CategorySet, Organisation, OrganisationCell
from app.upsert import upsert_into

CELL_TABLE: Table = OrganisationCell.__table__  # type: ignore[attr-defined]
SET_TABLE: Table = CategorySet.__table__  # type: ignore[attr-defined]
_ORGANISATION: Table = Organisation.__table__  # type: ignore[attr-defined]
ALL, SECTOR, LEGAL_FORM, SECTOR_FORM, CATEGORIES = (
    "all", "sector", "legal_form", "sector_form", "categories")
DIMENSIONS = (ALL, SECTOR, LEGAL_FORM, SECTOR_FORM, CATEGORIES)
KEY_COLUMNS = ("level", "dimension", "cx", "cy", "value")
SUM_COLUMNS = ("n", "sum_id", "sum_lat_e6", "sum_lon_e6")
BOUND_COLUMNS = ("min_lat", "min_lon", "max_lat", "max_lon")
_IDS_PER_QUERY = 900


def micro_degrees(column: Any) -> ColumnElement[int]:
    """SQL: a coordinate in integer micro-degrees (exact to add and subtract)."""
    return cast(func.round(column * literal(1_000_000.0)), Integer)


def legal_form_expression(table: Table) -> ColumnElement[str]:
    """SQL: the stored legal form (its enum name), '' when unknown."""
    return func.coalesce(cast(table.c.legal_form, String), "")


# A write's structures are read once into this per-connection table, with their cell at the
# finest level; a coarser cell is that cell's index divided by a power of two, which is the
# very cell `grid.cell_index` gives (scaling by a power of two is exact in floating point).
_POINTS = Table(
    "aggregate_points", MetaData(),
    Column("id", Integer), Column("lat", Float), Column("lon", Float),
    Column("categories", String), Column("legal_form", String),
    Column("x", Integer), Column("y", Integer),
    prefixes=["TEMPORARY"],
)
# Their totals per level, cell, `categories` string and legal form (those two are '' at the
# levels finer than DETAIL_FINEST, which count the `all` dimension only), each level summed
# from the next finer one: every dimension is then counted from these few rows, not from
# every structure at every level.
_GROUPS = Table(
    "aggregate_groups", MetaData(),
    Column("level", Integer), Column("cx", Integer), Column("cy", Integer),
    Column("categories", String), Column("legal_form", String),
    *(Column(name, BigInteger) for name in SUM_COLUMNS),
    *(Column(name, Float) for name in BOUND_COLUMNS),
    prefixes=["TEMPORARY"],
)
_FINEST_CELL = grid.ALL_LEVELS[-1]
# The levels each dimension is stored at, finest last: the one place that says so. `all`
# goes down to ~100 m, so a box or circle with no other filter is counted from whole cells
# but a thin edge; the sector and legal-form mix of clusters and facets down to level 16
# (cells ~420 m wide in France), so a map at zoom 11-14 reads cells, not rows; the pairs
# and exact `categories` strings, which make the most rows per structure, stop at FINEST.
_LEVELS = {
    ALL: grid.ALL_LEVELS,
    SECTOR: (*grid.LEVELS, 14, 16),
    LEGAL_FORM: (*grid.LEVELS, 14, 16),
    SECTOR_FORM: grid.LEVELS,
    CATEGORIES: grid.LEVELS,
}
# Down to this level the groups carry `categories` and legal form (finer, `all` only).
DETAIL_FINEST = max(levels[-1] for dimension, levels in _LEVELS.items() if dimension != ALL)


def levels_of(dimension: str) -> tuple[int, ...]:
    """The levels a dimension is stored at, coarsest first."""
    return _LEVELS[dimension]


def _dimension_source(points: Any, dimension: str) -> tuple[Any, ColumnElement[str]]:
    """The rows a dimension counts (one per structure and sector for sector ones), its value."""
    sets = SET_TABLE
    by_sector = points.join(sets, sets.c.categories == points.c.categories)
    if dimension == SECTOR:
        return by_sector, sets.c.category
    if dimension == SECTOR_FORM:
        return by_sector, sets.c.category + "|" + points.c.legal_form
    if dimension == LEGAL_FORM:
        return points, points.c.legal_form
    if dimension == CATEGORIES:
        return points, points.c.categories
    return points, literal("", String)


def _area_dimensions() -> area_counts.Dimensions:
    """The dimensions as the per-area counts file them (the same as the grid)."""
    return area_counts.Dimensions(DIMENSIONS, _dimension_source, legal_form_expression)


def _cell_rows(groups: Any, dimension: str, sign: int) -> Select[Any]:
    """The aggregate rows of the grouped points at every level, times `sign`."""
    source, value = _dimension_source(groups, dimension)
    keys = [groups.c.level, groups.c.cx, groups.c.cy]
    sums = [func.sum(groups.c[name]) * sign for name in SUM_COLUMNS]
    bounds = [func.min(groups.c.min_lat), func.min(groups.c.min_lon),
              func.max(groups.c.max_lat), func.max(groups.c.max_lon)]
    return select(keys[0], literal(dimension), *keys[1:], value, *sums, *bounds).select_from(
        source).where(groups.c.level.in_(levels_of(dimension))).group_by(*keys, value)


def _load_points(connection: Connection, condition: ColumnElement[bool] | None) -> None:
    """Fill the connection's point table with the matching structures."""
    table = _ORGANISATION
    _POINTS.create(connection, checkfirst=True)
    connection.execute(_POINTS.delete())
    rows = select(table.c.id, table.c.lat, table.c.lon, table.c.categories,
                  legal_form_expression(table),
                  grid.cell_index(grid.x_expression(table.c.lon), _FINEST_CELL),
                  grid.cell_index(grid.y_expression(table.c.lat), _FINEST_CELL),
                  ).where(table.c.status == ACTIVE)  # the grid counts active structures only
    if condition is not None:
        rows = rows.where(condition)
    connection.execute(_POINTS.insert().from_select([c.name for c in _POINTS.c], rows))


def _grouped_points(level: int) -> Select[Any]:
    """The points' totals per cell of `level` (and sectors and legal form to DETAIL_FINEST)."""
    points, factor = _POINTS, 1 << (_FINEST_CELL - level)
    cx, cy = (points.c.x // factor, points.c.y // factor) if factor > 1 else (points.c.x,
                                                                              points.c.y)
    detail: list[ColumnElement[str]] = (
        [points.c.categories, points.c.legal_form] if level <= DETAIL_FINEST else [])
    values = detail or [literal("", String), literal("", String)]
    totals = [func.count(), func.sum(points.c.id), func.sum(micro_degrees(points.c.lat)),
              func.sum(micro_degrees(points.c.lon)), func.min(points.c.lat),
              func.min(points.c.lon), func.max(points.c.lat), func.max(points.c.lon)]
    return select(literal(level, Integer), cx, cy, *values, *totals).group_by(cx, cy, *detail)


def _grouped_groups(level: int, finer: int) -> Select[Any]:
    """The totals per cell of `level`, summed from those of the `finer` level."""
    groups, factor = _GROUPS, 1 << (finer - level)
    cx, cy = groups.c.cx // factor, groups.c.cy // factor
    detail = [groups.c.categories, groups.c.legal_form]
    totals = [*(func.sum(groups.c[name]) for name in SUM_COLUMNS),
              *(func.min(groups.c[name]) for name in BOUND_COLUMNS[:2]),
              *(func.max(groups.c[name]) for name in BOUND_COLUMNS[2:])]
    return select(literal(level, Integer), cx, cy, *detail, *totals).where(
        groups.c.level == finer).group_by(cx, cy, *detail)


def _group(connection: Connection) -> Any:
    """Fill the connection's group table from its point table, finest level first."""
    _GROUPS.create(connection, checkfirst=True)
    connection.execute(_GROUPS.delete())
    columns, finer = [c.name for c in _GROUPS.c], 0
    for level in sorted(grid.ALL_LEVELS, reverse=True):
        from_points = not finer or level <= DETAIL_FINEST < finer
        rows = _grouped_points(level) if from_points else _grouped_groups(level, finer)
        connection.execute(_GROUPS.insert().from_select(columns, rows))
        finer = level
    return _GROUPS


def _counted(connection: Connection, condition: ColumnElement[bool] | None) -> Any:
    """The matching active structures, grouped per level and cell (the group table)."""
    _load_points(connection, condition)
    return _group(connection)


def _upsert(connection: Connection, rows: Select[Any]) -> None:
    """Add `rows` to organisation_cell: sums add up, bounds only grow."""
    dialect = connection.dialect.name
    statement = upsert_into(CELL_TABLE, dialect).from_select(
        [*KEY_COLUMNS, *SUM_COLUMNS, *BOUND_COLUMNS], rows)
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
        groups = _counted(connection, condition)
        for dimension in DIMENSIONS:
            _upsert(connection, _cell_rows(groups, dimension, sign))
        area_counts.apply(connection, condition, sign, _area_dimensions())


def _record_category_sets(connection: Connection, condition: ColumnElement[bool] | None) -> None:
    """Make sure every `categories` string of the matching rows is in category_set."""
    query = select(_ORGANISATION.c.categories).distinct()
    if condition is not None:
        query = query.where(condition)
    pairs = {(slug, categories) for (categories,) in connection.execute(query)
             for slug in categories.split("|") if slug}
    if not pairs:
        return
    rows = [{"category": slug, "categories": categories} for slug, categories in sorted(pairs)]
    connection.execute(upsert_into(SET_TABLE, connection.dialect.name).on_conflict_do_nothing(),
                       rows)


def add(connection: Connection, ids: Sequence[int]) -> None:
    """Count the stored rows with these ids in the aggregates (call after writing them)."""
    if not ids:
        return
    for condition in _id_conditions(ids):
        _record_category_sets(connection, condition)
    _apply(connection, ids, 1)


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
    _record_category_sets(connection, None)
    groups = _counted(connection, None)
    for dimension in DIMENSIONS:
        _upsert(connection, _cell_rows(groups, dimension, 1))
    area_counts.rebuild(connection, _area_dimensions())


def mismatches(connection: Connection) -> int:
    """How many aggregate rows differ from a recomputation (0 when they are in step).

    Counts and sums must be equal; stored bounds must contain the recomputed ones.
    """
    exact = len(KEY_COLUMNS) + len(SUM_COLUMNS)
    groups = _counted(connection, None)
    recomputed = [_cell_rows(groups, dimension, 1).subquery() for dimension in DIMENSIONS]
    wanted = [select(*list(query.c)[:exact]) for query in recomputed]
    stored = select(*(CELL_TABLE.c[name] for name in (*KEY_COLUMNS, *SUM_COLUMNS)))
    everything = wanted[0].union_all(*wanted[1:]).subquery()
    count = 0
    for difference in (except_(select(*everything.c), stored), except_(stored, select(
            *everything.c))):
        count += connection.execute(select(func.count()).select_from(
            difference.subquery())).scalar_one()
    return (int(count) + _loose_bounds(connection, recomputed) + _missing_sets(connection)
            + area_counts.mismatches(connection, _area_dimensions()))


def _loose_bounds(connection: Connection, recomputed: list[Any]) -> int:
    """Stored rows whose bounds do not contain their members' recomputed bounds."""
    cells, total = CELL_TABLE.c, 0
    for query in recomputed:
        columns = list(query.c)
        same = and_(*(cells[name] == column for name, column in zip(KEY_COLUMNS, columns,
                                                                    strict=False)))
        lows, highs = columns[-4:-2], columns[-2:]
        loose = or_(cells.min_lat > lows[0], cells.min_lon > lows[1],
                    cells.max_lat < highs[0], cells.max_lon < highs[1])
        found = select(func.count()).select_from(query.join(CELL_TABLE, same)).where(loose)
        total += int(connection.execute(found).scalar_one())
    return total


def _missing_sets(connection: Connection) -> int:
    """Stored `categories` strings that category_set does not know."""
    known = select(SET_TABLE.c.categories)
    query = select(func.count(func.distinct(_ORGANISATION.c.categories))).where(
        _ORGANISATION.c.categories != "", _ORGANISATION.c.categories.not_in(known))
    return int(connection.execute(query).scalar_one())


def is_missing(connection: Connection) -> bool:
    """True for a database whose aggregates lack a dimension's finest level (or all of them).

    Made before the aggregates existed, or before a dimension got its finest level: every
    active structure has a row there (a sector one when it has a sector).
    """
    return any(_lacks_finest_level(connection, dimension) and _counted_in(connection, dimension)
               for dimension in DIMENSIONS)


def _lacks_finest_level(connection: Connection, dimension: str) -> bool:
    """True when organisation_cell has no row of the dimension at its finest level."""
    cells = CELL_TABLE.c
    query = select(cells.level).where(cells.level == levels_of(dimension)[-1],
                                      cells.dimension == dimension).limit(1)
    return connection.execute(query).first() is None


def _counted_in(connection: Connection, dimension: str) -> bool:
    """True when an active structure has a row of the dimension (sector ones: with a sector)."""
    table = _ORGANISATION
    query = select(table.c.id).where(table.c.status == ACTIVE).limit(1)
    if dimension in (SECTOR, SECTOR_FORM):
        query = query.where(table.c.categories != "")
    return connection.execute(query).first() is not None


def ensure(engine: Engine) -> bool:
    """Back-fill the aggregates of an older database; True when it had to."""
    with engine.begin() as connection:
        if is_missing(connection):
            rebuild(connection)
            return True
        if area_counts.is_missing(connection):  # a grid from before organisation_area
            area_counts.rebuild(connection, _area_dimensions())
            return True
        return False
