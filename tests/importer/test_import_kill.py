"""SIGKILL at random moments: an intact database, whole acknowledged batches, converging re-runs.

Most trials fork a child that imports (the gazetteer is already loaded, so a trial takes a
fraction of a second) and kill it with SIGKILL at a random moment of its run: while it
starts, reads, writes a batch (gathered from several prepared chunks), checks duplicates
or logs its report. A few trials kill the real `ess-atlas import` command. The kill points
come from a seeded generator, so a failure can be replayed.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from import_helpers import REPOSITORY
from index_agreement import index_disagreements
from sqlalchemy import Connection

from app.config import Settings
from app.db import create_schema, make_engine
from app.dialects.sqlite import SqliteStrategy
from app.importer import pipeline
from app.importer.context import import_context
from app.importer.lock import process_is_alive
from app.importer.pipeline import ImportContext, import_paths
from app.importer.progress import BatchReceipt

ROWS = 1200
COMMAND_ROWS = 5200  # enough for the command to prepare rows in a worker process
BATCH = 25
CHUNK = 10  # forked imports prepare chunks of 10 rows: a transaction gathers 10 + 10 + 5
COMMAND_BATCH = 100
FORKED_TRIALS = 24
COMMAND_TRIALS = 3
SEED = 20240613
COMMUNES = [("69001", "Lyon"), ("44000", "Nantes"), ("04270", "Majastres"), ("75011", "Paris"),
            ("13002", "Marseille"), ("97200", "Fort-de-France"), ("26340", "Rochefourchat")]

State = tuple[list[tuple[str, str, str]], list[tuple[str, str, str]], int]


def write_directory(path: Path, rows: int = ROWS) -> Path:
    """Structures with one key each; every 40th repeats the previous one's name and commune."""
    lines = ["id;source;nom;cp;commune;secteur"]
    for index in range(rows):
        base = index - 1 if index % 40 == 1 else index
        postcode, city = COMMUNES[base % len(COMMUNES)]
        lines.append(f"r{index};reseau;Structure solidaire {base};{postcode};{city};habitat")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def line_ids(first_line: int, last_line: int) -> set[str]:
    """The source ids of the rows on these lines (row r{i} is on line i + 2)."""
    return {f"r{line - 2}" for line in range(first_line, last_line + 1)}


def final_state(database: Path) -> State:
    """What a converged import must leave: structures, duplicate pairs, pending checks."""
    with sqlite3.connect(database) as connection:
        structures = connection.execute(
            "SELECT key, content_hash, categories FROM organisation ORDER BY key").fetchall()
        pairs = connection.execute(
            "SELECT a.key, b.key, d.rule FROM duplicate_candidate d JOIN organisation a ON "
            "a.id = d.first_id JOIN organisation b ON b.id = d.second_id ORDER BY 1, 2").fetchall()
        pending = connection.execute("SELECT count(*) FROM duplicate_check_pending").fetchone()
    return structures, pairs, pending[0]


def check_after_kill(
    database: Path, acknowledged: list[tuple[int, int]], rows: int = ROWS, batch: int = BATCH
) -> None:
    """Integrity, acknowledged batches present, whole batches only, run log consistent."""
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {row[0] for row in connection.execute("SELECT source_id FROM organisation")}
        links = connection.execute("SELECT count(*) FROM organisation_category").fetchone()[0]
        committed = connection.execute(
            "SELECT coalesce(sum(rows_committed), 0) FROM import_run").fetchone()[0]
    for first_line, last_line in acknowledged:
        assert line_ids(first_line, last_line) <= stored
    whole_batches = -(-len(stored) // batch)
    assert stored == {f"r{i}" for i in range(min(rows, whole_batches * batch))}
    assert len(stored) % batch == 0 or len(stored) == rows
    assert (links, committed) == (len(stored), len(stored))
    assert index_disagreements(database) == []


def _child_import(database: Path, directory: Path, acks: Path, context: ImportContext) -> None:
    """The body of a forked child: import, writing one line per committed batch."""
    pipeline.CHUNK_ROWS = CHUNK  # this child only
    descriptor = os.open(acks, os.O_WRONLY | os.O_APPEND | os.O_CREAT)

    class Acknowledger:
        def rows_expected(self, total: int) -> None:
            pass

        def rows_processed(self, count: int) -> None:
            pass

        def batch_committed(self, receipt: BatchReceipt) -> None:
            os.write(descriptor, f"{receipt.first[1]} {receipt.last[1]}\n".encode())

    engine = make_engine(f"sqlite:///{database}")
    import_paths([directory], engine=engine, context=context, progress=Acknowledger())


def read_acks(acks: Path) -> list[tuple[int, int]]:
    if not acks.exists():
        return []
    return [(int(a), int(b)) for a, b in (line.split() for line in acks.read_text().splitlines())]


@pytest.fixture(scope="module")
def small_batches(tmp_path_factory: pytest.TempPathFactory) -> ImportContext:
    context = import_context(Settings(_env_file=None,  # type: ignore[call-arg]
                                      database_url="sqlite://", import_batch_size=BATCH))
    context.gazetteer.by_code("69123")
    return context


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_directory(tmp_path_factory.mktemp("kill") / "reseau.csv")


@pytest.fixture(scope="module")
def reference(
    tmp_path_factory: pytest.TempPathFactory, directory: Path, small_batches: ImportContext
) -> tuple[State, float]:
    """The state of an import never killed, and how long it took in a forked child."""
    database = tmp_path_factory.mktemp("reference") / "atlas.sqlite3"
    create_schema(make_engine(f"sqlite:///{database}"))
    start = time.perf_counter()
    child = multiprocessing.get_context("fork").Process(
        target=_child_import, args=(database, directory, database.with_suffix(".acks"),
                                    small_batches))
    child.start()
    child.join()
    assert child.exitcode == 0
    state = final_state(database)
    assert (len(state[0]), len(state[1]), state[2]) == (ROWS, ROWS // 40, 0)
    return state, time.perf_counter() - start


def converge(database: Path, directory: Path, context: ImportContext) -> State:
    """Run the import again to the end, in this process."""
    engine = make_engine(f"sqlite:///{database}")
    report = import_paths([directory], engine=engine, context=context)
    engine.dispose()
    assert report.rejections == []
    return final_state(database)


def test_sigkill_at_random_moments_of_a_forked_import(
    tmp_path: Path, directory: Path, small_batches: ImportContext,
    reference: tuple[State, float],
) -> None:
    expected, duration = reference
    generator = random.Random(SEED)  # noqa: S311  (reproducible kill points, not secrets)
    kill_points = sorted(generator.uniform(0, duration * 1.1) for _ in range(FORKED_TRIALS))
    outcomes = []
    for trial, delay in enumerate(kill_points):
        database, acks = tmp_path / f"trial{trial}.sqlite3", tmp_path / f"trial{trial}.acks"
        create_schema(make_engine(f"sqlite:///{database}"))
        child = multiprocessing.get_context("fork").Process(
            target=_child_import, args=(database, directory, acks, small_batches))
        child.start()
        time.sleep(delay)
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join()
        outcomes.append(child.exitcode)
        acknowledged = read_acks(acks)
        check_after_kill(database, acknowledged)
        assert converge(database, directory, small_batches) == expected, f"trial {trial}"
    assert len(outcomes) == FORKED_TRIALS
    assert -signal.SIGKILL in outcomes


@pytest.fixture(scope="module")
def default_batches() -> ImportContext:
    return import_context(Settings(_env_file=None, database_url="sqlite://"))  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def big_directory(
    tmp_path_factory: pytest.TempPathFactory, default_batches: ImportContext
) -> tuple[Path, State]:
    """COMMAND_ROWS structures, and the state an import of them never killed leaves."""
    folder = tmp_path_factory.mktemp("big")
    directory = write_directory(folder / "reseau.csv", COMMAND_ROWS)
    database = folder / "reference.sqlite3"
    create_schema(make_engine(f"sqlite:///{database}"))
    return directory, converge(database, directory, default_batches)


def workers_of(pid: int) -> list[int]:
    """The child processes of a process (its prepare worker)."""
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def _acknowledged_batch(line: str) -> tuple[int, int]:
    """(first line, last line) of "batch 3 committed: 25 rows (f.csv:52 -> f.csv:76)"."""
    first, last = line.rsplit("(", 1)[1].rstrip(")\n").split(" -> ")
    return int(first.rsplit(":", 1)[1]), int(last.rsplit(":", 1)[1])


def test_sigkill_of_the_import_command_and_its_worker(
    tmp_path: Path, big_directory: tuple[Path, State], default_batches: ImportContext,
) -> None:
    directory, expected = big_directory
    generator = random.Random(SEED + 1)  # noqa: S311  (reproducible kill points)
    for trial in range(COMMAND_TRIALS):
        database = tmp_path / f"command{trial}.sqlite3"
        environment = {**os.environ, "ESS_DATABASE_URL": f"sqlite:///{database}",
                       "ESS_IMPORT_BATCH_SIZE": str(COMMAND_BATCH)}
        command = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "import", str(directory), "--show-batches",
             "--report-dir", str(tmp_path / "reports")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment,
            cwd=REPOSITORY)
        assert command.stdout is not None
        acknowledged: list[tuple[int, int]] = []
        wanted = generator.randint(1, COMMAND_ROWS // COMMAND_BATCH - 2)
        for line in command.stdout:
            acknowledged.append(_acknowledged_batch(line))
            if len(acknowledged) == wanted:
                break
        workers = workers_of(command.pid)
        time.sleep(generator.uniform(0, 0.05))
        command.send_signal(signal.SIGKILL)
        command.wait()
        command.stdout.close()
        assert (command.returncode, len(workers)) == (-signal.SIGKILL, 1)
        for _ in range(200):
            if not any(process_is_alive(worker) for worker in workers):
                break
            time.sleep(0.01)
        assert not any(process_is_alive(worker) for worker in workers)
        check_after_kill(database, acknowledged, COMMAND_ROWS, COMMAND_BATCH)
        assert converge(database, directory, default_batches) == expected, f"trial {trial}"


PAUSED_BATCH = 3


def _child_paused_in_bulk_indexing(
    database: Path, directory: Path, ready: Path, context: ImportContext
) -> None:
    """Import, and stop inside the third batch's index maintenance (rows inserted, not indexed)."""
    real = SqliteStrategy.bulk_indexing
    calls = []

    @contextmanager
    def pausing(self: SqliteStrategy, connection: Connection, after: int) -> Iterator[None]:
        with real(self, connection, after):
            yield
            calls.append(after)
            if len(calls) == PAUSED_BATCH:
                ready.write_text(f"{after}\n")
                time.sleep(60)

    SqliteStrategy.bulk_indexing = pausing  # type: ignore[method-assign]
    engine = make_engine(f"sqlite:///{database}")
    import_paths([directory], engine=engine, context=context)


def test_sigkill_inside_the_set_based_index_maintenance_leaves_indexes_in_step(
    tmp_path: Path, directory: Path, small_batches: ImportContext,
    reference: tuple[State, float],
) -> None:
    database, ready = tmp_path / "atlas.sqlite3", tmp_path / "ready"
    create_schema(make_engine(f"sqlite:///{database}"))
    child = multiprocessing.get_context("fork").Process(
        target=_child_paused_in_bulk_indexing, args=(database, directory, ready, small_batches))
    child.start()
    for _ in range(3000):
        if ready.exists() and ready.read_text().endswith("\n"):
            break
        time.sleep(0.01)
    os.kill(child.pid or 0, signal.SIGKILL)
    child.join()
    assert (child.exitcode, ready.read_text()) == (-signal.SIGKILL, f"{2 * BATCH}\n")
    check_after_kill(database, [], ROWS, BATCH)
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM organisation").fetchone() == (2 * BATCH,)
        assert connection.execute(
            "SELECT count(*) FROM organisation_index_deferred").fetchone() == (0,)
    assert converge(database, directory, small_batches) == reference[0]
    assert index_disagreements(database) == []
