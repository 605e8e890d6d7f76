"""One import at a time, across processes: a lock row with its owner's pid and a heartbeat.

The row is taken with an INSERT on a fixed primary key, so two processes cannot both
win. A lock whose owner is dead (same host, pid gone or a zombie) or whose heartbeat
stopped is stale: the next import removes it (only if it is still that same stale row)
and takes its place. A SIGKILL therefore never leaves the lock stuck.

On PostgreSQL the lock itself is a session advisory lock, held on a connection the import
keeps open: the server frees it when that connection ends, however the process ends, on
whichever host. The row then only tells who holds it; a row whose advisory lock nobody
holds is stale.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, delete, update

from app.errors import Conflict
from app.models import ImportLock, ImportRun, utc_now

HEARTBEAT_SECONDS = 5.0
# A run's log says it is over a moment before its lock is let go (the heartbeat stops, the
# row is deleted, the advisory lock freed): an import asked for in that moment waits for
# the lock, at most this long, instead of being refused.
FINISHING_WAIT_SECONDS = 5.0
_FINISHING_POLL_SECONDS = 0.05
STALE_AFTER = timedelta(seconds=60)
# The advisory lock's key on PostgreSQL ("ESS" 2); below 2**31, so pg_locks shows it as objid.
ADVISORY_KEY = 0x455353_02
_ADVISORY_HELD = ("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                  "AND classid = 0 AND objid = %(key)s AND objsubid = 1 AND database = "
                  "(SELECT oid FROM pg_database WHERE datname = current_database()))")


class ImportInProgress(Conflict):
    """Another import is writing to this database."""


def process_is_alive(pid: int) -> bool:
    """True when a process with this pid runs on this host (zombies count as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utc_now().tzinfo)


def lock_is_stale(lock: ImportLock) -> bool:
    """True when the lock's owner is gone or has stopped beating."""
    if _as_utc(lock.heartbeat_at) < utc_now() - STALE_AFTER:
        return True
    return lock.hostname == socket.gethostname() and not process_is_alive(lock.pid)


def current_lock(engine: Engine) -> ImportLock | None:
    """The lock row, if any (possibly stale)."""
    with Session(engine) as session:
        return session.get(ImportLock, 1)


def live_lock(engine: Engine) -> ImportLock | None:
    """The lock row when its owner is alive, else None."""
    lock = current_lock(engine)
    if lock is None:
        return None
    alive = _advisory_held(engine) if _advisory(engine) else not lock_is_stale(lock)
    return lock if alive else None


def _advisory(engine: Engine) -> bool:
    """True when the lock is PostgreSQL's advisory lock."""
    return engine.dialect.name == "postgresql"


def _advisory_held(engine: Engine) -> bool:
    """Whether some session holds the import's advisory lock on this database."""
    with engine.connect() as connection:
        return bool(connection.exec_driver_sql(_ADVISORY_HELD, {"key": ADVISORY_KEY}).scalar())


def _lock_row(run_id: str) -> ImportLock:
    """The lock row of this process for `run_id`."""
    now = utc_now()
    return ImportLock(run_id=run_id, pid=os.getpid(), hostname=socket.gethostname(),
                      acquired_at=now, heartbeat_at=now)


def _try_insert(engine: Engine, run_id: str) -> bool:
    """Insert the lock row; False when a row is already there."""
    try:
        with Session(engine) as session:
            session.add(_lock_row(run_id))
            session.commit()
    except IntegrityError:
        return False
    return True


def _remove_if_stale(engine: Engine) -> str | None:
    """Delete a stale lock row and return its run id; None when there was nothing to free."""
    with Session(engine) as session:
        lock = session.get(ImportLock, 1)
        if lock is None or not lock_is_stale(lock):
            return None
        session.exec(delete(ImportLock).where(
            col(ImportLock.run_id) == lock.run_id, col(ImportLock.pid) == lock.pid))
        session.commit()
        return lock.run_id


def _busy_message(lock: ImportLock | None) -> str:
    """Why the import is refused, naming the import that runs."""
    if lock is None:
        return "another import is starting; try again in a moment"
    return (f"another import is running (run {lock.run_id}, process {lock.pid} on "
            f"{lock.hostname}, started {lock.acquired_at:%Y-%m-%d %H:%M:%S} UTC); "
            "wait for it to finish")


class HeldImportLock:
    """The lock, held by this process for one run; a thread keeps its heartbeat fresh."""

    def __init__(self, engine: Engine, run_id: str, freed_run: str | None,
                 advisory: Connection | None = None) -> None:
        self.engine = engine
        self.run_id = run_id
        self.freed_run = freed_run
        self._advisory = advisory
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"import-lock-{run_id}",
                                        daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        """Refresh the heartbeat until released."""
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.refresh()
            except OperationalError:
                # A batch held the database longer than the busy timeout: the next beat
                # tries again (a lock goes stale only after STALE_AFTER without one).
                continue

    def refresh(self) -> None:
        """Record that the owner is alive."""
        with self.engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # Wait for the write lock before reading anything: an UPDATE in a deferred
                # transaction waits holding a read snapshot, and while a batch is written
                # there nearly always is one, so the import's checkpoints could never
                # restart the WAL (it grew to gigabytes over a million rows).
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            connection.execute(update(ImportLock).where(
                col(ImportLock.run_id) == self.run_id).values(heartbeat_at=utc_now()))
            connection.commit()

    def release(self) -> None:
        """Stop the heartbeat and delete the lock row."""
        self._stop.set()
        self._thread.join()
        with Session(self.engine) as session:
            session.exec(delete(ImportLock).where(
                col(ImportLock.run_id) == self.run_id))
            session.commit()
        advisory, self._advisory = self._advisory, None  # released once, however often asked
        if advisory is not None:
            # Unlocked before the connection goes back to the pool, where it would stay held.
            advisory.exec_driver_sql(f"SELECT pg_advisory_unlock({ADVISORY_KEY})")
            advisory.close()

    def __enter__(self) -> HeldImportLock:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def acquire_import_lock(engine: Engine, run_id: str) -> HeldImportLock:
    """Take the import lock for `run_id`, freeing a stale one; raise ImportInProgress if busy.

    A lock whose run is already over (or whose row is already gone) is about to be let go:
    wait for it, up to FINISHING_WAIT_SECONDS.
    """
    deadline = time.monotonic() + FINISHING_WAIT_SECONDS
    while True:
        try:
            return _acquire_once(engine, run_id)
        except ImportInProgress:
            if time.monotonic() >= deadline or not _holder_finishing(engine):
                raise
            time.sleep(_FINISHING_POLL_SECONDS)


def _holder_finishing(engine: Engine) -> bool:
    """Whether the lock is held by a run whose log already says it is over (or by no row)."""
    lock = current_lock(engine)
    if lock is None:
        return True
    with Session(engine) as session:
        run = session.get(ImportRun, lock.run_id)
    return run is not None and run.finished_at is not None


def _acquire_once(engine: Engine, run_id: str) -> HeldImportLock:
    """One attempt at the lock (freeing a stale one); ImportInProgress if busy."""
    if _advisory(engine):
        return _acquire_advisory(engine, run_id)
    freed: str | None = None
    for _attempt in range(3):
        # A live lock is seen without writing: the running import's transaction, which
        # holds the write lock for seconds, must not make a second import wait, then fail.
        if live_lock(engine) is None and _try_insert(engine, run_id):
            return HeldImportLock(engine, run_id, freed)
        removed = _remove_if_stale(engine)
        if removed is None:
            break
        freed = removed
    raise ImportInProgress(_busy_message(current_lock(engine)))


def _acquire_advisory(engine: Engine, run_id: str) -> HeldImportLock:
    """PostgreSQL: take the advisory lock on a connection kept open, then write the row."""
    connection = engine.connect()
    try:
        taken = connection.exec_driver_sql(f"SELECT pg_try_advisory_lock({ADVISORY_KEY})").scalar()
        connection.commit()
        if not taken:
            raise ImportInProgress(_busy_message(current_lock(engine)))
        freed = _replace_row(engine, run_id)
    except BaseException:
        connection.close()  # ends the session, and with it a lock it took
        raise
    return HeldImportLock(engine, run_id, freed, advisory=connection)


def _replace_row(engine: Engine, run_id: str) -> str | None:
    """Write this run's lock row in place of a stale one (whose run id is returned)."""
    with Session(engine) as session:
        stale = session.get(ImportLock, 1)
        freed = None if stale is None else stale.run_id
        session.exec(delete(ImportLock))
        session.add(_lock_row(run_id))
        session.commit()
    return freed
