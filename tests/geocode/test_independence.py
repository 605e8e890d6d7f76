"""geocode/ stands alone: it never imports app, and needs only stdlib, httpx, shapely, numpy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import geocode

PACKAGE_DIR = Path(geocode.__file__).parent
ALLOWED_THIRD_PARTY = frozenset({"httpx", "shapely", "numpy"})


def geocode_modules() -> list[Path]:
    return sorted(PACKAGE_DIR.rglob("*.py"))


def imported_top_level_names(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def test_every_geocode_module_is_scanned() -> None:
    scanned = {module.stem for module in geocode_modules()}
    assert {"__init__", "base", "ban", "cache", "chain", "ratelimit"} <= scanned


def test_geocode_never_imports_app() -> None:
    importers = [
        module.name for module in geocode_modules() if "app" in imported_top_level_names(module)
    ]
    assert importers == []


def test_geocode_imports_only_stdlib_httpx_shapely_numpy() -> None:
    outside = {
        module.name: sorted(
            name
            for name in imported_top_level_names(module)
            if name not in sys.stdlib_module_names
            and name != "geocode"
            and name not in ALLOWED_THIRD_PARTY
        )
        for module in geocode_modules()
    }
    assert {module: names for module, names in outside.items() if names} == {}


IMPORT_PROBE = """
import sys
import geocode.ban, geocode.cache, geocode.chain
print(sorted(name for name in sys.modules if name.partition(".")[0] == "app"))
"""


def test_importing_the_address_chain_loads_no_app_module() -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
