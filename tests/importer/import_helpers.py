"""Helpers of the importer tests: fixture paths and reads of the stored rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from app.importer.report import ImportReport

IMPORT_FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
VARIANTS = IMPORT_FIXTURES / "variants"
MESSY = IMPORT_FIXTURES / "messy"
NETWORK = IMPORT_FIXTURES / "network"
REGISTRIES = IMPORT_FIXTURES / "registries"
REPOSITORY = Path(__file__).parents[2]

Importer = Callable[..., ImportReport]
CsvWriter = Callable[..., Path]
# Columns that differ between two databases holding the same structures.
BOOKKEEPING = ("id", "created_at", "updated_at")


def stored_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every stored structure, bookkeeping columns left out, in key order."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM organisation ORDER BY key")).mappings()
        return [{k: v for k, v in row.items() if k not in BOOKKEEPING} for row in rows]


def stored_names(engine: Engine) -> list[str]:
    """The names of the stored structures, sorted."""
    with engine.connect() as connection:
        return sorted(connection.execute(text("SELECT name FROM organisation")).scalars())


def count_rows(engine: Engine, table: str) -> int:
    """How many rows a table holds."""
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608


def alias_bomb(levels: int = 9) -> bytes:
    """A "billion laughs" YAML: a few hundred bytes, 9**levels strings once expanded."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefghijklmnop", "bcdefghijklmnop"[: levels - 1], strict=False):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()
