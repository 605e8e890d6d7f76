"""Fixtures shared by the whole suite: settings, an app on a real database, a client.

The database is a real SQLite file, or for the modules that set `BACKENDS = BOTH_BACKENDS`
a database of the session's real PostgreSQL + PostGIS cluster too (tests/postgres_cluster.py):
their tests run once per backend (`[sqlite]`, `[postgis]`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from addok_fixtures import addok_service_fixture, addok_url_fixture  # noqa: F401  (one addok a session)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from postgres_cluster import SQLITE, DatabaseUrls, PostgresCluster, PostgresSetupError
from sqlalchemy import Engine

from app.config import Settings
from app.db import create_schema, make_engine
from app.main import create_app

FIXTURES = Path(__file__).parent / "fixtures"
API_DIRECTORY = FIXTURES / "api_directory.csv"

SettingsFactory = Callable[..., Settings]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests of modules with `BACKENDS = BOTH_BACKENDS` run on each; others on SQLite only.

    A test marked `sqlite_only(reason)` runs on SQLite only, whatever its module says.
    """
    backends = getattr(metafunc.module, "BACKENDS", (SQLITE,))
    if metafunc.definition.get_closest_marker("sqlite_only"):
        backends = (SQLITE,)
    if "backend" in metafunc.fixturenames and len(backends) > 1:
        metafunc.parametrize("backend", backends, indirect=True, scope="module")


@pytest.fixture(scope="module")
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the module's tests run on: sqlite, or postgis."""
    return str(getattr(request, "param", SQLITE))


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """The session's PostgreSQL + PostGIS cluster; fails (never skips) if it cannot start."""
    cluster = PostgresCluster()
    try:
        cluster.start()
    except PostgresSetupError as error:
        cluster.stop()
        pytest.fail(f"the real PostgreSQL could not be started: {error}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def database_urls(backend: str, request: pytest.FixtureRequest) -> Iterator[DatabaseUrls]:
    """Make new databases of the backend (schema at head on PostGIS): `database_urls(folder)`.

    A SQLite file in `folder`, or a PostGIS database dropped when the module is done.
    """
    if backend == SQLITE:
        yield lambda folder: f"sqlite:///{folder / 'atlas.sqlite3'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    made: list[str] = []

    def new(_folder: Path) -> str:
        made.append(cluster.new_database())
        return cluster.url(made[-1])

    yield new
    for name in made:
        cluster.drop_database(name)


@pytest.fixture
def database_url(database_urls: DatabaseUrls, tmp_path: Path) -> str:
    """A new database of the test's backend."""
    return database_urls(tmp_path)


@pytest.fixture(autouse=True)
def _no_ess_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test depends on the ESS_ variables of the machine it runs on."""
    import os

    for name in list(os.environ):
        if name.startswith("ESS_"):
            monkeypatch.delenv(name)


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str) -> SettingsFactory:
    """Settings for a fresh database of the backend; keyword arguments override."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "default_directory": API_DIRECTORY,
            "tiles_url": "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png",
            "geocoder_url": None,
            "geocoder_cache_path": tmp_path / "geocode-cache.sqlite3",
            "export_dir": tmp_path / "exports",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return build


@pytest.fixture
def settings(make_settings: SettingsFactory) -> Settings:
    """Default test settings: the small API fixture directory."""
    return make_settings()


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """An application on a real database."""
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client whose app has started (schema created, fixture directory loaded)."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An empty database of the backend, with the whole schema (indexes, aggregates)."""
    engine = make_engine(database_url)
    create_schema(engine)
    yield engine
    engine.dispose()
