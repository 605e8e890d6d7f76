"""How alembic runs the revisions: on the connection app/schema.py hands it, else ESS_DATABASE_URL.

`batch` mode renders every ALTER as SQLite's copy-and-move (and as plain ALTERs on
PostgreSQL), so one revision runs on both databases.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

from app import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from app.dialects import postgresql, sqlite

# What the dialects' install() adds to the models' tables (PostGIS: generated columns;
# SQLite: band indexes).
_DIALECT_OWNED = {"column": postgresql.OWNED_COLUMNS,
                  "index": (*postgresql.OWNED_INDEXES, *sqlite.OWNED_INDEXES)}


def owned_by_alembic(name: str | None, type_: str, _parents: object) -> bool:
    """Only the models' tables, columns and indexes: the dialects' extras are not alembic's."""
    if type_ == "table":
        return name in SQLModel.metadata.tables
    return name not in _DIALECT_OWNED.get(type_, ())


def run_on(connection: Connection) -> None:
    """Run the pending revisions on this connection, in its transaction."""
    context.configure(connection=connection, target_metadata=SQLModel.metadata,
                      render_as_batch=True, compare_type=True, include_name=owned_by_alembic)
    with context.begin_transaction():
        context.run_migrations()


def run_from_settings() -> None:
    """The `alembic` command line (writing a revision): the configured database."""
    from app.config import load_settings
    from app.db import make_engine

    engine = make_engine(load_settings().database_url)
    try:
        with engine.connect() as connection:
            run_on(connection)
            connection.commit()
    finally:
        engine.dispose()


_connection = context.config.attributes.get("connection")
if _connection is not None:
    run_on(_connection)
else:
    run_from_settings()
