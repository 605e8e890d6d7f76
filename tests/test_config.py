"""Settings derived from others: schema upgrades, the taxonomy and directory files."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings
from app.resources import shipped_file


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


def test_without_a_data_dir_the_taxonomy_and_directory_are_the_shipped_files() -> None:
    settings = Settings(_env_file=None)
    assert settings.categories_yaml == shipped_file("categories.yaml")
    assert settings.directory_csv == shipped_file("organisations.csv")
    assert settings.categories_yaml.parent.parts[-2:] == ("app", "data")


def test_a_data_dir_replaces_the_taxonomy_and_the_default_directory(tmp_path: Path) -> None:
    (tmp_path / "categories.yaml").write_text("groups: []\n", encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.categories_yaml == tmp_path / "categories.yaml"
    assert settings.directory_csv == tmp_path / "organisations.csv"


def test_a_named_default_directory_wins_over_the_data_dir(tmp_path: Path) -> None:
    (tmp_path / "categories.yaml").write_text("groups: []\n", encoding="utf-8")
    directory = tmp_path / "mine.csv"
    directory.write_text("name\n", encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=tmp_path, default_directory=directory)
    assert settings.directory_csv == directory


def test_a_data_dir_without_a_taxonomy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=f"{tmp_path} holds no categories.yaml"):
        Settings(_env_file=None, data_dir=tmp_path)
