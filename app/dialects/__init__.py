"""The SQL that differs between databases, chosen per dialect in this one package.

Queries stay dialect-neutral: they put `elements.box_condition` / `elements.text_match`
in their WHERE clauses, and SQLAlchemy compiles them with the function a dialect module
registered (`app/dialects/sqlite.py`: R*Tree, FTS5; `app/dialects/postgresql.py`: PostGIS
GiST, pg_trgm), else with the portable SQL of `app/dialects/portable.py`. Whole-query
strategies (schema extras, relevance order, nearest first) come from `strategy_for(dialect
name)`. A dialect without a module here gets the portable strategy: correct, not
index-driven at scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select
from sqlalchemy.engine import Connection

from app.dialects.portable import PortableStrategy
from app.dialects.postgresql import PostgresqlStrategy
from app.dialects.sqlite import SqliteStrategy
from app.spatial import BBox, Circle

NearbyRows = tuple[list[tuple[Sequence[Any], float]], int]


class Strategy(Protocol):
    """What a dialect module supplies beyond compiling the elements."""

    def install(self, connection: Connection) -> None:
        """Create the dialect's index structures once (idempotent), filling them if new."""

    def detach(self, connection: Connection) -> None:
        """Drop what would stop schema revisions, in the caller's transaction."""

    def attach(self, connection: Connection) -> None:
        """install() in the caller's transaction (after schema revisions ran)."""

    def bulk_indexing(self, connection: Connection, after: int) -> AbstractContextManager[None]:
        """Around a bulk insert: its rows (ids above `after`) are indexed set-based after it."""

    def id_ordered(
        self, connection: Connection, statement: Select[Any], *, folded_text: str | None,
        bbox: BBox | None, after: int | None, matched: int | None = None,
    ) -> Select[Any]:
        """The statement narrowed to the text and box, after the id `after`, in id order.

        `matched`: how many structures the whole listing matches, when already counted.
        """

    def ranked(self, statement: Select[Any], folded_text: str) -> Select[Any]:
        """The statement ordered by relevance to the text, best first, then by id."""

    def nearby(
        self, connection: Connection, circle: Circle, columns: Sequence[ColumnElement[Any]],
        conditions: Sequence[ColumnElement[bool]], limit: int,
    ) -> NearbyRows:
        """The `limit` nearest in the circle (values of `columns`, metres) and the total."""


    def count_text(self, connection: Connection, folded_text: str) -> int:
        """How many structures hold the (folded) text."""


_STRATEGIES: dict[str, Strategy] = {"sqlite": SqliteStrategy(),
                                    "postgresql": PostgresqlStrategy()}
_PORTABLE = PortableStrategy()


def strategy_for(dialect_name: str) -> Strategy:
    """The strategy of a dialect, or the portable one."""
    return _STRATEGIES.get(dialect_name, _PORTABLE)
