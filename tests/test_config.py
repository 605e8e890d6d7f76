"""Settings derived from others: when commands upgrade the schema by themselves."""

from __future__ import annotations

import pytest

from app.config import Settings


@pytest.mark.parametrize(("database_url", "auto_migrate", "migrates"), [
    ("sqlite:///var/atlas.sqlite3", None, True),
    ("sqlite:///var/atlas.sqlite3", False, False),
    ("postgresql+psycopg2://atlas@db.example/atlas", None, False),
    ("postgresql+psycopg2://atlas@db.example/atlas", True, True),
])
def test_the_embedded_sqlite_upgrades_by_default_a_server_database_when_told(
    database_url: str, auto_migrate: bool | None, migrates: bool,
) -> None:
    settings = Settings.model_construct(database_url=database_url, auto_migrate=auto_migrate)
    assert settings.migrates_schema is migrates
