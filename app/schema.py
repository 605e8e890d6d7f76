"""The schema's version: the alembic revisions of app/migrations, checked and applied.

Alembic owns the tables of SQLModel.metadata. A database made before migrations existed
(tables, no `alembic_version`) is stamped at the baseline when its tables have exactly
the baseline's columns, so no row is touched (tables it lacks are created, as those builds
did); then the later revisions run. The
dialect's derived structures (SQLite: R*Tree, FTS5, view, triggers) are not alembic's:
the view and triggers are dropped before revisions run (a revision may rebuild the
organisation table) and created again in the same transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, create_engine, inspect

from app.dialects import strategy_for

BASELINE = "0001_baseline"
UPGRADE_HINT = "run `ess-atlas db upgrade`"
EXIT_OUTDATED = 65  # EX_DATAERR of sysexits.h: the database is not in this build's form
_SCRIPTS = Path(__file__).parent / "migrations"


class OutdatedSchema(Exception):
    """The database's schema is not this build's, and may not or cannot be upgraded."""


def alembic_config() -> Config:
    """Alembic's configuration: where the revisions are.

    A new one for each run: it carries the connection to env.py, and two threads may run
    alembic at once.
    """
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


@functools.cache
def head_revision() -> str:
    """The revision this build's models need."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "app/migrations/versions holds no revision"  # noqa: S101
    return head


def _known(revision: str) -> bool:
    """Whether this build has the revision (a newer build may have stamped a later one)."""
    return any(script.revision == revision
               for script in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; None when it has no alembic_version table."""
    return MigrationContext.configure(connection).get_current_revision()


def _column_names(connection: Connection) -> dict[str, set[str]]:
    """Every table of the database with its column names."""
    inspector = inspect(connection)
    return {table: {column["name"] for column in inspector.get_columns(table)}
            for table in inspector.get_table_names()}


@functools.cache
def _baseline() -> MetaData:
    """The tables of the baseline revision, reflected from an in-memory SQLite it ran on."""
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as connection:
            run_alembic(connection, command.upgrade, BASELINE)
            tables = MetaData()
            tables.reflect(connection)
    finally:
        engine.dispose()
    tables.remove(tables.tables["alembic_version"])
    return tables


def baseline_differences(connection: Connection) -> list[str]:
    """How the tables of an unversioned database differ from the baseline's (empty: same).

    A missing table is no difference: builds before migrations created what they lacked.
    """
    existing = _column_names(connection)
    return [f"table {name} has columns {', '.join(sorted(existing[name]))}; the first release's "
            f"has {', '.join(sorted(table.columns.keys()))}"
            for name, table in sorted(_baseline().tables.items())
            if name in existing and existing[name] != set(table.columns.keys())]


def _is_empty(connection: Connection) -> bool:
    """True when none of the baseline's tables exists (a new database)."""
    return not set(_baseline().tables) & set(inspect(connection).get_table_names())


def version_problem(connection: Connection) -> str | None:
    """Why the database is not at this build's revision, in one line; None when it is."""
    current, head = current_revision(connection), head_revision()
    if current == head:
        return None
    if current is None:
        return _unversioned_problem(connection)
    if not _known(current):
        return (f"the schema is at revision {current}, which this build does not know "
                f"(made by a newer ess-atlas?); this build needs {head}")
    return f"the schema is at revision {current}, this build needs {head}: {UPGRADE_HINT}"


def _unversioned_problem(connection: Connection) -> str:
    """What to do with a database without alembic_version: empty, first release, or unknown."""
    if _is_empty(connection):
        return f"the database is empty: {UPGRADE_HINT}"
    differences = baseline_differences(connection)
    if not differences:
        return f"the database was made before schema migrations: {UPGRADE_HINT}"
    return ("the database was made before schema migrations and its tables are not the first "
            f"release's ({'; '.join(differences)}): no upgrade can read it")


def upgrade(connection: Connection) -> str | None:
    """Bring the schema to head in one transaction; return the revision it was at.

    An unversioned database whose tables are the baseline's gets the baseline tables it
    lacks and is stamped at the baseline, then upgraded; one with other tables raises
    OutdatedSchema and nothing is written.
    """
    before = current_revision(connection)
    connection.rollback()  # a read only: the write lock is taken when there is work to do
    if before != head_revision():
        with _migration_transaction(connection):
            before = _upgrade_locked(connection)
    return before


def _upgrade_locked(connection: Connection) -> str | None:
    """upgrade() in its transaction; the revision is read again (another process may be done)."""
    before = current_revision(connection)
    if before == head_revision():
        return before
    if before is None and not _is_empty(connection):
        _stamp_first_release(connection)
    strategy = strategy_for(connection.dialect.name)
    strategy.detach(connection)
    run_alembic(connection, command.upgrade, "head")
    strategy.attach(connection)
    return before


def _stamp_first_release(connection: Connection) -> None:
    """Mark a database made before migrations as at the baseline, creating what it lacks."""
    if baseline_differences(connection):
        raise OutdatedSchema(_unversioned_problem(connection))
    _baseline().create_all(connection, checkfirst=True)
    run_alembic(connection, command.stamp, BASELINE)


def run_alembic(
    connection: Connection, alembic_command: Callable[[Config, str], None], revision: str,
) -> None:
    """Run `alembic upgrade|stamp REVISION` on this connection (app/migrations/env.py)."""
    config = alembic_config()
    config.attributes["connection"] = connection
    alembic_command(config, revision)


@contextmanager
def _migration_transaction(connection: Connection) -> Iterator[None]:
    """One transaction around the revisions, taken for writing at once (SQLite).

    SQLite rebuilds a table to alter it: foreign keys are off meanwhile (a dropped
    organisation table would otherwise cascade into every table that refers to it).
    """
    if connection.dialect.name != "sqlite":
        with connection.begin():
            yield
        return
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            connection.rollback()
            raise
        connection.commit()
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
