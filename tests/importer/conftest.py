"""Fixtures of the importer tests: a real SQLite file, the shipped gazetteer, small CSV files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from import_helpers import CsvWriter, Importer
from sqlalchemy import Engine

from app.config import Settings
from app.db import create_schema, make_engine
from app.importer.columns import ColumnMapping
from app.importer.context import close_context, import_context
from app.importer.pipeline import ImportContext, ImportMode, ImportOptions, import_paths
from app.importer.report import ImportReport


@pytest.fixture
def import_settings(make_settings: Callable[..., Settings]) -> Settings:
    """Settings on a fresh SQLite file, without the default directory."""
    return make_settings(load_default_directory=False)


@pytest.fixture
def engine(import_settings: Settings) -> Iterator[Engine]:
    """A real SQLite database with the schema."""
    engine = make_engine(import_settings.database_url)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def context(import_settings: Settings) -> Iterator[ImportContext]:
    """The import context of the test settings (offline gazetteer)."""
    context = import_context(import_settings)
    yield context
    close_context(context)


@pytest.fixture
def run_import(engine: Engine, context: ImportContext) -> Importer:
    """Import paths into the test database: `run_import(path, mode=..., mapping=...)`."""

    def run(*paths: Path, mode: ImportMode = ImportMode.DEFAULT,
            mapping: ColumnMapping | None = None, **options: Any) -> ImportReport:
        chosen = ImportOptions(mode=mode, mapping=mapping or ColumnMapping(), **options)
        return import_paths(list(paths), engine=engine, context=context, options=chosen)

    return run


@pytest.fixture
def write_csv(tmp_path: Path) -> CsvWriter:
    """Write a CSV file under tmp_path: `write_csv("a.csv", "text", encoding="cp1252")`."""

    def write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / "input" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return write
