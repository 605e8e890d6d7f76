"""`ess-atlas serve` on an empty database: the README's `make run`, end to end."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from browser import free_port

from app.config import DEFAULT_DATA_DIR


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise AssertionError(f"ess-atlas serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("ess-atlas serve did not answer within 30 s")


@contextmanager
def serve_in_subprocess(tmp_path: Path, *options: str, **environment: str) -> Iterator[str]:
    """`ess-atlas serve` in a subprocess on a fresh SQLite file, plus `environment`."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESS_")}
    env |= {
        "ESS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "ESS_GEOCODER_CACHE_PATH": str(tmp_path / "cache.sqlite3"),
        **environment,
    }
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *options]
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base, process)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with serve_in_subprocess(tmp_path) as base:
        yield base


def default_directory_rows() -> list[dict[str, str]]:
    with (DEFAULT_DATA_DIR / "organisations.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_serve_preloads_every_structure_of_the_default_directory(served: str) -> None:
    rows = default_directory_rows()
    assert len(rows) >= 80
    body = httpx.get(f"{served}/api/organisations", params={"limit": 5000}).json()
    assert body["numberReturned"] == len(rows)
    served_names = sorted(f["properties"]["name"] for f in body["features"])
    assert served_names == sorted(row["name"] for row in rows)


def test_every_default_structure_is_placed_in_its_commune(served: str) -> None:
    features = httpx.get(f"{served}/api/organisations", params={"limit": 5000}).json()["features"]
    for feature in features:
        properties = feature["properties"]
        assert properties["citycode"], properties["name"]
        assert properties["departement"], properties["name"]
        assert properties["region"], properties["name"]
        assert properties["geocode_precision"] in {"municipality", "housenumber", "street"}


def test_serve_answers_the_map_page(served: str) -> None:
    response = httpx.get(f"{served}/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
