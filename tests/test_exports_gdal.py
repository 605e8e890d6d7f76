"""GDAL opens the exports over HTTP from a real server: /vsicurl/ reads the GeoPackage by ranges."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from postgres_cluster import BOTH_BACKENDS, DatabaseUrls
from test_cli_serve import serve_in_subprocess

BACKENDS = BOTH_BACKENDS


@pytest.fixture(scope="module")
def server_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the server keeps its database, exports and log (serve.log, with the access log)."""
    return tmp_path_factory.mktemp("gdal")


@pytest.fixture(scope="module")
def served(server_folder: Path, database_urls: DatabaseUrls) -> Iterator[str]:
    """ess-atlas serve (default directory) on a free loopback port, on a new database of the
    module's backend, exports in its own folder."""
    with serve_in_subprocess(server_folder, "--workers", "1",
                             ESS_DATABASE_URL=database_urls(server_folder),
                             ESS_EXPORT_DIR=str(server_folder / "exports")) as base:
        yield base


def ogrinfo(*arguments: str) -> str:
    """Run Debian's ogrinfo; its output."""
    result = subprocess.run(["ogrinfo", "-ro", *arguments], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_vsicurl_opens_the_geopackage_export_with_every_structure(
    served: str, server_folder: Path
) -> None:
    matched = httpx.get(f"{served}/api/organisations", params={"limit": 1}).json()["numberMatched"]
    url = f"/vsicurl/{served}/api/exports/organisations.gpkg"
    summary = ogrinfo("-so", "--config", "CPL_VSIL_CURL_ALLOWED_EXTENSIONS", ".gpkg", url,
                      "organisations")
    assert f"Feature Count: {matched}" in summary
    assert "Geometry: Point" in summary
    assert re.search(r"^categories: String", summary, re.MULTILINE)
    assert "contact_name" not in summary
    access_log = (server_folder / "serve.log").read_text()
    assert '"HEAD /api/exports/organisations.gpkg HTTP/1.1" 200' in access_log
    assert '"GET /api/exports/organisations.gpkg HTTP/1.1" 206' in access_log


def test_vsicurl_reads_one_feature_by_its_id(served: str) -> None:
    url = f"/vsicurl/{served}/api/exports/organisations.gpkg"
    feature = ogrinfo(url, "organisations", "-where", "id = 1")
    name = httpx.get(f"{served}/api/organisations/1").json()["properties"]["name"]
    assert f"name (String) = {name}" in feature


def test_gdal_reads_the_streamed_geojson_export(served: str, tmp_path: Path) -> None:
    matched = httpx.get(f"{served}/api/organisations",
                        params={"category": "habitat", "limit": 1}).json()["numberMatched"]
    assert matched > 0
    summary = ogrinfo("-so", f"{served}/api/exports/organisations.geojson?category=habitat",
                      "OGRGeoJSON")
    assert f"Feature Count: {matched}" in summary
