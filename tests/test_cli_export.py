"""`ess-atlas export`: the API's filters and formats, to a file, through the CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas
import pytest
from fastapi.testclient import TestClient
from postgres_cluster import BOTH_BACKENDS
from typer.testing import CliRunner, Result

from app.cli import cli
from app.config import Settings

BACKENDS = BOTH_BACKENDS


def run(settings: Settings, *args: str) -> Result:
    """Run `ess-atlas export` on the test database."""
    environment = {"ESS_DATABASE_URL": settings.database_url}
    return CliRunner().invoke(cli, ["export", *args], env=environment)


def listing_names(client: TestClient, **params: str) -> list[str]:
    """The names the API lists for these filters."""
    body = client.get("/api/organisations", params={"limit": 5000, **params}).json()
    return sorted(feature["properties"]["name"] for feature in body["features"])


@pytest.mark.parametrize("suffix", ["gpkg", "parquet", "geojson"])
def test_export_writes_what_the_api_lists_for_the_same_filters(
    client: TestClient, settings: Settings, tmp_path: Path, suffix: str
) -> None:
    output = tmp_path / f"sortie.{suffix}"
    result = run(settings, "--format", suffix, "--region", "11", "--category",
                 "cooperatives-activite", "--category", "mediation-numerique", "-o", str(output))
    assert result.exit_code == 0, result.output
    expected = listing_names(client, region="11", category=["cooperatives-activite",
                                                              "mediation-numerique"])
    assert len(expected) == 2
    assert result.stdout == f"written: 2 structures to {output}\n"
    frame = (geopandas.read_parquet(output) if suffix == "parquet"
             else geopandas.read_file(output))
    assert sorted(frame["name"]) == expected
    assert list(tmp_path.glob(".*.partial.*")) == []


def test_export_csv_with_commas(client: TestClient, settings: Settings, tmp_path: Path) -> None:
    output = tmp_path / "sortie.csv"
    result = run(settings, "-f", "csv", "--delimiter", ",", "-o", str(output))
    assert result.exit_code == 0, result.output
    lines = output.read_bytes().decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("id,name,description,")
    assert len(lines) - 2 == len(listing_names(client))


def test_a_wrong_filter_names_the_option_and_writes_nothing(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    output = tmp_path / "sortie.gpkg"
    result = run(settings, "-f", "gpkg", "--category", "nope", "-o", str(output))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --category: unknown category 'nope'; expected one of:")
    assert not output.exists()


def test_a_wrong_updated_since_is_refused(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    result = run(settings, "-f", "csv", "--updated-since", "hier", "-o", str(tmp_path / "x.csv"))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: --updated-since: updated_since: 'hier' is not an RFC 3339")


# What an export must not load: the importer, the dataframe libraries pyogrio and pyarrow
# only probe for, the web server (each tens of MB of resident memory).
NOT_FOR_EXPORTS = ("app.importer.commands", "app.importer.pipeline", "pandas", "geopandas",
                   "pyproj", "uvicorn")
EXPORT_THEN_LIST_MODULES = """
import sys
from app.cli import cli
try:
    cli(["export", "--format", "gpkg", "-o", sys.argv[1]])
except SystemExit as exit:
    print(exit.code)
print(",".join(name for name in sys.argv[2].split(",") if name in sys.modules))
"""


def test_an_export_loads_neither_the_importer_nor_dataframe_libraries(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    output = tmp_path / "sortie.gpkg"
    environment = {**os.environ, "ESS_DATABASE_URL": settings.database_url}
    finished = subprocess.run(
        [sys.executable, "-c", EXPORT_THEN_LIST_MODULES, str(output), ",".join(NOT_FOR_EXPORTS)],
        env=environment, capture_output=True, text=True, check=True, timeout=300)
    assert finished.stdout.splitlines()[-2:] == ["0", ""]
    assert len(geopandas.read_file(output)) == len(listing_names(client))
