"""`ess-atlas db upgrade|current`, and `serve` / `import` facing an out-of-date database."""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from legacy_database import (
    first_release_columns,
    first_release_rows,
    make_first_release_database,
)
from typer.testing import CliRunner, Result

from app import aggregates
from app.cli import cli
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from app.schema import EXIT_OUTDATED, head_revision

SettingsFactory = Callable[..., Settings]
FIXTURES = Path(__file__).parent / "fixtures"
UNVERSIONED = "none (an empty database, or one made before schema migrations)"
MADE_BEFORE = "the database was made before schema migrations: run `ess-atlas db upgrade`"


def database_file(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///"))


def run(settings: Settings, *args: str, **environment: str) -> Result:
    env = {"ESS_DATABASE_URL": settings.database_url,
           "ESS_GEOCODER_CACHE_PATH": str(database_file(settings).with_name("cache.sqlite3")),
           **environment}
    return CliRunner().invoke(cli, list(args), env=env)


def version_table(path: Path) -> list[tuple[str, ...]] | None:
    """The rows of alembic_version, None when the table does not exist."""
    connection = sqlite3.connect(path)
    try:
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'"
                                  ).fetchone():
            return None
        return connection.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        connection.close()


@pytest.fixture
def first_release(make_settings: SettingsFactory) -> Settings:
    """Settings on a database of the first release (no schema version), never auto-upgraded."""
    settings = make_settings(auto_migrate=False, health_integrity_interval=0,
                             load_default_directory=False)
    make_first_release_database(database_file(settings))
    return settings


def health(settings: Settings) -> tuple[int, object]:
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    return response.status_code, response.json()


def test_db_upgrade_keeps_every_row_and_turns_healthz_from_503_to_200(
    first_release: Settings,
) -> None:
    path = database_file(first_release)
    rows = first_release_rows(path)
    status, body = health(first_release)
    # What the later revisions add is listed after the version (it changes with each one).
    assert (status, body["error"]["code"]) == (503, "service_unavailable")
    assert body["error"]["message"].startswith(f"database: {MADE_BEFORE}")
    result = run(first_release, "db", "upgrade")
    assert (result.exit_code, result.stdout) == (
        0, f"the schema was at {UNVERSIONED}; it is now at {head_revision()}\n")
    assert first_release_rows(path) == rows
    assert version_table(path) == [(head_revision(),)]
    assert health(first_release) == (200, {"status": "ok", "database": "ok"})


def test_an_upgraded_database_is_searchable_and_counted(first_release: Settings) -> None:
    assert run(first_release, "db", "upgrade").exit_code == 0
    with TestClient(create_app(first_release)) as client:
        found = client.get("/api/organisations", params={"q": "vélo"}).json()
        boxed = client.get("/api/organisations", params={"bbox": "4.8,45.7,4.9,45.8"}).json()
    assert [feature["id"] for feature in found["features"]] == [1]
    assert (boxed["numberMatched"], [feature["id"] for feature in boxed["features"]]) == (2, [1, 2])
    engine = make_engine(first_release.database_url)
    with engine.connect() as connection:
        assert aggregates.mismatches(connection) == 0
    engine.dispose()


def test_a_second_upgrade_has_nothing_to_do(first_release: Settings) -> None:
    assert run(first_release, "db", "upgrade").exit_code == 0
    result = run(first_release, "db", "upgrade")
    assert (result.exit_code, result.stdout) == (
        0, f"the schema is at {head_revision()}, this build's revision: nothing to do\n")


def test_db_upgrade_rebuilds_aggregates_made_before_the_sector_levels(
    first_release: Settings,
) -> None:
    assert run(first_release, "db", "upgrade").exit_code == 0
    engine = make_engine(first_release.database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "DELETE FROM organisation_cell WHERE level > 12 AND dimension = 'sector'")
        assert aggregates.mismatches(connection) > 0
    result = run(first_release, "db", "upgrade")
    assert (result.exit_code, result.stdout) == (
        0, f"the schema is at {head_revision()}, this build's revision: its aggregates, made "
           "by an older build, were rebuilt\n")
    with engine.connect() as connection:
        assert aggregates.mismatches(connection) == 0
    engine.dispose()


def test_db_upgrade_gives_an_empty_database_the_whole_schema(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(auto_migrate=False, load_default_directory=False)
    result = run(settings, "db", "upgrade")
    assert (result.exit_code, result.stdout) == (
        0, f"the schema was at {UNVERSIONED}; it is now at {head_revision()}\n")
    assert health(settings) == (200, {"status": "ok", "database": "ok"})


def test_db_current_names_the_revision(first_release: Settings) -> None:
    before = run(first_release, "db", "current")
    assert (before.exit_code, before.stdout, before.stderr) == (
        EXIT_OUTDATED, f"{UNVERSIONED}\n", f"error: {MADE_BEFORE}\n")
    run(first_release, "db", "upgrade")
    after = run(first_release, "db", "current")
    assert (after.exit_code, after.stdout, after.stderr) == (
        0, f"{head_revision()} (this build's revision)\n", "")


def test_db_current_names_a_revision_this_build_does_not_know(first_release: Settings) -> None:
    run(first_release, "db", "upgrade")
    with sqlite3.connect(database_file(first_release)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_later'")
    connection.close()
    result = run(first_release, "db", "current")
    assert (result.exit_code, result.stdout, result.stderr) == (
        EXIT_OUTDATED, "9999_later\n",
        "error: the schema is at revision 9999_later, which this build does not know (made by a "
        f"newer ess-atlas?); this build needs {head_revision()}\n")


@pytest.mark.parametrize("command", [
    ["serve", "--port", "9"], ["import", str(FIXTURES / "api_directory.csv")]],
    ids=["serve", "import"])
def test_serve_and_import_refuse_an_out_of_date_database_in_one_line(
    first_release: Settings, command: list[str],
) -> None:
    path = database_file(first_release)
    rows = first_release_rows(path)
    result = run(first_release, *command, ESS_AUTO_MIGRATE="false")
    assert (result.exit_code, result.stdout, result.stderr) == (
        EXIT_OUTDATED, "", f"error: {MADE_BEFORE}\n")
    assert (version_table(path), first_release_rows(path)) == (None, rows)


def test_import_upgrades_an_out_of_date_sqlite_database_by_default(
    first_release: Settings, tmp_path: Path,
) -> None:
    path = database_file(first_release)
    rows = first_release_rows(path)
    result = run(first_release, "import", str(FIXTURES / "api_directory.csv"),
                 "--report-dir", str(tmp_path / "reports"))
    assert result.exit_code == 0, result.output
    assert version_table(path) == [(head_revision(),)]
    after = first_release_rows(path)["organisation"]
    kept = first_release_columns()["organisation"].index('"id"')
    assert [row for row in after if row[kept] in (1, 2, 3)] == rows["organisation"]
    with (FIXTURES / "api_directory.csv").open(encoding="utf-8") as directory:
        imported = sum(1 for _ in csv.DictReader(directory))
    assert len(after) == len(rows["organisation"]) + imported


def test_db_upgrade_refuses_tables_of_no_release_and_writes_nothing(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(auto_migrate=False)
    with sqlite3.connect(database_file(settings)) as connection:
        connection.execute("CREATE TABLE import_run (id VARCHAR(32) PRIMARY KEY, status TEXT)")
    connection.close()
    result = run(settings, "db", "upgrade")
    assert (result.exit_code, result.stdout, result.stderr) == (
        EXIT_OUTDATED, "",
        "error: the database was made before schema migrations and its tables are not the "
        "first release's (table import_run has columns id, status; the first release's has "
        "batches_committed, files, finished_at, id, message, mode, origin, rejected_csv, report, "
        "rows_committed, rows_expected, rows_processed, started_at, status): no upgrade can read "
        "it\n")
    with sqlite3.connect(database_file(settings)) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master").fetchall()
    connection.close()
    assert tables == [("import_run",), ("sqlite_autoindex_import_run_1",)]
