"""The wheel `python -m build` makes installs in a fresh venv and serves from /tmp.

One test, and a slow one: it builds the sdist and the wheel, installs the wheel and its
dependencies into a new virtual environment outside the checkout, and serves from there.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest
from servers import environment_without_settings, serving

from app.resources import shipped_file

CHECKOUT = Path(__file__).resolve().parents[1]


def build_wheel(out: Path) -> Path:
    """`python -m build` into `out` (sdist, then the wheel from the sdist); the wheel's path."""
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(CHECKOUT)],
                   check=True, capture_output=True)
    (wheel,) = out.glob("ess_atlas-*.whl")
    return wheel


def install_in_fresh_venv(wheel: Path, venv: Path) -> Path:
    """A new venv holding only the wheel and its dependencies; its bin/ folder."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                   check=True, capture_output=True, cwd=venv)
    return venv / "bin"


def shipped_names() -> list[str]:
    with shipped_file("organisations.csv").open(encoding="utf-8", newline="") as handle:
        return sorted(row["name"] for row in csv.DictReader(handle))


def data_members(wheel: Path) -> list[str]:
    """The wheel's files that are no Python module nor static asset of the map or /docs."""
    with zipfile.ZipFile(wheel) as archive:
        return sorted(name for name in archive.namelist()
                      if "/data/" in name or name.endswith(("LICENSE", "README.md")))


@pytest.mark.slow
def test_the_built_wheel_installs_and_serves_outside_the_checkout(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist")
    assert data_members(wheel) == [
        "app/data/categories.yaml", "app/data/categories_juridiques.csv",
        "app/data/commune_epci.csv.gz", "app/data/departements.geojson", "app/data/labels.yaml",
        "app/data/naf.csv", "app/data/naf_sectors.csv", "app/data/organisations.csv",
        "app/data/regions.geojson", "app/data/tranches_effectif.csv",
        "ess_atlas-0.1.0.dist-info/licenses/LICENSE",
        "ess_atlas-0.1.0.dist-info/licenses/data/README.md",
        "geocode/data/communes.csv.gz", "geocode/data/communes_polygons.bin.xz",
    ]
    bin_dir = install_in_fresh_venv(wheel, tmp_path / "venv")
    workdir = tmp_path / "run"
    workdir.mkdir()
    log = tmp_path / "serve.log"
    with serving([str(bin_dir / "ess-atlas"), "serve"], environment_without_settings(), log,
                 cwd=workdir) as base:
        health = httpx.get(f"{base}/healthz")
        listing = httpx.get(f"{base}/api/organisations", params={"limit": 5000})
    assert (health.status_code, health.json()) == (200, {"status": "ok", "database": "ok"})
    assert listing.status_code == 200
    assert listing.headers["content-type"] == "application/geo+json"
    names = sorted(feature["properties"]["name"] for feature in listing.json()["features"])
    assert names == shipped_names()
    # The database went to var/ in the working directory, never beside the installed code.
    assert (workdir / "var" / "ess-atlas.sqlite3").is_file()
