"""Database health: reachable, with the schema the models expect, and intact.

The schema check reads the schema's revision (this build's head, else 503 saying to run
`ess-atlas db upgrade`) and compares every table and column of SQLModel.metadata with the
database (a few catalogue reads, 2-10 ms). The integrity check is SQLite's
`PRAGMA quick_check`, which reads every page (1,000,000 structures: a 3.5 GB file, 8.5 s
with the file in the page cache, 44 s without): it runs in a background thread on a
connection of its own (so no page cached by the server's connections hides a damaged
file), at most once every `integrity_interval` seconds and never twice at once. A request
waits at most INTEGRITY_WAIT_SECONDS for a check it started, then answers with the last
verdict (none yet counts as intact).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, Inspector, create_engine, inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from app import models, schema  # noqa: F401  (models registers the tables on SQLModel.metadata)

logger = logging.getLogger(__name__)
INTEGRITY_WAIT_SECONDS = 0.5


def _first_line(error: DBAPIError) -> str:
    """The database's own complaint, without SQLAlchemy's statement and link."""
    return str(error.orig).splitlines()[0] if error.orig else type(error).__name__


def schema_problems(engine: Engine) -> list[str]:
    """The schema's version when it is not this build's; the tables and columns it lacks."""
    with engine.connect() as connection:
        version = schema.version_problem(connection)
        inspector = inspect(connection)
        return ([version] if version else []) + _missing_columns(inspector)


def _missing_columns(inspector: Inspector) -> list[str]:
    """The tables and columns of the models that the database lacks."""
    existing = set(inspector.get_table_names())
    problems: list[str] = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name not in existing:
            problems.append(f"table {table.name} is missing")
            continue
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        problems += [f"table {table.name} lacks column {column.name}"
                     for column in table.columns if column.name not in columns]
    return problems


def integrity_problem(engine: Engine) -> str | None:
    """None when SQLite's quick_check finds the file intact, else its first complaint."""
    if engine.dialect.name != "sqlite":
        return None
    try:
        with engine.connect() as connection:
            verdict = connection.exec_driver_sql("PRAGMA quick_check(1)").scalar()
    except DBAPIError as error:
        return _first_line(error)
    return None if verdict == "ok" else " ".join(str(verdict).split())


class DatabaseHealth:
    """Answers what is wrong with one database now; rate-limits the costly integrity check."""

    def __init__(
        self, engine: Engine, integrity_interval: float,
        *, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.integrity_interval = integrity_interval
        self._clock = clock
        self._checker = create_engine(engine.url, poolclass=NullPool)
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._integrity: str | None = None
        self._running: threading.Thread | None = None

    def problems(self) -> list[str]:
        """Every problem found (empty when the database is healthy)."""
        try:
            schema = schema_problems(self.engine)
        except DBAPIError as error:
            return [f"database unreachable: {_first_line(error)}"]
        integrity = self._integrity_verdict()
        return schema + ([f"integrity check failed: {integrity}"] if integrity else [])

    def _integrity_verdict(self) -> str | None:
        """The latest quick_check verdict; starts a new check when the last is too old."""
        started = None
        with self._lock:
            now = self._clock()
            due = self._checked_at is None or now - self._checked_at >= self.integrity_interval
            if due and self._running is None:
                self._checked_at = now
                started = self._running = threading.Thread(
                    target=self._check, name="integrity-check", daemon=True)
                started.start()
        if started is not None:
            started.join(INTEGRITY_WAIT_SECONDS)
        with self._lock:
            return self._integrity

    def _check(self) -> None:
        """Run quick_check and keep its verdict (in the background thread)."""
        try:
            verdict = integrity_problem(self._checker)
        except Exception as error:  # a crashed check must not stop the later ones
            verdict = f"the check could not run: {type(error).__name__}"
        if verdict:
            logger.error("database integrity check failed: %s", verdict)
        with self._lock:
            self._integrity = verdict
            self._running = None
