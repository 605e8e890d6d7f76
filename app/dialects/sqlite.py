"""SQLite: an R*Tree for points, FTS5 (trigram) for text, kept in step by triggers.

`organisation_rtree` holds one box per structure (its point, rounded outward to the
32-bit floats R*Tree stores); `organisation_fts` indexes `organisation_document`, a view
of the folded `search_text` plus the sector slugs as words. Triggers on `organisation`
update both inside the writing transaction, whatever writes: bulk inserts, upserts,
deletes, merges, a killed import (its transaction rolls back with them). Two partial B-tree
indexes of the active structures' coordinates, by latitude and by longitude
(`BAND_INDEXES`), serve the thin edge strips of the counts.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Float,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    func,
    literal_column,
    text,
)
from sqlalchemy import select as core_select
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from app import grid
from app.dialects import sqlite_circle
from app.dialects.circle_count import (
    COUNTED,
    count_in_rim,
    count_in_runs,
    counted_by_cells,
)
from app.dialects.elements import (
    CheckedBox,
    LatitudeStrip,
    LongitudeStrip,
    StripBox,
    TextMatch,
    WithinBox,
    box_condition,
    haversine_distance,
    haversine_from,
)
from app.models import ACTIVE, Organisation
from app.spatial import BBox, Circle, bbox_around

ORGANISATION = Organisation.__table__  # type: ignore[attr-defined]
# The virtual tables live outside SQLModel.metadata: create_all must not make them.
_VIRTUAL = MetaData()
RTREE = Table(
    "organisation_rtree", _VIRTUAL, Column("id", Integer, primary_key=True),
    *(Column(name, Float) for name in ("min_lat", "max_lat", "min_lon", "max_lon")),
)
FTS = Table(
    "organisation_fts", _VIRTUAL, Column("rowid", Integer), Column("rank", Float),
    Column("organisation_fts", String),  # FTS5's hidden column, left of MATCH
)
NearbyRows = tuple[list[tuple[Sequence[Any], float]], int]
_MATH_FUNCTIONS = {"sin": 1, "cos": 1, "asin": 1, "sqrt": 1, "radians": 1, "pow": 2}

_DOCUMENT = "{row}.search_text || ' ' || replace(replace({row}.categories, '|', ' '), '-', ' ')"
_RTREE_ROW = "{row}.id, {row}.lat, {row}.lat, {row}.lon, {row}.lon"
_RTREE_DDL = ("CREATE VIRTUAL TABLE organisation_rtree "
              "USING rtree(id, min_lat, max_lat, min_lon, max_lon)")
_FTS_DDL = ("CREATE VIRTUAL TABLE organisation_fts USING fts5(document, "
            "content='organisation_document', content_rowid='id', tokenize='trigram')")
# Only the fixed text above is interpolated into these statements: they hold no value.
_VIEW_DDL = (f"CREATE VIEW IF NOT EXISTS organisation_document AS "  # noqa: S608
             f"SELECT id, {_DOCUMENT.format(row='organisation')} AS document FROM organisation")
_FTS_ADD = (f"INSERT INTO organisation_fts(rowid, document) "  # noqa: S608
            f"VALUES (new.id, {_DOCUMENT.format(row='new')});")
_FTS_REMOVE = (f"INSERT INTO organisation_fts(organisation_fts, rowid, document) "  # noqa: S608
               f"VALUES ('delete', old.id, {_DOCUMENT.format(row='old')});")
_RTREE_ADD = f"INSERT INTO organisation_rtree VALUES ({_RTREE_ROW.format(row='new')});"  # noqa: S608
_RTREE_REMOVE = "DELETE FROM organisation_rtree WHERE id = old.id;"
# A row in this table, inside a bulk write's own transaction, tells the insert trigger that
# the writer indexes its new rows itself, set-based (`bulk_indexing`); no other connection
# ever sees the row, and a killed write rolls it back with everything else.
_DEFERRED = "organisation_index_deferred"
_DEFERRED_DDL = f"CREATE TABLE IF NOT EXISTS {_DEFERRED} (id INTEGER PRIMARY KEY)"
_INSERT_TRIGGER = "organisation_index_insert"
TRIGGERS = {
    _INSERT_TRIGGER: (f"AFTER INSERT ON organisation "  # noqa: S608
                      f"WHEN NOT EXISTS (SELECT 1 FROM {_DEFERRED}) "
                      f"BEGIN {_RTREE_ADD} {_FTS_ADD} END"),
    "organisation_index_delete":
        f"AFTER DELETE ON organisation BEGIN {_RTREE_REMOVE} {_FTS_REMOVE} END",
    "organisation_place_update":
        f"AFTER UPDATE OF id, lat, lon ON organisation BEGIN {_RTREE_REMOVE} {_RTREE_ADD} END",
    "organisation_text_update": (f"AFTER UPDATE OF id, search_text, categories ON organisation "
                                 f"BEGIN {_FTS_REMOVE} {_FTS_ADD} END"),
}
_RTREE_FILL = "INSERT INTO organisation_rtree SELECT id, lat, lat, lon, lon FROM organisation"
_FTS_FILL = ("INSERT INTO organisation_fts(rowid, document) "
             "SELECT id, document FROM organisation_document")
# Filling a new index from the rows already stored (a database made before it existed).
_BACKFILLS = {
    "organisation_rtree": (_RTREE_DDL, _RTREE_FILL),
    "organisation_fts": (_FTS_DDL, "INSERT INTO organisation_fts(organisation_fts) "
                         "VALUES ('rebuild')"),
}
# FTS5 keeps a writer's new terms in memory up to this many bytes before writing them out
# as a segment (1 MiB by default): a bulk write's batch then makes a few large segments,
# not one per MiB, and automerge has less to merge (about a fifth less CPU per row).
FTS_SETTINGS = {"hashsize": 16 << 20}
# An edge strip (app/summaries.py) is read from an index of the coordinates of the active
# structures, by the axis it is narrow on: the points in its whole band of latitudes (or
# longitudes), no table row read. Through the R*Tree a strip long and a cell thin overlaps
# many nodes, then reads each point's row: 6 times the time (Paris's box at 1,000,000
# structures: 4 strips, 596 against 91 µs). Partial indexes, of active structures only,
# led by a coordinate: no other statement can read them for its status test alone (led
# by the status, a count of a small box read the whole index, 400 ms at 1,000,000).
_ACTIVE_SQL = f"status = '{ACTIVE}'"
BAND_INDEXES = {"organisation_band_lat": ("lat", "lon", "status"),
                "organisation_band_lon": ("lon", "lat", "status")}
OWNED_INDEXES = tuple(BAND_INDEXES)
_BAND_DDL = {name: f"CREATE INDEX {name} ON organisation ({', '.join(columns)}) "
                   f"WHERE {_ACTIVE_SQL}" for name, columns in BAND_INDEXES.items()}
_BAND_COLUMNS = frozenset(column for columns in BAND_INDEXES.values() for column in columns)
# A box with this many points is read in id order (a page fills fast); a smaller one
# through the R*Tree (its ids sorted in a temporary index).
DENSE_BOX_ROWS = 10_000
# Below this many points in the circle's box, measuring them all beats reading cells.
_CELLS_WORTH = 2_000
# The most a distance measured from an R*Tree corner (32-bit floats) can be off, in metres
# (2.6 m at worst: one float step in latitude and longitude near ±180).
ROUNDING_M = 5.0
# How much wider than the expected reach of the `limit` nearest the first search goes.
_FIRST_REACH_FACTOR = 1.5


def register_functions(dbapi_connection: Any) -> None:
    """Give a SQLite built without math functions the ones distances use (from Python's)."""
    try:
        dbapi_connection.execute("SELECT radians(sin(cos(asin(sqrt(pow(1, 2))))))")
    except sqlite3.OperationalError:
        for name, arity in _MATH_FUNCTIONS.items():
            dbapi_connection.create_function(name, arity, _null_safe(getattr(math, name)),
                                             deterministic=True)


def _null_safe(function: Callable[..., float]) -> Callable[..., float | None]:
    """A SQL function: NULL in, NULL out."""

    def call(*values: float | None) -> float | None:
        return None if None in values else function(*values)

    return call


@compiles(CheckedBox, "sqlite")
def _checked_box(element: CheckedBox, compiler: SQLCompiler, **kw: Any) -> str:
    """Lat and lon compared on the row, no index ("+ 0" keeps the planner off the B-tree)."""
    min_lat, max_lat, min_lon, max_lon = element.clauses
    table = ORGANISATION
    return compiler.process(and_((table.c.lat + 0).between(min_lat, max_lat),
                                 (table.c.lon + 0).between(min_lon, max_lon)), **kw)


@compiles(StripBox, "sqlite")
def _strip_box(element: StripBox, compiler: SQLCompiler, **kw: Any) -> str:
    """Active, lat and lon compared as stored, the wide axis kept off every index ("+ 0").

    The narrow axis then leads SQLite's planner to its band index (`BAND_INDEXES`): the
    status test, written as the indexes' own WHERE (so they apply), is said to be nearly
    always true, else the planner would rather read every active row of the status index.
    """
    min_lat, max_lat, min_lon, max_lon = element.clauses
    lat, lon = ORGANISATION.c.lat, ORGANISATION.c.lon
    if isinstance(element, LatitudeStrip):
        lon = lon + 0
    elif isinstance(element, LongitudeStrip):
        lat = lat + 0
    active = text(f"likelihood(organisation.{_ACTIVE_SQL}, 0.99)")
    return compiler.process(and_(active, lat.between(min_lat, max_lat),
                                 lon.between(min_lon, max_lon)), **kw)


@compiles(WithinBox, "sqlite")
def _within_box(element: WithinBox, compiler: SQLCompiler, **kw: Any) -> str:
    """R*Tree candidates, then the exact comparison on the stored lat/lon."""
    min_lat, max_lat, min_lon, max_lon = element.clauses
    # R*Tree rounds each point's box outward, so overlap with the asked box is a superset.
    candidates = core_select(RTREE.c.id).where(
        RTREE.c.max_lat >= min_lat, RTREE.c.min_lat <= max_lat,
        RTREE.c.max_lon >= min_lon, RTREE.c.min_lon <= max_lon,
    )
    exact = and_(ORGANISATION.c.id.in_(candidates),
                 CheckedBox(min_lat, max_lat, min_lon, max_lon))
    return compiler.process(exact, **kw)


def _fts_match(text: Any) -> ColumnElement[bool]:
    """FTS5 MATCH of a literal substring: one quoted phrase, its quotes doubled."""
    phrase = '"' + func.replace(text, '"', '""', type_=String) + '"'
    return FTS.c.organisation_fts.op("MATCH")(phrase)


@compiles(TextMatch, "sqlite")
def _text_match(element: TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    """Ids whose FTS5 document holds the text."""
    (text,) = element.clauses
    ids = core_select(FTS.c.rowid).where(_fts_match(text))
    return compiler.process(ORGANISATION.c.id.in_(ids), **kw)


def _make_band_indexes(connection: Connection) -> None:
    """Create the band indexes missing, or made otherwise (by an earlier build)."""
    made: dict[str, str] = dict(connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN (?, ?)",
        tuple(BAND_INDEXES)).all())
    for name, create in _BAND_DDL.items():
        if made.get(name) != create:
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
            connection.exec_driver_sql(create)


class SqliteStrategy:
    """Whole-query strategies on SQLite's R*Tree and FTS5."""

    def install(self, connection: Connection) -> None:
        """Create the virtual tables, view, band indexes and triggers once; fill new indexes."""
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        self.attach(connection)
        connection.exec_driver_sql("COMMIT")

    def detach(self, connection: Connection) -> None:
        """Drop the view, triggers and band indexes in the caller's transaction (attach again).

        A revision may rebuild the organisation table, and SQLite refuses to rename a table
        while a view names a table that is missing; a revision dropping a column would
        also find it in a band index.
        """
        connection.exec_driver_sql("DROP VIEW IF EXISTS organisation_document")
        for name in BAND_INDEXES:
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        for name in TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")

    def attach(self, connection: Connection) -> None:
        """install() in the caller's transaction."""
        existing = {name for (name,) in connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE name LIKE 'organisation%'")}
        connection.exec_driver_sql(_VIEW_DDL)
        connection.exec_driver_sql(_DEFERRED_DDL)
        columns = {row[1] for row in connection.exec_driver_sql(
            "PRAGMA table_info(organisation)")}
        if columns >= _BAND_COLUMNS:  # not in a release older than the status column
            _make_band_indexes(connection)
        for name, (create, backfill) in _BACKFILLS.items():
            if name not in existing:
                connection.exec_driver_sql(create)
                connection.exec_driver_sql(backfill)
        _configure_fts(connection)
        _install_triggers(connection)

    @contextmanager
    def bulk_indexing(self, connection: Connection, after: int) -> Iterator[None]:
        """Rows inserted inside are indexed set-based on the way out (ids above `after`).

        Per-row triggers cost three times as much as one INSERT … SELECT per index. The
        rows are indexed even when the block fails, so the transaction stays consistent
        whether the caller rolls it back or not. A database whose insert trigger is not
        this one (dropped, or older) is left to its triggers and its next `install`.
        """
        trigger = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
            (_INSERT_TRIGGER,)).scalar()
        if trigger != _trigger_sql(_INSERT_TRIGGER):
            yield
            return
        connection.exec_driver_sql(f"INSERT INTO {_DEFERRED} (id) VALUES (1)")  # noqa: S608
        try:
            yield
        finally:
            connection.exec_driver_sql(f"DELETE FROM {_DEFERRED}")  # noqa: S608
            for fill in (_RTREE_FILL, _FTS_FILL):
                connection.exec_driver_sql(f"{fill} WHERE id > ?", (after,))

    def id_ordered(
        self, connection: Connection, statement: Select[Any], *, folded_text: str | None,
        bbox: BBox | None, after: int | None, matched: int | None = None,
    ) -> Select[Any]:
        """In id order, driven by FTS5 for a text, by the R*Tree for a sparse box, else by id.

        A box is dense when it holds DENSE_BOX_ROWS points: `matched` (the listing's
        count, a subset of the box's points) says so when it reaches that many, else the
        R*Tree is asked (a millisecond for a box that dense at 1,000,000 structures).
        """
        if folded_text:
            return _driven_by_text(statement, folded_text, bbox, after)
        table = ORGANISATION
        if bbox:
            dense = ((matched is not None and matched >= DENSE_BOX_ROWS)
                     or _holds_at_least(connection, bbox, DENSE_BOX_ROWS))
            statement = statement.where(box_condition(bbox, CheckedBox if dense else WithinBox))
        if after is not None:
            statement = statement.where(table.c.id > after)
        return statement.order_by(table.c.id)

    def ranked(self, statement: Select[Any], folded_text: str) -> Select[Any]:
        """Best bm25 rank first (then id), joined from the FTS5 query."""
        matches = core_select(FTS.c.rowid, FTS.c.rank).where(
            _fts_match(folded_text)).subquery("text_rank")
        return statement.join(matches, matches.c.rowid == ORGANISATION.c.id).order_by(
            matches.c.rank, ORGANISATION.c.id)

    def count_text(self, connection: Connection, folded_text: str) -> int:
        """COUNT on the FTS5 index alone: it holds one row per structure (triggers)."""
        statement = core_select(func.count()).select_from(FTS).where(_fts_match(folded_text))
        return int(connection.execute(statement).scalar_one())

    def nearby(
        self, connection: Connection, circle: Circle, columns: Sequence[ColumnElement[Any]],
        conditions: Sequence[ColumnElement[bool]], limit: int,
    ) -> NearbyRows:
        """Count within the circle, then search growing circles until `limit` are certain."""
        total = _count_within(connection, circle, conditions)
        if total == 0:
            return [], 0
        reach = circle.radius_m
        if total > limit:
            # Were the points spread evenly, the `limit` nearest would lie within this reach.
            reach = min(reach, reach * math.sqrt(limit / total) * _FIRST_REACH_FACTOR)
        while True:
            rows = _nearest(connection, circle, reach, columns, conditions, limit)
            if len(rows) == limit or reach >= circle.radius_m:
                return rows, int(total)
            reach = min(circle.radius_m, reach * 2)


def _trigger_sql(name: str) -> str:
    """The statement that creates a trigger, as sqlite_master stores it."""
    return f"CREATE TRIGGER {name} {TRIGGERS[name]}"


def _configure_fts(connection: Connection) -> None:
    """Give the FTS5 table its settings (kept in its own config table), unless it has them."""
    stored: dict[str, object] = dict(connection.exec_driver_sql(
        "SELECT k, v FROM organisation_fts_config").all())
    for name, value in FTS_SETTINGS.items():
        if stored.get(name) != value:
            connection.exec_driver_sql("INSERT INTO organisation_fts(organisation_fts, rank) "
                                       "VALUES (?, ?)", (name, value))


def _install_triggers(connection: Connection) -> None:
    """Create the triggers, replacing those of an older definition."""
    stored: dict[str, str] = dict(connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all())
    for name in TRIGGERS:
        wanted = _trigger_sql(name)
        if stored.get(name) == wanted:
            continue
        if name in stored:
            connection.exec_driver_sql(f"DROP TRIGGER {name}")
        connection.exec_driver_sql(wanted)


def _driven_by_text(
    statement: Select[Any], folded_text: str, bbox: BBox | None, after: int | None
) -> Select[Any]:
    """FTS5 as the outer loop, in rowid order from `after`: a page stops at its limit."""
    statement = statement.join_from(FTS, ORGANISATION, ORGANISATION.c.id == FTS.c.rowid).where(
        _fts_match(folded_text))
    if bbox:
        statement = statement.where(box_condition(bbox, CheckedBox))
    if after is not None:
        statement = statement.where(FTS.c.rowid > after)
    return statement.order_by(FTS.c.rowid)


def _holds_at_least(connection: Connection, bbox: BBox, rows: int) -> bool:
    """Whether the R*Tree has at least `rows` points in the box (reading at most that many)."""
    boxes = []
    for part in bbox.parts():
        boxes.append(core_select(RTREE.c.id).where(
            RTREE.c.max_lat >= part.min_lat, RTREE.c.min_lat <= part.max_lat,
            RTREE.c.max_lon >= part.min_lon, RTREE.c.min_lon <= part.max_lon).limit(rows))
    found = sum(connection.execute(core_select(func.count()).select_from(box.subquery()))
                .scalar_one() for box in boxes)
    return bool(found >= rows)


def _rough_distance(circle: Circle) -> ColumnElement[float]:
    """SQL: `haversine_distance` from the R*Tree's rounded corner (within ROUNDING_M)."""
    return haversine_distance(circle, RTREE.c.min_lat, RTREE.c.min_lon)


def _count_within(
    connection: Connection, circle: Circle, conditions: Sequence[ColumnElement[bool]]
) -> int:
    """How many structures lie within the circle and meet the conditions (exact)."""
    if (counted_by_cells(conditions) and sqlite_circle.applies(circle)
            and _holds_at_least(connection, circle.box(), _CELLS_WORTH)):
        cells = sqlite_circle.cover(circle)
        return (count_in_runs(connection, cells.inside_runs)
                + count_in_rim(connection, circle, cells, _rim_statement()))
    statement = core_select(func.count()).select_from(ORGANISATION).where(
        *_within(circle, circle.radius_m), *conditions)
    return int(connection.execute(statement).scalar_one())


def _sql(expression: ColumnElement[Any]) -> str:
    """An expression as SQLite text with its values written in (fixed values only)."""
    return str(expression.compile(dialect=sqlite_dialect(),
                                  compile_kwargs={"literal_binds": True}))


_RIM_CELL = grid.point_cell(ORGANISATION.c.lon, ORGANISATION.c.lat, grid.ALL_LEVELS[-1])
# R*Tree boxes are rounded outward: overlapping a box finds every point in it.
# The R*Tree is the outer loop (each box), each of its points read by id: CROSS JOIN keeps
# SQLite's planner from starting with the status index.
_RIM_SQL = (
    "WITH centre(lat, lon) AS (VALUES (?, ?)), "  # noqa: S608  (values bound)
    "box(min_lat, max_lat, min_lon, max_lon) AS (VALUES {rows}) "
    f"SELECT organisation.id, {_sql(_RIM_CELL[0])}, {_sql(_RIM_CELL[1])} "
    "FROM centre CROSS JOIN box CROSS JOIN organisation_rtree AS rtree "
    "CROSS JOIN organisation ON organisation.id = rtree.id "
    "WHERE rtree.max_lat >= box.min_lat AND rtree.min_lat <= box.max_lat "
    "AND rtree.max_lon >= box.min_lon AND rtree.min_lon <= box.max_lon "
    "AND {distance} <= ? AND {counted}")


@cache
def _rim_statement() -> str:
    """_RIM_SQL with its distance and condition written in (made once)."""
    distance = haversine_from(literal_column("centre.lat"), literal_column("centre.lon"))
    return _RIM_SQL.replace("{distance}", _sql(distance)).replace("{counted}", _sql(COUNTED))




def _within(circle: Circle, reach: float) -> tuple[ColumnElement[bool], ...]:
    """SQL: within `reach` metres of the centre, the R*Tree narrowing to the box."""
    return (box_condition(bbox_around(circle.lat, circle.lon, reach)),
            haversine_distance(circle) <= reach)


def _nearest(
    connection: Connection, circle: Circle, reach: float,
    columns: Sequence[ColumnElement[Any]], conditions: Sequence[ColumnElement[bool]], limit: int,
) -> list[tuple[Sequence[Any], float]]:
    """The `limit` nearest within `reach`, by distance then id."""
    distance = haversine_distance(circle)
    box = bbox_around(circle.lat, circle.lon, reach)
    if conditions or len(box.parts()) > 1:
        candidates = _within(circle, reach)
    else:
        candidates = (ORGANISATION.c.id.in_(_rough_candidates(connection, circle, reach, box,
                                                              limit)),
                      distance <= reach)
    statement = (core_select(*columns, distance).where(*candidates, *conditions)
                 .order_by(distance, ORGANISATION.c.id).limit(limit))
    return [(row[:-1], float(row[-1])) for row in connection.execute(statement)]


def _rough_candidates(
    connection: Connection, circle: Circle, reach: float, box: BBox, limit: int
) -> Select[Any]:
    """SQL: R*Tree ids that hold the `limit` nearest within `reach`, read without the table.

    Were x among them and its rounded distance beyond the `limit`-th one's plus twice the
    rounding, `limit` points would be surely nearer than x.
    """
    rough = _rough_distance(circle)
    in_box = (RTREE.c.max_lat >= box.min_lat, RTREE.c.min_lat <= box.max_lat,
              RTREE.c.max_lon >= box.min_lon, RTREE.c.min_lon <= box.max_lon,
              rough <= reach + ROUNDING_M)
    nth = connection.execute(core_select(rough).select_from(RTREE).where(*in_box)
                             .order_by(rough).limit(1).offset(limit - 1)).scalar()
    bound = reach + ROUNDING_M if nth is None else min(reach + ROUNDING_M,
                                                      nth + 2 * ROUNDING_M)
    return core_select(RTREE.c.id).where(*in_box[:4], rough <= bound)
