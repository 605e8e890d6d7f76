"""Background HTTP imports with two real servers on one SQLite file.

One server runs the import; the other reads its progress from the database and refuses a
second import (409), as does the first: the run log and the lock are rows, not memory.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import environment_without_settings, serving
from test_reads_during_import import ROWS, write_directory

TOKEN = "a-long-enough-admin-token-for-tests"  # noqa: S105  (a test token)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two `ess-atlas serve` processes (one worker each) on the same database file."""
    with ExitStack() as stack:
        bases = []
        for name in ("first", "second"):
            env = environment_without_settings(
                ESS_DATABASE_URL=f"sqlite:///{tmp_path / 'shared.sqlite3'}",
                ESS_GEOCODER_CACHE_PATH=str(tmp_path / f"{name}-cache.sqlite3"),
                ESS_ADMIN_TOKEN=TOKEN, ESS_LOAD_DEFAULT_DIRECTORY="false",
                ESS_IMPORT_BATCH_SIZE="500")
            command = [sys.executable, "-m", "app.cli", "serve", "--workers", "1"]
            bases.append(stack.enter_context(serving(command, env, tmp_path / f"{name}.log")))
        yield bases[0], bases[1]


def upload(base: str, path: Path) -> httpx.Response:
    with path.open("rb") as handle:
        return httpx.post(f"{base}/api/imports", headers=AUTH, timeout=120,
                          files={"files": (path.name, handle, "text/csv")})


def read_run(base: str, run_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/api/imports/{run_id}", headers=AUTH, timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_until_over(base: str, run_id: str) -> tuple[dict[str, Any], list[str]]:
    """Poll the run on `base` until it is no longer running; its last view, statuses seen."""
    seen = []
    for _ in range(1200):
        run = read_run(base, run_id)
        seen.append(run["status"])
        if run["status"] != "running":
            return run, seen
        time.sleep(0.25)
    raise AssertionError(f"import {run_id} still running after 5 minutes")


def assert_refused_for(response: httpx.Response, run_id: str) -> None:
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (409, "conflict")
    assert error["message"].startswith(f"another import is running (run {run_id}, process ")


def test_an_import_on_one_server_is_seen_and_guarded_by_the_other(
    two_servers: tuple[str, str], tmp_path: Path
) -> None:
    first, second = two_servers
    directory = write_directory(tmp_path / "directory.csv")
    small = tmp_path / "small.csv"
    small.write_text("nom;cp;commune;secteur\nAtelier;69001;Lyon;reemploi\n", encoding="utf-8")
    started = upload(first, directory)
    assert started.status_code == 202
    run_id = started.json()["id"]
    # At once, while the run writes (a small file, so that the refusals come quickly).
    progress = read_run(second, run_id)
    assert_refused_for(upload(second, small), run_id)
    assert_refused_for(upload(first, small), run_id)
    assert (progress["status"], progress["files"]) == ("running", ["directory.csv"])
    finished, _ = wait_until_over(second, run_id)
    assert finished["status"] == "done"
    assert finished["progress"]["rows_committed"] == ROWS
    assert finished["report"]["rows_read"] == ROWS
    assert read_run(first, run_id) == finished
    # The lock went with the run: the other server may import now.
    assert upload(second, small).status_code == 202
