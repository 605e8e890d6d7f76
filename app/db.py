"""Engine and session lifecycle; SQLite pragmas for the embedded default."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlmodel import Session, create_engine

from app import aggregates, schema
from app.config import ConfigurationError, Settings
from app.dialects import sqlite as sqlite_dialect
from app.dialects import strategy_for
from app.schema import OutdatedSchema

# Reads map the file (pages shared by every connection and process, no copy into each
# connection's cache) and keep a larger private cache of the pages they use most (KiB).
READ_MMAP_BYTES = 1 << 30
READ_CACHE_KIB = 32768
# How long a connection waits for a lock before "database is locked".
BUSY_TIMEOUT_MS = 10000
# A bulk write's connection (an import): a page cache that holds the key index and the
# aggregates' hot pages, no map of the file (every page an import touches would stay in its
# resident memory), and fewer, larger checkpoints (each one syncs the database file).
BULK_WRITE_PRAGMAS = {"cache_size": -65536, "mmap_size": 0, "wal_autocheckpoint": 8192}
# A whole-table scan's connection (an export): it reads each page once, so the readers'
# large cache would only hold what is never read again, and a mapped file would stay
# counted in the process's resident memory.
SCAN_PRAGMAS = {"cache_size": -2048, "mmap_size": 0}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL for concurrent readers, a busy timeout instead of 'database is locked'."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute(f"PRAGMA mmap_size={READ_MMAP_BYTES}")
    cursor.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
    cursor.close()
    sqlite_dialect.register_functions(dbapi_connection)


def _require_utf8(dbapi_connection: Any, _record: Any) -> None:
    """Refuse a PostgreSQL database whose encoding is not UTF8, before anything reads it.

    On SQL_ASCII the driver returns bytes for text, and nothing else would say why.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("SHOW server_encoding")
    (encoding,) = cursor.fetchone()
    cursor.close()
    if isinstance(encoding, bytes):
        encoding = encoding.decode("ascii", "replace")
    if encoding.upper() != "UTF8":
        raise ConfigurationError(
            f"ESS_DATABASE_URL: the database's encoding is {encoding}; ess-atlas needs UTF8 "
            f"(create it with: createdb --encoding=UTF8 --template=template0 NAME)")


def make_engine(database_url: str) -> Engine:
    """Create the engine for a database URL (creating the SQLite folder if needed)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        engine = create_engine(database_url, pool_pre_ping=True)
        # First in line: the dialect's own first-connect reads the server version as text.
        event.listen(engine, "connect", _require_utf8, insert=True)
        return engine
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(database_url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def masked_url(database_url: str) -> str:
    """The URL with its password hidden, fit to print."""
    return make_url(database_url).render_as_string(hide_password=True)


def database_url_problem(database_url: str) -> str | None:
    """Why SQLAlchemy cannot use this URL (not a URL, unknown kind, no driver), or None."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return "not a database URL (expected sqlite:///PATH or postgresql://USER@HOST/DB)"
    try:
        url.get_dialect().import_dbapi()
    except NoSuchModuleError:
        return f"unknown kind of database {url.drivername!r} (expected sqlite or postgresql)"
    except ImportError as error:
        return f"{url.drivername} needs the Python package {error.name}, which is not installed"
    return None


@contextmanager
def reporting_open_errors(database_url: str) -> Iterator[None]:
    """Turn a database that cannot be opened into a ConfigurationError naming ESS_DATABASE_URL."""
    try:
        yield
    except OperationalError as error:
        reason = str(error.orig).splitlines()[0] if error.orig else type(error).__name__
        raise ConfigurationError(
            f"ESS_DATABASE_URL: cannot open {masked_url(database_url)}: {reason}") from None
    except OSError as error:
        raise ConfigurationError(
            f"ESS_DATABASE_URL: cannot open {masked_url(database_url)}: {error.strerror}"
        ) from None


def open_database(settings: Settings, *, migrate: bool | None = None) -> Engine:
    """The engine of the configured database at this build's schema.

    An out-of-date schema is upgraded when `migrate` (default: ESS_AUTO_MIGRATE) allows,
    else OutdatedSchema; ConfigurationError when the database cannot be opened.
    """
    with reporting_open_errors(settings.database_url):
        engine = make_engine(settings.database_url)
        try:
            create_schema(engine, migrate=settings.migrates_schema if migrate is None else migrate)
        except BaseException:
            engine.dispose()
            raise
    return engine


def create_schema(engine: Engine, *, migrate: bool = True) -> None:
    """Bring the schema to this build's revision, then the dialect's extras and aggregates.

    With `migrate` false, an out-of-date schema raises OutdatedSchema and nothing is written.
    """
    with engine.connect() as connection:
        if migrate:
            schema.upgrade(connection)
        else:
            problem = schema.version_problem(connection)
            if problem:
                raise OutdatedSchema(problem)
        strategy_for(engine.dialect.name).install(connection)
    aggregates.ensure(engine)


@contextmanager
def sqlite_pragmas(connection: Connection, pragmas: dict[str, int]) -> Iterator[None]:
    """On SQLite, these per-connection PRAGMAs for the block, then the values from before.

    A pooled connection goes back to the pool as it came. Other databases are left alone.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    before = _set_pragmas(connection, pragmas)
    try:
        yield
    finally:
        _set_pragmas(connection, before)


def _set_pragmas(connection: Connection, pragmas: dict[str, int]) -> dict[str, int]:
    """Set PRAGMAs, returning their values before; leave no transaction open if none was."""
    idle = not connection.in_transaction()
    before = {name: int(connection.exec_driver_sql(f"PRAGMA {name}").scalar_one())
              for name in pragmas}
    for name, value in pragmas.items():
        connection.exec_driver_sql(f"PRAGMA {name} = {int(value)}")
    if idle:  # end the transaction SQLAlchemy began for the PRAGMAs (the driver began none)
        connection.commit()
    return before


def checkpoint_wal(connection: Connection, *, truncate: bool = False) -> None:
    """On SQLite, copy every committed page of the WAL into the database file.

    Without `truncate`, a PASSIVE checkpoint, between an import's batches: a write
    transaction starts the WAL over only when its snapshot needs nothing from it, and the
    checkpoint that follows a batch is overtaken by the small writes made meanwhile (the
    lock's heartbeat, the progress of the run). Without it every batch appended to the
    WAL: it reached 8 GB beside a 2 GB file at about 400,000 structures.
    With `truncate`, at the end of an import: the WAL file, as large as the largest batch
    (2.9 GB at 1,000,000 structures), is cut to nothing once the readers of older
    snapshots are done (waiting for them at most the busy timeout; if they are not,
    the file stays as it is until a later checkpoint).
    Called on a connection with no transaction.
    """
    if connection.dialect.name != "sqlite":
        return
    mode = "TRUNCATE" if truncate else "PASSIVE"
    connection.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})").close()
    connection.commit()  # end the transaction SQLAlchemy began (the driver began none)


@contextmanager
def session_scope(bind: Engine | Connection) -> Iterator[Session]:
    """A session on an engine or one connection: commits on success, rolls back on error."""
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
