"""On PostgreSQL + PostGIS: a SIGKILLed import command, and app servers beside an import.

The killed `ess-atlas import` leaves every acknowledged batch, whole batches only,
aggregates in step and its advisory lock freed; a re-run converges on what an import never
killed leaves. Two app servers on one database answer reads without an error while an
import runs in a third process, and both refuse a second import with 409.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from import_helpers import REPOSITORY
from postgres_cluster import PostgresCluster
from sqlalchemy import Engine, text
from test_import_kill import _acknowledged_batch, line_ids, write_directory

from app import aggregates
from app.config import Settings
from app.db import make_engine
from app.importer.context import import_context
from app.importer.lock import live_lock
from app.importer.pipeline import ImportContext, import_paths
from tests.browser import free_port

ROWS = 1200
BATCH = 50
TRIALS = 2
SEED = 20261201
TOKEN = "a-long-enough-admin-token"  # noqa: S105  (a test token)
State = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]
READS = ["/api/organisations?limit=50", "/api/clusters?zoom=5", "/api/facets",
         "/api/nearby?lat=45.76&lon=4.83&radius_km=50", "/api/organisations?q=solidaire",
         "/api/organisations?bbox=4.7,45.7,4.9,45.8", "/healthz"]


@pytest.fixture
def databases(postgres_cluster: PostgresCluster) -> Iterator[Callable[[], str]]:
    """Make new databases (schema at head) of the session's cluster; dropped after the test."""
    made: list[str] = []

    def new() -> str:
        made.append(postgres_cluster.new_database())
        return postgres_cluster.url(made[-1])

    yield new
    for name in made:
        postgres_cluster.drop_database(name)


@pytest.fixture(scope="module")
def context() -> ImportContext:
    return import_context(Settings(_env_file=None, database_url="sqlite://"))  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_directory(tmp_path_factory.mktemp("pg-kill") / "reseau.csv", ROWS)


def final_state(engine: Engine) -> State:
    """Structures, duplicate pairs, pending duplicate checks."""
    with engine.connect() as connection:
        structures = connection.execute(text(
            "SELECT key, content_hash, categories FROM organisation ORDER BY key")).all()
        pairs = connection.execute(text(
            "SELECT a.key, b.key, d.rule FROM duplicate_candidate d JOIN organisation a ON "
            "a.id = d.first_id JOIN organisation b ON b.id = d.second_id ORDER BY 1, 2")).all()
        pending = connection.execute(text("SELECT count(*) FROM duplicate_check_pending"))
        return [tuple(row) for row in structures], [tuple(row) for row in pairs], int(
            pending.scalar_one())


def converge(engine: Engine, directory: Path, context: ImportContext) -> State:
    """Run the import to the end in this process, once the killed one's lock is freed."""
    deadline = time.monotonic() + 10
    while live_lock(engine) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    report = import_paths([directory], engine=engine, context=context)
    assert report.rejections == []
    return final_state(engine)


def check_after_kill(engine: Engine, acknowledged: list[tuple[int, int]]) -> None:
    """Acknowledged batches present, whole batches only, run log and aggregates in step."""
    with engine.connect() as connection:
        stored = set(connection.execute(text("SELECT source_id FROM organisation")).scalars())
        links = connection.execute(text("SELECT count(*) FROM organisation_category")).scalar()
        committed = connection.execute(text(
            "SELECT coalesce(sum(rows_committed), 0) FROM import_run")).scalar()
        assert aggregates.mismatches(connection) == 0
    for first_line, last_line in acknowledged:
        assert line_ids(first_line, last_line) <= stored
    assert stored == {f"r{i}" for i in range(len(stored))}
    assert len(stored) % BATCH == 0 or len(stored) == ROWS
    assert (links, committed) == (len(stored), len(stored))


def start_import(url: str, directory: Path, reports: Path) -> subprocess.Popen[str]:
    """`ess-atlas import` of the directory in its own process, printing each batch."""
    environment = {**os.environ, "ESS_DATABASE_URL": url, "ESS_IMPORT_BATCH_SIZE": str(BATCH)}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "import", str(directory), "--show-batches",
         "--report-dir", str(reports)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment,
        cwd=REPOSITORY)


def test_sigkill_of_the_import_command_on_postgis(
    tmp_path: Path, directory: Path, context: ImportContext, databases: Callable[[], str],
) -> None:
    reference = make_engine(databases())
    expected = converge(reference, directory, context)
    reference.dispose()
    assert len(expected[0]) == ROWS
    generator = random.Random(SEED)  # noqa: S311  (reproducible kill points)
    for trial in range(TRIALS):
        engine = make_engine(databases())
        command = start_import(str(engine.url), directory, tmp_path / "reports")
        assert command.stdout is not None
        acknowledged: list[tuple[int, int]] = []
        wanted = generator.randint(1, ROWS // BATCH - 2)
        for line in command.stdout:
            acknowledged.append(_acknowledged_batch(line))
            if len(acknowledged) == wanted:
                break
        time.sleep(generator.uniform(0, 0.05))
        command.send_signal(signal.SIGKILL)
        command.wait()
        command.stdout.close()
        assert command.returncode == -signal.SIGKILL
        check_after_kill(engine, acknowledged)
        assert converge(engine, directory, context) == expected, f"trial {trial}"
        engine.dispose()


def start_server(url: str) -> tuple[subprocess.Popen[bytes], int]:
    """A real uvicorn serving the app on a free loopback port, once it answers /healthz."""
    port = free_port()
    environment = {**os.environ, "ESS_DATABASE_URL": url, "ESS_ADMIN_TOKEN": TOKEN,
                   "ESS_LOAD_DEFAULT_DIRECTORY": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port",
         str(port), "--log-level", "warning"], env=environment, cwd=REPOSITORY)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return process, port
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the server did not start")


def read_until(ports: list[int], stop: threading.Event, answers: list[int]) -> None:
    """GET the reads from every server in turn until told to stop; record each status."""
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            for port in ports:
                for path in READS:
                    answers.append(client.get(f"http://127.0.0.1:{port}{path}").status_code)


def test_two_servers_answer_while_a_third_process_imports(
    tmp_path: Path, directory: Path, databases: Callable[[], str],
) -> None:
    url = databases()
    servers = [start_server(url) for _ in range(2)]
    ports = [port for _, port in servers]
    try:
        command = start_import(url, directory, tmp_path / "reports")
        assert command.stdout is not None
        assert command.stdout.readline().startswith("batch 1 committed")
        stop, answers = threading.Event(), []  # type: ignore[var-annotated]
        readers = [threading.Thread(target=read_until, args=(ports, stop, answers))
                   for _ in range(2)]
        for reader in readers:
            reader.start()
        refusals = [httpx.post(
            f"http://127.0.0.1:{port}/api/imports",
            files=[("files", ("more.csv", directory.read_bytes(), "text/csv"))],
            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) for port in ports]
        batches = 1 + sum(1 for line in command.stdout if line.startswith("batch "))
        stop.set()
        for reader in readers:
            reader.join()
        assert command.wait() == 0
        command.stdout.close()
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait()
    assert batches == ROWS // BATCH
    assert [response.status_code for response in refusals] == [409, 409]
    assert all(response.json()["error"]["message"].startswith("another import is running")
               for response in refusals)
    assert len(answers) >= len(READS) * 2
    assert set(answers) == {200}
