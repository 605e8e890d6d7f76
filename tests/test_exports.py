"""Exports read back by the clients analysts use: geopandas, Python's csv; HTTP file semantics."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import geopandas
import pytest
from export_data import (
    FORMULA_CITY,
    FORMULA_NAME,
    PRIVATE_VALUES,
    add_structure,
    app_engine,
)
from fastapi.testclient import TestClient
from postgres_cluster import BOTH_BACKENDS
from shapely.geometry import Point

from app.geojson import PROPERTY_COLUMNS
from app.safecsv import restore_cell

BACKENDS = BOTH_BACKENDS

EXPORTS = "/api/exports/organisations"
PRIVATE_COLUMNS = set(PRIVATE_VALUES)


# A structure with a value of every kind a column holds: enum, booleans, dates, lists.
EVERY_KIND = {"legal_form": "cooperative", "esus": True, "esus_date": date(2021, 3, 4),
              "creation_date": date(1999, 12, 31), "labels": ["aci", "ei"],
              "categories": ["habitat", "reemploi"], "headcount_band": "11"}


@pytest.fixture
def loaded(client: TestClient) -> TestClient:
    """The API fixture directory, a structure whose name and city are formulas, and one
    with a value of every kind."""
    engine = app_engine(client.app)  # type: ignore[arg-type]
    add_structure(engine, FORMULA_NAME, city=FORMULA_CITY)
    add_structure(engine, "Toutes les sortes", **EVERY_KIND)
    return client


def api_features(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    """Every feature the listing gives for these filters (one page holds them all)."""
    body = client.get("/api/organisations", params={"limit": 5000, **params}).json()
    assert body["numberReturned"] == body["numberMatched"]
    features: list[dict[str, Any]] = body["features"]
    return features


def downloaded(client: TestClient, tmp_path: Path, suffix: str, **params: Any) -> Path:
    """Save an export answer to a file and return its path."""
    response = client.get(f"{EXPORTS}.{suffix}", params=params)
    assert response.status_code == 200, response.text
    path = tmp_path / f"download.{suffix}"
    path.write_bytes(response.content)
    return path


def read_back(path: Path) -> geopandas.GeoDataFrame:
    """The file as geopandas reads it."""
    if path.suffix == ".parquet":
        return geopandas.read_parquet(path)
    return geopandas.read_file(path)


def assert_same_as_api(frame: geopandas.GeoDataFrame, features: list[dict[str, Any]]) -> None:
    """Same count, same property columns, same points, same names as the API's features."""
    assert len(frame) == len(features)
    assert set(frame.columns) - {"id", "geometry"} == set(PROPERTY_COLUMNS)
    assert set(features[0]["properties"]) == set(PROPERTY_COLUMNS)
    by_name = {f["properties"]["name"]: f for f in features}
    assert set(frame["name"]) == set(by_name)
    for name, point in zip(frame["name"], frame.geometry, strict=True):
        assert point == Point(by_name[name]["geometry"]["coordinates"])


@pytest.mark.parametrize("suffix", ["geojson", "geojsonseq", "gpkg", "parquet"])
def test_geopandas_reads_back_the_whole_dataset_as_the_api_gives_it(
    loaded: TestClient, tmp_path: Path, suffix: str
) -> None:
    frame = read_back(downloaded(loaded, tmp_path, suffix))
    assert_same_as_api(frame, api_features(loaded))
    assert frame.crs.equals("OGC:CRS84", ignore_axis_order=True)


@pytest.mark.parametrize("suffix", ["geojson", "gpkg", "parquet"])
def test_a_filtered_export_holds_what_the_filtered_listing_holds(
    loaded: TestClient, tmp_path: Path, suffix: str
) -> None:
    params = {"category": "mediation-numerique", "bbox": "-5,41,10,51"}
    features = api_features(loaded, **params)
    assert len(features) == 2
    assert_same_as_api(read_back(downloaded(loaded, tmp_path, suffix, **params)), features)


def test_the_geojson_export_holds_the_api_features_value_for_value(
    loaded: TestClient,
) -> None:
    exported = loaded.get(f"{EXPORTS}.geojson").json()["features"]
    assert exported == api_features(loaded)
    every_kind = next(f for f in exported if f["properties"]["name"] == "Toutes les sortes")
    assert {name: every_kind["properties"][name] for name in EVERY_KIND} == {
        "legal_form": "cooperative", "esus": True, "esus_date": "2021-03-04",
        "creation_date": "1999-12-31", "labels": ["aci", "ei"],
        "categories": ["habitat", "reemploi"], "headcount_band": "11"}


def test_csv_cells_are_the_api_properties_as_text(loaded: TestClient) -> None:
    rows = {row["id"]: row for row in csv_rows(loaded.get(f"{EXPORTS}.csv").content)}
    for feature in api_features(loaded):
        row = rows[str(feature["id"])]
        for name, value in feature["properties"].items():
            text = ("|".join(value) if isinstance(value, list)
                    else "" if value is None else str(value))
            assert restore_cell(row[name]) == text, name
        assert (float(row["lon"]), float(row["lat"])) == tuple(feature["geometry"]["coordinates"])


def test_parquet_keeps_types_times_in_utc_and_booleans(
    loaded: TestClient, tmp_path: Path
) -> None:
    frame = read_back(downloaded(loaded, tmp_path, "parquet"))
    row = frame[frame["name"] == "Toutes les sortes"].iloc[0]
    feature = next(f for f in api_features(loaded)
                   if f["properties"]["name"] == "Toutes les sortes")
    assert row["esus"] is True or row["esus"] == True  # noqa: E712  (numpy's bool)
    assert row["id"] == feature["id"]
    assert row["updated_at"].isoformat().replace("+00:00", "Z") == (
        feature["properties"]["updated_at"])
    assert str(frame["updated_at"].dtype) == "datetime64[us, UTC]"


def test_categories_are_one_pipe_joined_text_column_in_table_formats(
    loaded: TestClient, tmp_path: Path
) -> None:
    frame = read_back(downloaded(loaded, tmp_path, "gpkg"))
    assert "mediation-numerique|reemploi" in set(frame["categories"])


def csv_rows(content: bytes, delimiter: str = ";") -> list[dict[str, str]]:
    """The records of a CSV export as Python's csv module reads them."""
    assert content.startswith(b"\xef\xbb\xbf")
    text = content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_csv_opens_with_python_csv_semicolons_bom_and_no_private_field(
    loaded: TestClient,
) -> None:
    response = loaded.get(f"{EXPORTS}.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = csv_rows(response.content)
    assert len(rows) == len(api_features(loaded))
    assert list(rows[0]) == ["id", *PROPERTY_COLUMNS, "lon", "lat"]
    assert PRIVATE_COLUMNS.isdisjoint(rows[0])
    for value in PRIVATE_VALUES.values():
        assert value not in response.content.decode("utf-8-sig")
    coopaname = next(row for row in rows if row["name"] == "Coopaname")
    assert (coopaname["lon"], coopaname["lat"]) == ("2.4075", "48.8554")


def test_csv_formula_cells_come_back_prefixed(loaded: TestClient) -> None:
    rows = csv_rows(loaded.get(f"{EXPORTS}.csv").content)
    [row] = [row for row in rows if restore_cell(row["name"]) == FORMULA_NAME]
    assert row["name"] == "'" + FORMULA_NAME
    assert row["city"] == "'" + FORMULA_CITY


def test_csv_with_commas_when_asked(loaded: TestClient) -> None:
    response = loaded.get(f"{EXPORTS}.csv", params={"delimiter": ","})
    rows = csv_rows(response.content, delimiter=",")
    assert len(rows) == len(api_features(loaded))
    assert rows[0]["categories"] != ""


def test_a_delimiter_on_another_format_is_400(loaded: TestClient) -> None:
    response = loaded.get(f"{EXPORTS}.geojson", params={"delimiter": ","})
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "delimiter"


def test_an_unknown_parameter_is_400(loaded: TestClient) -> None:
    response = loaded.get(f"{EXPORTS}.csv", params={"limit": 5})
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "limit"


def test_geojsonseq_is_one_rfc8142_record_per_structure(loaded: TestClient) -> None:
    response = loaded.get(f"{EXPORTS}.geojsonseq")
    assert response.headers["content-type"] == "application/geo+json-seq"
    records = response.content.split(b"\n")
    assert records[-1] == b""
    assert len(records) - 1 == len(api_features(loaded))
    assert all(record.startswith(b'\x1e{"type":"Feature"') for record in records[:-1])


def test_the_whole_dataset_is_a_file_with_length_validators_and_ranges(
    loaded: TestClient,
) -> None:
    whole = loaded.get(f"{EXPORTS}.gpkg", headers={"Accept-Encoding": "gzip"})
    assert whole.headers["content-length"] == str(len(whole.content))
    assert "content-encoding" not in whole.headers
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["etag"].startswith('"organisations-')
    assert whole.headers["last-modified"].endswith(" GMT")
    assert whole.headers["access-control-allow-origin"] == "*"
    part = loaded.get(f"{EXPORTS}.gpkg", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert part.content == whole.content[100:200]
    head = loaded.head(f"{EXPORTS}.gpkg")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(whole.content))
    again = loaded.get(f"{EXPORTS}.gpkg", headers={"If-None-Match": whole.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")


def test_the_whole_dataset_is_written_once_per_data_version(
    loaded: TestClient, tmp_path: Path
) -> None:
    exports = tmp_path / "exports"
    first = loaded.get(f"{EXPORTS}.geojson")
    files = sorted(exports.glob("organisations-*.geojson"))
    assert len(files) == 1
    written_at = files[0].stat().st_mtime_ns
    second = loaded.get(f"{EXPORTS}.geojson")
    assert second.headers["etag"] == first.headers["etag"]
    assert files[0].stat().st_mtime_ns == written_at
    add_structure(app_engine(loaded.app), "Nouvelle structure")  # type: ignore[arg-type]
    third = loaded.get(f"{EXPORTS}.geojson")
    assert third.headers["etag"] != first.headers["etag"]
    assert len(third.json()["features"]) == len(first.json()["features"]) + 1
    assert len(list(exports.glob("organisations-*.geojson"))) == 2


def test_a_filtered_text_export_is_streamed(loaded: TestClient) -> None:
    response = loaded.get(f"{EXPORTS}.geojson", params={"region": "11"})
    assert response.status_code == 200
    assert "content-length" not in response.headers
    assert "accept-ranges" not in response.headers
    assert response.headers["content-disposition"] == (
        'attachment; filename="organisations-filtered.geojson"')
    assert len(response.json()["features"]) == len(api_features(loaded, region="11"))
