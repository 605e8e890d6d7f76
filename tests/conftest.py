"""Fixtures shared by the whole suite: settings, an app on a real SQLite file, a client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from addok_fixtures import addok_service_fixture, addok_url_fixture  # noqa: F401  (one addok a session)
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.config import Settings
from app.db import create_schema, make_engine
from app.main import create_app

FIXTURES = Path(__file__).parent / "fixtures"
API_DIRECTORY = FIXTURES / "api_directory.csv"

SettingsFactory = Callable[..., Settings]


@pytest.fixture(autouse=True)
def _no_ess_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test depends on the ESS_ variables of the machine it runs on."""
    import os

    for name in list(os.environ):
        if name.startswith("ESS_"):
            monkeypatch.delenv(name)


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Settings for a fresh SQLite file in tmp_path; keyword arguments override."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path / 'atlas.sqlite3'}",
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
    """An application on a real SQLite file."""
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client whose app has started (schema created, fixture directory loaded)."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty database on a real SQLite file, with the whole schema (indexes, aggregates)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'atlas.sqlite3'}")
    create_schema(engine)
    yield engine
    engine.dispose()
