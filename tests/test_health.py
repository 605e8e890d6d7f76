"""GET /healthz: 503 in the one error shape when the database is damaged or outdated."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.config import Settings
from app.db import make_engine
from app.health import DatabaseHealth
from app.main import create_app
from app.schema import head_revision

SettingsFactory = Callable[..., Settings]


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def database_file(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///"))


def overwrite_pages(path: Path, first: int, count: int) -> None:
    """Write garbage over `count` pages of a SQLite file from page `first` (1-based)."""
    with sqlite3.connect(path) as connection:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    with path.open("r+b") as stream:
        stream.seek((first - 1) * page_size)
        stream.write(b"\xa5" * page_size * count)


@pytest.fixture
def checked_settings(make_settings: SettingsFactory) -> Settings:
    return make_settings(health_integrity_interval=0)


@pytest.fixture
def checked_client(checked_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(checked_settings)) as client:
        yield client


def unhealthy(message: str) -> dict[str, object]:
    return {"error": {"status": 503, "code": "service_unavailable", "message": message}}


def test_a_healthy_database_is_ok(checked_client: TestClient) -> None:
    response = checked_client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})


def test_pages_overwritten_while_serving_give_503(
    checked_client: TestClient, checked_settings: Settings
) -> None:
    assert checked_client.get("/healthz").status_code == 200
    overwrite_pages(database_file(checked_settings), 3, 3)
    response = checked_client.get("/healthz")
    assert (response.status_code, response.headers["content-type"]) == (503, "application/json")
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (503, "service_unavailable")
    assert error["message"].startswith("database: integrity check failed: ")


def test_a_dropped_column_gives_503_naming_it(
    checked_client: TestClient, checked_settings: Settings
) -> None:
    with sqlite3.connect(database_file(checked_settings)) as connection:
        connection.execute("ALTER TABLE organisation DROP COLUMN description")
    connection.close()
    response = checked_client.get("/healthz")
    assert (response.status_code, response.json()) == (
        503, unhealthy("database: table organisation lacks column description"))


def test_a_database_of_an_older_schema_gives_503_naming_what_it_lacks(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(health_integrity_interval=0, load_default_directory=False)
    with sqlite3.connect(database_file(settings)) as connection:
        connection.execute("CREATE TABLE import_run (id VARCHAR(32) PRIMARY KEY, status TEXT)")
    connection.close()
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    lacking = ["origin", "mode", "files", "rows_expected", "rows_processed", "rows_committed",
               "batches_committed", "started_at", "finished_at", "message", "report",
               "rejected_csv"]
    version = ("the database was made before schema migrations and its tables are not the first "
               "release's (table import_run has columns id, status; the first release's has "
               f"{', '.join(sorted(['id', 'status', *lacking]))}): no upgrade can read it")
    problems = [version,
                *(f"table {name} is missing" for name in (
                    "category_set", "count_cache", "deletion", "duplicate_check_state",
                    "import_lock")),
                *(f"table import_run lacks column {name}" for name in lacking),
                *(f"table {name} is missing" for name in (
                    "organisation", "organisation_area", "organisation_cell", "suppression",
                    "duplicate_candidate",
                    "duplicate_check_pending", "duplicate_name", "organisation_category"))]
    message = "; ".join(problems)
    assert (response.status_code, response.json()) == (503, unhealthy(f"database: {message}"))


def test_a_revision_this_build_does_not_know_gives_503_naming_it(
    checked_client: TestClient, checked_settings: Settings
) -> None:
    with sqlite3.connect(database_file(checked_settings)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0000_older'")
    connection.close()
    response = checked_client.get("/healthz")
    assert (response.status_code, response.json()) == (503, unhealthy(
        "database: the schema is at revision 0000_older, which this build does not know (made "
        f"by a newer ess-atlas?); this build needs {head_revision()}"))


@pytest.fixture
def engine(checked_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(checked_settings.database_url)
    with TestClient(create_app(checked_settings)):
        pass  # the schema and the fixture directory
    yield engine
    engine.dispose()


def test_the_integrity_check_runs_at_most_once_an_interval(
    engine: Engine, checked_settings: Settings
) -> None:
    clock = ManualClock()
    health = DatabaseHealth(engine, integrity_interval=60, clock=clock)
    assert health.problems() == []
    overwrite_pages(database_file(checked_settings), 3, 3)
    clock.now += 59
    assert health.problems() == []
    clock.now += 1
    problems = health.problems()
    assert len(problems) == 1
    assert problems[0].startswith("integrity check failed: ")
