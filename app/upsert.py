"""INSERT … ON CONFLICT on the database in use: SQLite's construct, or PostgreSQL's."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert_into(table: Table, dialect_name: str) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into `table` that takes on_conflict_do_update / _do_nothing."""
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return insert(table)
