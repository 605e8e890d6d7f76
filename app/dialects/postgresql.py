"""PostgreSQL + PostGIS: GiST for points, pg_trgm for text, kept in step by the database.

`install()` adds three generated columns to `organisation` (so every write path keeps
them exact inside its own transaction, a killed import included): `geom`, the point as
geometry(Point, 4326), for boxes (`&&`); `geog`, the same point as geography, for
distances in metres (`ST_DWithin`, KNN `<->`); `document`, the folded `search_text` plus
the sector slugs as words (SQLite's FTS5 document), under a trigram GIN index. Texts are
folded by `geocode.normalize.fold` before they are stored or searched, as on SQLite, so
accents and case are ignored the same way on both; LIKE with escaped wildcards keeps
every character of `q` literal. Distances are the haversine of `app.spatial` computed in
SQL (the very expression SQLite uses), so both databases give the same metres.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, func, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import functions
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import literal_column

from app import grid
from app.config import ConfigurationError
from app.dialects import sqlite_circle
from app.dialects.circle_count import (
    COUNTED,
    count_in_rim,
    count_in_runs,
    counted_by_cells,
)
from app.dialects.elements import (
    CheckedBox,
    TextMatch,
    WithinBox,
    haversine_distance,
    haversine_from,
    text_match,
)
from app.dialects.portable import PortableStrategy, like_pattern
from app.models import Organisation
from app.spatial import Circle

ORGANISATION = Organisation.__table__  # type: ignore[attr-defined]
NearbyRows = tuple[list[tuple[Sequence[Any], float]], int]
EXTENSIONS = ("postgis", "pg_trgm")
# Columns of `organisation` that install() owns (alembic leaves them alone).
OWNED_COLUMNS = ("geom", "geog", "document")
OWNED_INDEXES = ("organisation_geom", "organisation_geog", "organisation_document_trgm")
_POINT = "ST_SetSRID(ST_MakePoint(lon, lat), 4326)"
_COLUMNS_DDL = (
    f"ALTER TABLE organisation ADD COLUMN IF NOT EXISTS geom geometry(Point, 4326) "
    f"GENERATED ALWAYS AS ({_POINT}) STORED",
    f"ALTER TABLE organisation ADD COLUMN IF NOT EXISTS geog geography(Point, 4326) "
    f"GENERATED ALWAYS AS ({_POINT}::geography) STORED",
    "ALTER TABLE organisation ADD COLUMN IF NOT EXISTS document text GENERATED ALWAYS AS "
    "(search_text || ' ' || replace(replace(categories, '|', ' '), '-', ' ')) STORED",
)
_INDEXES_DDL = (
    "CREATE INDEX IF NOT EXISTS organisation_geom ON organisation USING gist (geom)",
    "CREATE INDEX IF NOT EXISTS organisation_geog ON organisation USING gist (geog)",
    "CREATE INDEX IF NOT EXISTS organisation_document_trgm ON organisation "
    "USING gin (document gin_trgm_ops)",
)
# Two processes starting on a new database: one creates, the other waits, then finds it.
_INSTALL_LOCK = 0x455353_01  # "ESS" 1
GEOM: ColumnElement[Any] = literal_column("organisation.geom")
GEOG: ColumnElement[Any] = literal_column("organisation.geog")
DOCUMENT = literal_column("organisation.document", String)
# More than the two sphere distances (PostGIS's and app.spatial's haversine) can differ by.
SLACK_M = 1.0


@compiles(functions.min, "postgresql")
def _min(element: functions.min[Any], compiler: SQLCompiler, **kw: Any) -> str:
    """min(a, b) is SQLite's scalar minimum: least(a, b) here; min(a) stays the aggregate."""
    if len(element.clauses) > 1:
        return compiler.process(func.least(*element.clauses, type_=element.type), **kw)
    return compiler.visit_function(element, **kw)


def _envelope(min_lat: Any, max_lat: Any, min_lon: Any, max_lon: Any) -> ColumnElement[Any]:
    """SQL: the box as a geometry of SRID 4326."""
    return func.ST_MakeEnvelope(min_lon, min_lat, max_lon, max_lat, 4326)


def _between(min_lat: Any, max_lat: Any, min_lon: Any, max_lon: Any) -> ColumnElement[bool]:
    """The exact test on the stored lat/lon."""
    table = ORGANISATION
    return and_(table.c.lat.between(min_lat, max_lat), table.c.lon.between(min_lon, max_lon))


@compiles(WithinBox, "postgresql")
def _within_box(element: WithinBox, compiler: SQLCompiler, **kw: Any) -> str:
    """ST_Intersects of the point and the box: GiST candidates (`&&`), then the exact test.

    For a point and an axis-aligned box the exact test compares the stored doubles, edges
    included, as the lat/lon BETWEEN does. Written as `&&` plus a lat/lon test instead, the
    planner multiplied the two selectivities as if independent (a Paris box: 245 rows
    expected, 38,948 found) and sorted the whole box for a page in id order (95 ms) rather
    than reading the primary key until the page is full (3 ms); ST_Intersects is estimated
    from the GiST statistics alone.
    """
    return compiler.process(func.ST_Intersects(GEOM, _envelope(*element.clauses)), **kw)


@compiles(CheckedBox, "postgresql")
def _checked_box(element: CheckedBox, compiler: SQLCompiler, **kw: Any) -> str:
    """The lat/lon test alone, on rows another index or the id order reads."""
    return compiler.process(_between(*element.clauses), **kw)


@compiles(TextMatch, "postgresql")
def _text_match(element: TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    """The document LIKE '%text%', through the trigram index."""
    (text,) = element.clauses
    return compiler.process(DOCUMENT.like(like_pattern(text), escape="\\"), **kw)


class PostgresqlStrategy(PortableStrategy):
    """Whole-query strategies on PostGIS and pg_trgm.

    From the portable strategy, with this module's elements compiled in: id order (the
    planner picks the GiST, trigram or primary-key index from the statistics), box counts,
    nothing to detach before revisions (one that rewrites lat, lon or the texts drops the
    generated columns), nothing to do around bulk inserts (generated columns follow them).
    """

    def install(self, connection: Connection) -> None:
        """Create the extensions, generated columns and indexes once, in one transaction."""
        connection.rollback()
        with connection.begin():
            self.attach(connection)

    def attach(self, connection: Connection) -> None:
        """install() in the caller's transaction."""
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_INSTALL_LOCK})")
        _create_extensions(connection)
        for statement in (*_COLUMNS_DDL, *_INDEXES_DDL):
            connection.exec_driver_sql(statement)

    def ranked(self, statement: Select[Any], folded_text: str) -> Select[Any]:
        """Texts that hold the query most often first, then the shorter, then by id."""
        said = (func.length(DOCUMENT) - func.length(func.replace(DOCUMENT, folded_text, "")))
        return statement.where(text_match(folded_text)).order_by(
            said.desc(), func.length(DOCUMENT), ORGANISATION.c.id)

    def nearby(
        self, connection: Connection, circle: Circle, columns: Sequence[ColumnElement[Any]],
        conditions: Sequence[ColumnElement[bool]], limit: int,
    ) -> NearbyRows:
        """Count within the circle (ST_DWithin), then the `limit` nearest found by KNN."""
        within = [_near(circle, circle.radius_m + SLACK_M),
                  haversine_distance(circle) <= circle.radius_m, *conditions]
        total = _count_within(connection, circle, within, conditions)
        if total == 0:
            return [], 0
        reach = (circle.radius_m + SLACK_M if total <= limit
                 else _knn_reach(connection, circle, conditions, limit))
        distance = haversine_distance(circle)
        statement = (select(*columns, distance).where(_near(circle, reach), *within[1:])
                     .order_by(distance, ORGANISATION.c.id).limit(limit))
        return [(row[:-1], float(row[-1])) for row in connection.execute(statement)], int(total)


def _count_within(
    connection: Connection, circle: Circle, within: Sequence[ColumnElement[bool]],
    conditions: Sequence[ColumnElement[bool]],
) -> int:
    """How many structures lie within the circle and meet the conditions (exact).

    With no filter, from the aggregates (the cells wholly inside) and the rim's rows: a
    count by ST_DWithin reads every row of the circle from the heap (a 10 km circle in
    Paris is tens of thousands of scattered pages at 1,000,000 structures).
    """
    if counted_by_cells(conditions) and sqlite_circle.applies(circle):
        cells = sqlite_circle.cover(circle)
        return (count_in_runs(connection, cells.inside_runs)
                + count_in_rim(connection, circle, cells, _rim_statement(connection.dialect)))
    statement = select(func.count()).select_from(ORGANISATION).where(*within)
    return int(connection.execute(statement).scalar_one())


# The rim's boxes each searched through the GiST on `geom` (one nested index scan per box);
# its fixed text (cells, distance to the centre, condition) is compiled once (_rim_statement).
_RIM_SQL = (
    "WITH centre(lat, lon) AS (VALUES (%s::float8, %s::float8)), "
    "box(min_lat, max_lat, min_lon, max_lon) AS (VALUES {rows}) "
    "SELECT organisation.id, {cx}, {cy} FROM centre CROSS JOIN box JOIN organisation ON "
    "organisation.geom && ST_MakeEnvelope(box.min_lon, box.min_lat, box.max_lon, box.max_lat, "
    "4326) WHERE {distance} <= %s AND {counted}")


@cache
def _rim_statement(dialect: Dialect) -> str:
    """_RIM_SQL with its cells, distance and condition written in (made once)."""
    def sql(expression: ColumnElement[Any]) -> str:
        # Compiled for psycopg, the numbers of the cell and distance expressions stay typed
        # parameters even with literal_binds: they are written in here (fixed numbers
        # only), then % is escaped for the driver.
        compiled = expression.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        numbers = {name: repr(value) for name, value in compiled.params.items()
                   if isinstance(value, int | float)}
        return (str(compiled) % numbers).replace("%", "%%")

    cx, cy = grid.point_cell(ORGANISATION.c.lon, ORGANISATION.c.lat, sqlite_circle.FINEST)
    distance = haversine_from(literal_column("centre.lat"), literal_column("centre.lon"))
    return (_RIM_SQL.replace("{cx}", sql(cx)).replace("{cy}", sql(cy))
            .replace("{distance}", sql(distance)).replace("{counted}", sql(COUNTED)))




def _centre(circle: Circle) -> ColumnElement[Any]:
    """SQL: the circle's centre as a geography point."""
    return func.geography(func.ST_SetSRID(func.ST_MakePoint(circle.lon, circle.lat), 4326))


def _near(circle: Circle, reach: float) -> ColumnElement[bool]:
    """SQL: within `reach` metres of the centre on the sphere, through the GiST index."""
    return func.ST_DWithin(GEOG, _centre(circle), reach, False)


def _knn_reach(
    connection: Connection, circle: Circle, conditions: Sequence[ColumnElement[bool]],
    limit: int,
) -> float:
    """A reach that holds the `limit` nearest: the limit-th KNN distance, plus the slack.

    `limit` points lie within that KNN distance, so within it plus SLACK_M by haversine:
    any of the `limit` nearest by haversine is within twice the slack by KNN. Only the
    filters go in the WHERE: with the circle there too, the planner trades the GiST's
    nearest-first scan (which stops after `limit` rows) for a bitmap scan and a sort of the
    whole circle. The caller asks only when more than `limit` match within the circle, so
    the scan meets `limit` of them before it leaves the circle.
    """
    knn = GEOG.op("<->")(_centre(circle))
    nth = connection.execute(select(knn).select_from(ORGANISATION).where(*conditions)
                             .order_by(knn).limit(1).offset(limit - 1)).scalar()
    if nth is None:
        return circle.radius_m + SLACK_M
    return min(circle.radius_m, float(nth) + SLACK_M) + SLACK_M


def _create_extensions(connection: Connection) -> None:
    """The extensions the strategy needs (creating one needs rights the database may lack)."""
    present = set(connection.exec_driver_sql("SELECT extname FROM pg_extension").scalars())
    for name in EXTENSIONS:
        if name in present:
            continue
        try:
            with connection.begin_nested():
                connection.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS {name}")
        except ProgrammingError as error:
            reason = str(error.orig).splitlines()[0] if error.orig else type(error).__name__
            raise ConfigurationError(
                f"ESS_DATABASE_URL: the database lacks the extension {name} and this user may "
                f"not create it ({reason}); run CREATE EXTENSION {name} as its owner") from None
