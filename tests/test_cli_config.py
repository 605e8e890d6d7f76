"""Configuration mistakes: one line naming the variable, exit 78, nothing secret; safe output."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from postgres_cluster import PostgresCluster
from typer.testing import CliRunner, Result

from app.cli import cli
from app.config import EXIT_CONFIG, unknown_variables
from app.db import masked_url
from app.terminal import printable

FIXTURES = Path(__file__).parent / "fixtures"
COMMANDS = [
    ["serve", "--port", "9"],
    ["import", str(FIXTURES / "api_directory.csv")],
    ["geocode", str(FIXTURES / "geocode" / "addresses.csv"), "-o", "out.csv"],
    ["duplicates"],
    ["hash-token", "--generate"],
]
DATABASE_COMMANDS = [command for command in COMMANDS if command[0] in
                     ("serve", "import", "duplicates")]


def run(args: list[str], environment: dict[str, str], tmp_path: Path) -> Result:
    """The command in `tmp_path` (what it writes, `out.csv` included, stays there)."""
    env = {"ESS_GEOCODER_CACHE_PATH": str(tmp_path / "cache.sqlite3"), **environment}
    if "ESS_DATABASE_URL" not in env:
        env["ESS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'atlas.sqlite3'}"
    extra = ["--report-dir", str(tmp_path / "reports")] if args[0] == "import" else []
    with contextlib.chdir(tmp_path):
        return CliRunner().invoke(cli, [*args, *extra], env=env)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command[0])
@pytest.mark.parametrize(("environment", "line"), [
    ({"ESS_DATABASE_URL": "foo://bar"},
     "ESS_DATABASE_URL: unknown kind of database 'foo' (expected sqlite or postgresql)"),
    ({"ESS_DATABASE_URL": "postgresql+psycopg2://atlas:s3cret-pw@db.example/atlas"},
     "ESS_DATABASE_URL: postgresql+psycopg2 needs the Python package psycopg2, which is not "
     "installed"),
    ({"ESS_DATABASE_URL": "not a url"},
     "ESS_DATABASE_URL: not a database URL (expected sqlite:///PATH or "
     "postgresql://USER@HOST/DB)"),
    ({"ESS_DATA_DIR": "/nonexistent"}, "ESS_DATA_DIR: /nonexistent is not a directory"),
    ({"ESS_REDIS_URL": "http://127.0.0.1:6379"},
     "ESS_REDIS_URL: must be a redis://, rediss:// or redis+unix:// URL"),
    ({"ESS_ADMIN_TOKEN": "s3cret-short"},
     "ESS_ADMIN_TOKEN: an admin token needs at least 16 characters"),
    ({"ESS_DATABSE_URL": "sqlite:///elsewhere.sqlite3"},
     "ESS_DATABSE_URL is not a setting (did you mean ESS_DATABASE_URL?)"),
    ({"ESS_MAX_UPLOAD_BYTES": "lots"},
     "ESS_MAX_UPLOAD_BYTES: Input should be a valid integer, unable to parse string as an "
     "integer"),
], ids=["unknown-kind", "no-driver", "not-a-url", "data-dir", "redis-url", "short-token",
        "misspelt", "not-an-integer"])
def test_a_configuration_error_is_one_line_and_exit_78(
    command: list[str], environment: dict[str, str], line: str, tmp_path: Path
) -> None:
    result = run(command, environment, tmp_path)
    assert (result.exit_code, result.stderr, result.stdout) == (
        78, f"error: invalid settings: {line}\n", "")
    assert "s3cret" not in result.output


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=lambda command: command[0])
def test_an_unwritable_sqlite_path_is_one_line_and_exit_78(
    command: list[str], tmp_path: Path
) -> None:
    result = run(command, {"ESS_DATABASE_URL": "sqlite:////proc/ess-atlas.sqlite3"}, tmp_path)
    assert (result.exit_code, result.stderr) == (
        78, "error: invalid settings: ESS_DATABASE_URL: cannot open "
        "sqlite:////proc/ess-atlas.sqlite3: unable to open database file\n")


def test_a_postgresql_database_not_in_utf8_is_one_line_and_exit_78(
    postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    name = f"ascii_{os.getpid()}"
    postgres_cluster.execute("postgres", f"CREATE DATABASE {name} ENCODING 'SQL_ASCII' "
                             "LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    try:
        result = run(["duplicates"], {"ESS_DATABASE_URL": postgres_cluster.url(name)}, tmp_path)
    finally:
        postgres_cluster.drop_database(name)
    assert (result.exit_code, result.stderr) == (
        78, "error: invalid settings: ESS_DATABASE_URL: the database's encoding is SQL_ASCII; "
        "ess-atlas needs UTF8 (create it with: createdb --encoding=UTF8 --template=template0 "
        "NAME)\n")


def test_every_problem_is_named_on_the_one_line(tmp_path: Path) -> None:
    result = run(["duplicates"], {"ESS_DATA_DIR": "/nonexistent", "ESS_TILE_URL": "x"}, tmp_path)
    assert (result.exit_code, result.stderr) == (78, (
        "error: invalid settings: ESS_TILE_URL is not a setting (did you mean ESS_TILES_URL?); "
        "ESS_DATA_DIR: /nonexistent is not a directory\n"))


def test_exit_78_is_ex_config_of_sysexits() -> None:
    assert EXIT_CONFIG == 78


def test_variables_far_from_any_setting_are_named_without_a_guess() -> None:
    assert unknown_variables({"ESS_ZZZ": "1", "ESS_TILES_URL": "x", "PATH": "/bin"}) == [
        "ESS_ZZZ is not a setting"]


def test_the_database_password_is_masked() -> None:
    assert masked_url("postgresql+psycopg://atlas:s3cret@db.example:5432/atlas") == (
        "postgresql+psycopg://atlas:***@db.example:5432/atlas")


def test_serve_prints_the_database_without_its_password_and_a_bad_setting_in_one_line(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESS_")}
    env["ESS_DATABASE_URL"] = "postgresql+psycopg2://atlas:s3cret-pw@127.0.0.1:9/atlas"
    completed = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--port", "9"],
                               env=env, capture_output=True, text=True, timeout=60, check=False)
    assert (completed.returncode, completed.stdout, completed.stderr) == (
        78, "", "error: invalid settings: ESS_DATABASE_URL: postgresql+psycopg2 needs the Python "
        "package psycopg2, which is not installed\n")


@pytest.mark.parametrize(("text", "shown"), [
    ("Atelier\x1b[2J\x1b]0;pwned\x07", "Atelier\\x1b[2J\\x1b]0;pwned\\x07"),
    ("Caf\u00e9 \u202eevil", "Caf\u00e9 \\u202eevil"),
    ("a\x9bb\tc", "a\\x9bb\\x09c"),
    ("[bold]Nantes[/bold] \u2014 ok", "[bold]Nantes[/bold] \u2014 ok"),
])
def test_printable_text_shows_control_characters_as_escapes(text: str, shown: str) -> None:
    assert printable(text) == shown
