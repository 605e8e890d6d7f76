"""OGC API – Features under /ogc driven by real clients: GDAL's OAPIF driver and OWSLib.

One `ess-atlas serve` in a subprocess over 12,000 synthetic structures, written with the
bulk writer before the server starts; its access log shows what the clients sent.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aggregate_data import france_records, write
from owslib.ogcapi.features import Features
from test_cli_serve import serve_in_subprocess

from app.db import create_schema, make_engine

TOTAL = 12_000
ITEMS = "/ogc/collections/organisations/items"
PARIS = (2.25, 48.81, 2.42, 48.90)
GDAL_TIMEOUT_S = 300


@dataclass(frozen=True)
class Served:
    base: str
    log: Path

    def matched(self, **params: Any) -> int:
        body = httpx.get(f"{self.base}{ITEMS}", params={**params, "limit": 1}).json()
        return int(body["numberMatched"])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("ogc")
    engine = make_engine(f"sqlite:///{folder / 'serve.sqlite3'}")
    create_schema(engine)
    write(engine, france_records(TOTAL))
    engine.dispose()
    with serve_in_subprocess(folder) as base:
        yield Served(base, folder / "serve.log")


def gdal(*arguments: str) -> str:
    result = subprocess.run(arguments, capture_output=True, text=True, timeout=GDAL_TIMEOUT_S,
                            check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_ogrinfo_lists_the_collection_with_number_matched_as_its_feature_count(
    served: Served,
) -> None:
    report = gdal("ogrinfo", "-so", f"OAPIF:{served.base}/ogc", "organisations")
    assert "Layer name: organisations" in report
    assert "Geometry: Point" in report
    assert f"Feature Count: {served.matched()}\n" in report
    assert served.matched() == TOTAL


def test_ogr2ogr_pages_through_every_feature_into_a_geopackage(
    served: Served, tmp_path: Path,
) -> None:
    target = tmp_path / "organisations.gpkg"
    gdal("ogr2ogr", "-oo", "PAGE_SIZE=1000", "-f", "GPKG", str(target),
         f"OAPIF:{served.base}/ogc", "organisations")
    with sqlite3.connect(target) as connection:
        count, distinct, lowest, highest = connection.execute(
            "SELECT count(*), count(DISTINCT fid), min(fid), max(fid) FROM organisations"
        ).fetchone()
    assert (count, distinct, lowest, highest) == (TOTAL, TOTAL, 1, TOTAL)


def test_gdal_spatial_and_attribute_filters_reach_the_server(served: Served) -> None:
    before = served.log.read_text(encoding="utf-8")
    report = gdal("ogrinfo", "-so", "-oo", "PAGE_SIZE=100", "-spat", *map(str, PARIS),
                  "-where", "departement = '75'", f"OAPIF:{served.base}/ogc", "organisations")
    requests = served.log.read_text(encoding="utf-8")[len(before):]
    sent = [line for line in requests.splitlines() if f"GET {ITEMS}?" in line]
    # The first request only samples the schema; every page read for the count is filtered.
    filtered = [line for line in sent if "bbox=2.25%2C48.81" in line and "departement=75" in line]
    assert len(filtered) >= 2, requests
    assert all(line in filtered for line in sent if "after=" in line), requests
    expected = served.matched(bbox=",".join(map(str, PARIS)), departement="75")
    assert 0 < expected < TOTAL
    assert f"Feature Count: {expected}\n" in report


def test_a_limit_above_the_largest_page_is_clamped(served: Served) -> None:
    response = httpx.get(f"{served.base}{ITEMS}", params={"limit": 6000})
    assert response.status_code == 200
    body = response.json()
    assert (body["numberReturned"], body["numberMatched"]) == (5000, TOTAL)
    assert len(body["features"]) == 5000
    [following] = [link for link in body["links"] if link["rel"] == "next"]
    assert following["href"] == f"{served.base}{ITEMS}?limit=6000&after=5000"


def test_owslib_reads_collections_items_in_a_bbox_and_one_item(served: Served) -> None:
    client = Features(f"{served.base}/ogc")
    assert [c["id"] for c in client.collections()["collections"]] == ["organisations"]
    page = client.collection_items("organisations", bbox=list(PARIS), limit=50)
    expected = served.matched(bbox=",".join(map(str, PARIS)))
    assert page["numberMatched"] == expected
    assert page["numberReturned"] == len(page["features"]) == min(50, expected)
    for feature in page["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert PARIS[0] <= lon <= PARIS[2] and PARIS[1] <= lat <= PARIS[3]
    first = page["features"][0]
    one = client.collection_item("organisations", str(first["id"]))
    assert (one["id"], one["properties"]) == (first["id"], first["properties"])
