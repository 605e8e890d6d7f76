"""The portable SQL every database understands: the path of a dialect with no module here.

Correct, but not index-driven at scale: boxes are BETWEEN on lat/lon (one B-tree index),
text is LIKE '%…%' on the folded `search_text` (a scan), nearby reads the candidates of
the circle's box and sorts them in Python, relevance puts texts that start with the
query first. A dialect module (app/dialects/sqlite.py) replaces each of these.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from app.dialects.elements import StripBox, TextMatch, WithinBox, box_condition, text_match
from app.models import ACTIVE, Organisation
from app.spatial import BBox, Circle, haversine_m

ORGANISATION = Organisation.__table__  # type: ignore[attr-defined]
NearbyRows = tuple[list[tuple[Sequence[Any], float]], int]


def _escape_like(text: str) -> str:
    """Escape LIKE wildcards so user text matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@compiles(WithinBox)
def _within_box(element: WithinBox, compiler: SQLCompiler, **kw: Any) -> str:
    """Lat and lon BETWEEN the box's bounds."""
    min_lat, max_lat, min_lon, max_lon = element.clauses
    condition = and_(ORGANISATION.c.lat.between(min_lat, max_lat),
                     ORGANISATION.c.lon.between(min_lon, max_lon))
    return compiler.process(condition, **kw)


@compiles(StripBox)
def _strip_box(element: StripBox, compiler: SQLCompiler, **kw: Any) -> str:
    """Active, and within the box as the dialect reads a `WithinBox` (PostgreSQL: its own)."""
    within = WithinBox(*element.clauses)
    return compiler.process(and_(ORGANISATION.c.status == ACTIVE, within), **kw)


@compiles(TextMatch)
def _text_match(element: TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    """search_text LIKE '%text%', wildcards of the text escaped."""
    (text,) = element.clauses
    return compiler.process(ORGANISATION.c.search_text.like(like_pattern(text), escape="\\"),
                            **kw)


def like_pattern(text: Any) -> Any:
    """SQL: '%text%' with LIKE's wildcards of the text escaped (a backslash escapes)."""
    # The escaping runs in SQL so the statement stays cacheable with the text bound.
    escaped = _sql_replace(_sql_replace(_sql_replace(text, "\\", "\\\\"), "%", "\\%"), "_", "\\_")
    return "%" + escaped + "%"


def _sql_replace(value: Any, old: str, new: str) -> Any:
    """SQL replace(value, old, new)."""
    return func.replace(value, old, new, type_=String)


class PortableStrategy:
    """Whole-query strategies in portable SQL."""

    def install(self, connection: Connection) -> None:
        """Nothing beyond the tables and indexes of the models."""

    def detach(self, connection: Connection) -> None:
        """Nothing to drop before schema revisions."""

    def attach(self, connection: Connection) -> None:
        """Nothing beyond the tables and indexes of the models."""

    def bulk_indexing(self, connection: Connection, after: int) -> AbstractContextManager[None]:
        """Nothing to do: the portable SQL reads the table itself."""
        return nullcontext()

    def id_ordered(
        self, connection: Connection, statement: Select[Any], *, folded_text: str | None,
        bbox: BBox | None, after: int | None, matched: int | None = None,
    ) -> Select[Any]:
        """The statement narrowed to the text and box, after the id `after`, in id order."""
        table = ORGANISATION
        if folded_text:
            statement = statement.where(text_match(folded_text))
        if bbox:
            statement = statement.where(box_condition(bbox))
        if after is not None:
            statement = statement.where(table.c.id > after)
        return statement.order_by(table.c.id)

    def ranked(self, statement: Select[Any], folded_text: str) -> Select[Any]:
        """Texts that start with the query first, then by id."""
        starts = ORGANISATION.c.search_text.like(_escape_like(folded_text) + "%", escape="\\")
        return statement.order_by(case((starts, 0), else_=1), ORGANISATION.c.id)

    def nearby(
        self, connection: Connection, circle: Circle, columns: Sequence[ColumnElement[Any]],
        conditions: Sequence[ColumnElement[bool]], limit: int,
    ) -> NearbyRows:
        """The candidates of the circle's box, measured and sorted in Python."""
        table = ORGANISATION
        statement = select(*columns, table.c.id, table.c.lat, table.c.lon).where(
            box_condition(circle.box()), *conditions)
        hits = []
        for row in connection.execute(statement):
            distance = haversine_m(circle.lat, circle.lon, row[-2], row[-1])
            if distance <= circle.radius_m:
                hits.append((row[:-3], distance, row[-3]))
        hits.sort(key=lambda hit: (hit[1], hit[2]))
        return [(values, distance) for values, distance, _ in hits[:limit]], len(hits)

    def count_text(self, connection: Connection, folded_text: str) -> int:
        """COUNT of the text match, its table named (a dialect's match may not name it)."""
        statement = select(func.count()).select_from(ORGANISATION).where(text_match(folded_text))
        return int(connection.execute(statement).scalar_one())
