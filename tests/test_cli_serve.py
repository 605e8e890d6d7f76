"""`ess-atlas serve` on an empty database: the README's `make run`, end to end."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from servers import environment_without_settings, serving

from app.resources import shipped_file


@contextmanager
def serve_in_subprocess(tmp_path: Path, *options: str, **environment: str) -> Iterator[str]:
    """`ess-atlas serve` in a subprocess on a fresh SQLite file, plus `environment`.

    `environment` may name another database (ESS_DATABASE_URL).
    """
    env = environment_without_settings(**{
        "ESS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "ESS_GEOCODER_CACHE_PATH": str(tmp_path / "cache.sqlite3"),
        **environment,
    })
    command = [sys.executable, "-m", "app.cli", "serve", *options]
    with serving(command, env, tmp_path / "serve.log") as base:
        yield base


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with serve_in_subprocess(tmp_path) as base:
        yield base


def default_directory_rows() -> list[dict[str, str]]:
    with shipped_file("organisations.csv").open(encoding="utf-8", newline="") as handle:
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
