"""The schema's revisions: what they build, stamping a first-release database, safe rebuilds."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from legacy_database import SCHEMA, first_release_rows, make_first_release_database
from sqlalchemy import Engine, create_engine, text
from sqlmodel import SQLModel

from app import schema
from app.db import create_schema, make_engine
from app.schema import BASELINE, OutdatedSchema, head_revision, run_alembic

REVISIONS = Path(schema.__file__).parent / "migrations"
_DERIVED = ("organisation_fts", "organisation_rtree", "organisation_index_deferred",
            "alembic_version")


def tables_and_indexes(connection: sqlite3.Connection) -> dict[str, str]:
    """The DDL of every table and index, whitespace folded (the dialect's extras aside)."""
    return {name: " ".join(sql.split()) for name, sql in connection.execute(
        "SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index') "
        "AND sql IS NOT NULL") if not name.startswith(_DERIVED)}


def assert_first_release_tables(path: Path) -> None:
    """The tables and indexes in `path` are, to the letter, those of the first release."""
    first_release = sqlite3.connect(":memory:")
    first_release.executescript(SCHEMA.read_text(encoding="utf-8"))
    built = sqlite3.connect(path)
    try:
        assert tables_and_indexes(built) == tables_and_indexes(first_release)
    finally:
        built.close()
        first_release.close()


def whole_schema(path: Path) -> list[tuple[str, str, str | None]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name"
                                  ).fetchall()
    finally:
        connection.close()


@pytest.fixture
def bare() -> Iterator[Engine]:
    """An in-memory SQLite without the app's pragmas or extras."""
    engine = create_engine("sqlite://")
    yield engine
    engine.dispose()


def test_the_revisions_build_exactly_the_tables_of_the_models(bare: Engine) -> None:
    with bare.begin() as connection:
        run_alembic(connection, command.upgrade, "head")
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_the_baseline_builds_the_schema_of_the_first_release(bare: Engine, tmp_path: Path) -> None:
    with bare.begin() as connection:
        run_alembic(connection, command.upgrade, BASELINE)
    built = tmp_path / "built.sqlite3"
    with bare.connect() as connection:
        connection.exec_driver_sql(f"VACUUM INTO '{built}'")
    assert_first_release_tables(built)


def test_a_new_database_gets_the_latest_revision(engine: Engine) -> None:
    with engine.connect() as connection:
        assert (schema.current_revision(connection), schema.version_problem(connection)) == (
            head_revision(), None)


def test_a_second_upgrade_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    before = whole_schema(tmp_path / "atlas.sqlite3")
    with engine.connect() as connection:
        assert schema.upgrade(connection) == head_revision()
    assert whole_schema(tmp_path / "atlas.sqlite3") == before


def test_a_first_release_database_is_stamped_with_its_rows_untouched(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    make_first_release_database(path)
    rows = first_release_rows(path)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert schema.upgrade(connection) is None
        assert schema.current_revision(connection) == head_revision()
    engine.dispose()
    assert first_release_rows(path) == rows


def test_a_first_release_database_gets_the_tables_it_lacks(
    tmp_path: Path, engine: Engine,
) -> None:
    path = tmp_path / "old.sqlite3"
    make_first_release_database(path)
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE organisation_cell")
    connection.close()
    old = make_engine(f"sqlite:///{path}")
    create_schema(old)
    with old.connect() as connection:
        cells = connection.execute(text("SELECT count(*) FROM organisation_cell")).scalar_one()
        assert (schema.version_problem(connection), cells > 0) == (None, True)
    old.dispose()
    # The same tables and indexes as a new database (the first release's, and what the
    # later revisions added).
    with sqlite3.connect(tmp_path / "atlas.sqlite3") as new:
        expected = tables_and_indexes(new)
    new.close()
    with sqlite3.connect(path) as connection:
        assert tables_and_indexes(connection) == expected
    connection.close()


def test_a_first_release_database_gains_the_ess_record_with_its_rows_intact(
    tmp_path: Path
) -> None:
    path = tmp_path / "old.sqlite3"
    make_first_release_database(path)
    rows = first_release_rows(path)
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    with engine.connect() as connection:
        added = connection.execute(text(
            "SELECT id, status, labels, epci, naf, street_number FROM organisation ORDER BY id"
        )).all()
    engine.dispose()
    assert first_release_rows(path) == rows
    assert [tuple(row) for row in added] == [
        (1, "active", "", "200046977", None, None), (2, "active", "", "200046977", None, None),
        (3, "active", "", "200034700", None, None)]


def test_tables_of_no_release_are_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "odd.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE suppression (key TEXT PRIMARY KEY)")
    connection.close()
    before = whole_schema(path)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection, pytest.raises(OutdatedSchema) as refused:
        schema.upgrade(connection)
    engine.dispose()
    assert str(refused.value) == (
        "the database was made before schema migrations and its tables are not the first "
        "release's (table suppression has columns key; the first release's has deleted_at, key, "
        "name): no upgrade can read it")
    assert whole_schema(path) == before


REBUILD = '''"""Test only: rebuild the organisation table, as SQLite does to alter a column."""

import sqlalchemy as sa
from alembic import op

revision = "0099_rebuild"
down_revision = "{head}"


def upgrade() -> None:
    with op.batch_alter_table("organisation", recreate="always") as batch:
        batch.add_column(sa.Column("probe", sa.String(), nullable=True))
'''


@pytest.fixture
def rebuilding_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app's revisions plus one that rebuilds the organisation table."""
    scripts = tmp_path / "migrations"
    shutil.copytree(REVISIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "0099_rebuild.py").write_text(REBUILD.format(head=head_revision()))
    config = Config()
    config.set_main_option("script_location", str(scripts))
    monkeypatch.setattr(schema, "alembic_config", lambda: config)
    schema.head_revision.cache_clear()
    yield
    schema.head_revision.cache_clear()


@pytest.mark.usefixtures("rebuilding_revision")
def test_rebuilding_the_organisation_table_keeps_the_rows_that_refer_to_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    make_first_release_database(path)
    rows = first_release_rows(path)
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    assert first_release_rows(path) == rows
    with engine.begin() as connection:
        assert schema.current_revision(connection) == "0099_rebuild"
        connection.execute(text(
            "INSERT INTO organisation (id, key, name, country, lat, lon, categories, search_text, "
            "content_hash, created_at, updated_at) VALUES (4, 'k4', 'Nouvelle', 'FR', 44.0, 5.0, "
            "'habitat', 'nouvelle structure', 'h4', '2026-03-04 00:00:00', '2026-03-04 00:00:00')"))
    with engine.connect() as connection:
        found = connection.execute(text(
            "SELECT rowid FROM organisation_fts WHERE organisation_fts MATCH 'structure'")).all()
        boxed = connection.execute(text(
            "SELECT id FROM organisation_rtree WHERE min_lat > 43.95 ORDER BY id")).all()
    engine.dispose()
    assert (found, boxed) == ([(4,)], [(1,), (2,), (4,)])


@pytest.mark.usefixtures("rebuilding_revision")
def test_a_database_at_an_older_revision_is_told_to_upgrade(bare: Engine) -> None:
    with bare.begin() as connection:
        run_alembic(connection, command.upgrade, BASELINE)
        assert schema.version_problem(connection) == (
            f"the schema is at revision {BASELINE}, this build needs 0099_rebuild: "
            "run `ess-atlas db upgrade`")
