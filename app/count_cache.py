"""Exact counts that are slow to make, kept in the database per data version.

Counting the matches of a text reads every match from the full-text index (about 150 ms
for 26,000 matches at 1,000,000 structures). Such a count is stored with the data version
(app/data_version.py) read before it was made: every server process reads it back while
the data stays the same, and every write moves the version, so a stale count is never
served. Keeping a count is best effort: while another connection holds the write lock (an
import), the count is answered without being kept rather than waiting for the lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select
from sqlalchemy.exc import OperationalError

from app.data_version import data_version
from app.db import BUSY_TIMEOUT_MS
from app.models import CountCache
from app.upsert import upsert_into

TABLE: Table = CountCache.__table__  # type: ignore[attr-defined]
# Distinct counts kept for one data version; beyond, counts are made but not kept.
MAX_ROWS = 10_000


def cached_count(connection: Connection, what: str, count: Callable[[], int]) -> int:
    """The count named `what` (any text naming the filters): kept, or made and kept."""
    version = data_version(connection).tag
    key = hashlib.blake2b(what.encode(), digest_size=16).hexdigest()
    found = connection.execute(select(TABLE.c.n).where(
        TABLE.c.key == key, TABLE.c.version == version)).scalar()
    if found is not None:
        return int(found)
    made = count()
    _keep(connection.engine, key, version, made)
    return made


def _keep(engine: Engine, key: str, version: str, n: int) -> None:
    """Store a count, dropping those of older versions; give up if the database is busy."""
    statement = upsert_into(TABLE, engine.dialect.name).values(key=key, version=version, n=n)
    statement = statement.on_conflict_do_update(index_elements=["key"],
                                                set_={"version": version, "n": n})
    try:
        with engine.connect() as writer, _without_waiting(writer), writer.begin():
            writer.execute(TABLE.delete().where(TABLE.c.version != version))
            kept = writer.execute(select(func.count()).select_from(TABLE)).scalar_one()
            if kept < MAX_ROWS:
                writer.execute(statement)
    except OperationalError as error:
        if "locked" not in str(error.orig):
            raise


@contextmanager
def _without_waiting(connection: Connection) -> Iterator[None]:
    """On SQLite, a busy database fails at once on this connection instead of waiting."""
    if connection.dialect.name != "sqlite":
        yield
        return
    # On the driver's connection: a PRAGMA through SQLAlchemy would begin a transaction.
    driver: Any = connection.connection.driver_connection
    driver.execute("PRAGMA busy_timeout = 0")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
