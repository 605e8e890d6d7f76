"""One import at a time, across processes; a lock left by a dead process is taken over."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from postgres_cluster import BOTH_BACKENDS
from sqlalchemy import Engine, create_engine, event
from sqlmodel import Session

from app.config import Settings
from app.importer import lock as lock_module
from app.importer.lock import ImportInProgress, acquire_import_lock, live_lock
from app.importer.pipeline import ImportMode, open_run
from app.importer.runs import DONE, finish_run, get_run
from app.models import ImportLock, ImportRun, utc_now

BACKENDS = BOTH_BACKENDS

HOLD_LOCK = """
import sys, time
from app.db import create_schema, make_engine
from app.importer.lock import acquire_import_lock
engine = make_engine(sys.argv[1])
create_schema(engine)
acquire_import_lock(engine, "f" * 32)
print("held", flush=True)
time.sleep(120)
"""


def leave_lock(engine: Engine, *, pid: int, hostname: str, age: timedelta) -> None:
    """Store a lock row as another process would have left it."""
    beat = utc_now() - age
    with Session(engine) as session:
        session.add(ImportLock(run_id="e" * 32, pid=pid, hostname=hostname, acquired_at=beat,
                               heartbeat_at=beat))
        session.commit()


@pytest.fixture
def lock_holder(import_settings: Settings, engine: Engine) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the import lock on the test database."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, import_settings.database_url],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    yield holder
    holder.kill()
    holder.wait()
    holder.stdout.close()


def test_a_second_import_is_refused_while_the_first_holds_the_lock(engine: Engine) -> None:
    with acquire_import_lock(engine, "a" * 32), pytest.raises(ImportInProgress) as caught:
        acquire_import_lock(engine, "b" * 32)
    assert caught.value.status_code == 409
    assert caught.value.message.startswith(f"another import is running (run {'a' * 32}, process ")
    assert live_lock(engine) is None


def test_the_lock_is_released_when_the_import_ends(engine: Engine) -> None:
    with acquire_import_lock(engine, "a" * 32):
        pass
    with acquire_import_lock(engine, "b" * 32) as held:
        assert held.freed_run is None


def test_a_lock_left_by_a_dead_process_is_taken_over_and_its_run_interrupted(
    engine: Engine
) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    leave_lock(engine, pid=child.pid, hostname=socket.gethostname(), age=timedelta(seconds=1))
    with Session(engine) as session:
        session.add(ImportRun(id="e" * 32, origin="cli", mode="default", status="running"))
        session.commit()
    held = open_run(engine, origin="cli", mode=ImportMode.DEFAULT, files=[])
    held.release()
    assert held.freed_run == "e" * 32
    view = get_run(engine, "e" * 32)
    assert view is not None
    assert (view.status, view.run.message) == ("interrupted", "the process running it stopped")


def test_a_lock_whose_heartbeat_stopped_is_taken_over(engine: Engine) -> None:
    leave_lock(engine, pid=1, hostname="elsewhere", age=timedelta(minutes=2))
    with acquire_import_lock(engine, "b" * 32) as held:
        assert held.freed_run == "e" * 32


@pytest.mark.sqlite_only("on PostgreSQL the advisory lock, not the row, says an import runs: "
                         "test_another_process_holding_the_lock_… covers it there")
def test_a_fresh_lock_of_another_host_is_respected(engine: Engine) -> None:
    leave_lock(engine, pid=1, hostname="elsewhere", age=timedelta(seconds=5))
    with pytest.raises(ImportInProgress):
        acquire_import_lock(engine, "b" * 32)


def test_another_process_holding_the_lock_refuses_ours_until_it_is_killed(
    engine: Engine, lock_holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(ImportInProgress):
        acquire_import_lock(engine, "b" * 32)
    lock_holder.send_signal(signal.SIGKILL)
    lock_holder.wait()
    # PostgreSQL ends the dead client's session (and frees its advisory lock) a moment later.
    deadline = time.monotonic() + 10
    while live_lock(engine) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    with acquire_import_lock(engine, "b" * 32) as held:
        assert held.freed_run == "f" * 32


@pytest.mark.sqlite_only("SQLite's write lock: BEGIN IMMEDIATE held by another connection")
def test_a_second_import_is_refused_at_once_while_the_first_writes_a_long_transaction(
    engine: Engine,
) -> None:
    impatient = create_engine(engine.url, connect_args={"timeout": 0.05})
    database = engine.url.database
    assert database is not None
    with acquire_import_lock(engine, "a" * 32), sqlite3.connect(
            database, isolation_level=None) as writer:
        writer.execute("BEGIN IMMEDIATE")  # the first import writing a batch
        try:
            with pytest.raises(ImportInProgress, match="another import is running"):
                acquire_import_lock(impatient, "b" * 32)
        finally:
            writer.execute("COMMIT")
            impatient.dispose()


@pytest.mark.sqlite_only("SQLite's busy timeout; PostgreSQL's advisory lock needs no heartbeat")
def test_the_heartbeat_outlives_a_write_longer_than_the_busy_timeout(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    impatient = create_engine(engine.url, connect_args={"timeout": 0.05})
    monkeypatch.setattr(lock_module, "HEARTBEAT_SECONDS", 0.05)
    held = acquire_import_lock(impatient, "d" * 32)
    database = engine.url.database
    assert database is not None
    with sqlite3.connect(database, isolation_level=None) as writer:
        writer.execute("BEGIN IMMEDIATE")
        time.sleep(0.5)  # several beats find the database locked
        writer.execute("COMMIT")
    freed = utc_now()
    time.sleep(0.5)
    try:
        with Session(engine) as session:
            lock = session.get(ImportLock, 1)
            assert lock is not None
            assert lock_module._as_utc(lock.heartbeat_at) > freed
    finally:
        held.release()
        impatient.dispose()


def test_an_import_asked_for_as_the_last_one_lets_go_waits_for_the_lock(engine: Engine) -> None:
    """A client that sees a run done and starts the next import at once is not refused in the
    moment between the run's log saying `done` and its lock being let go."""
    held = open_run(engine, origin="cli", mode=ImportMode.DEFAULT, files=["a.csv"])
    finish_run(engine, held.run_id, status=DONE, report=None, rejected_csv=None)
    letting_go = threading.Timer(0.5, held.release)
    started = time.monotonic()
    letting_go.start()
    try:
        with acquire_import_lock(engine, "b" * 32) as second:
            waited = time.monotonic() - started
            assert second.run_id == "b" * 32
    finally:
        letting_go.join()
    assert waited >= 0.4


def test_a_running_import_is_not_waited_for(engine: Engine) -> None:
    started = time.monotonic()
    held = open_run(engine, origin="cli", mode=ImportMode.DEFAULT, files=["a.csv"])
    with held, pytest.raises(ImportInProgress, match="another import is running"):
        acquire_import_lock(engine, "b" * 32)
    assert time.monotonic() - started < lock_module.FINISHING_WAIT_SECONDS


def test_a_run_finishing_while_it_is_read_never_looks_interrupted(engine: Engine) -> None:
    held = open_run(engine, origin="api", mode=ImportMode.DRY_RUN, files=[])

    def finish_once_read(conn: object, cursor: object, statement: str, *rest: object) -> None:
        # The run finishes as it ends, right after a reader has read its row.
        if "FROM import_run" in statement and not finished:
            finished.append(True)
            finish_run(engine, held.run_id, status=DONE, report={"inserted": 0},
                       rejected_csv=None)
            held.release()

    finished: list[bool] = []
    event.listen(engine, "after_cursor_execute", finish_once_read)
    try:
        view = get_run(engine, held.run_id)
    finally:
        event.remove(engine, "after_cursor_execute", finish_once_read)
    assert finished
    assert view is not None
    assert view.status == "running"  # as the row read said; never "interrupted"
    after = get_run(engine, held.run_id)
    assert after is not None
    assert (after.status, after.run.report) == ("done", '{"inserted": 0}')
