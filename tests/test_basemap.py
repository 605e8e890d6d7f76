"""GET /api/basemap/…: simplified polygons of France and names of communes with structures."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

from app.basemap import BasemapLayer, layer_geojson
from app.commune_names import communes_in_box
from app.regions import DEPARTEMENTS_FILE, list_departements, list_regions
from app.spatial import BBox

# The three layers together, gzipped, stay small enough for a first page load.
MAX_GZIPPED_BYTES = 300_000


@pytest.mark.parametrize(("layer", "codes"), [
    ("regions", [r.code for r in list_regions()]),
    ("departements", [d.code for d in list_departements()])])
def test_each_area_is_a_valid_simplified_polygon(client: TestClient, layer: str,
                                                 codes: list[str]) -> None:
    response = client.get(f"/api/basemap/{layer}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert response.headers["cache-control"] == "public, max-age=86400"
    features = response.json()["features"]
    assert sorted(f["properties"]["code"] for f in features) == sorted(codes)
    assert all(shape(f["geometry"]).is_valid for f in features)


def mainland_holes(features: list[dict[str, Any]]) -> int:
    """How many holes the union of the polygons has inside mainland France."""
    union = shapely.union_all([shape(f["geometry"]) for f in features])
    return len(max(union.geoms, key=lambda polygon: polygon.area).interiors)


def test_simplified_departements_open_no_gap_between_neighbours() -> None:
    simplified = json.loads(layer_geojson(BasemapLayer.DEPARTEMENTS))["features"]
    with DEPARTEMENTS_FILE.open(encoding="utf-8") as shipped:
        original = json.load(shipped)["features"]
    # Llívia and two slivers of the source are its only holes: simplifying adds none.
    assert mainland_holes(simplified) == mainland_holes(original) == 3


def test_land_covers_paris_and_not_the_sea(client: TestClient) -> None:
    land = shape(client.get("/api/basemap/land").json()["features"][0]["geometry"])
    assert land.contains(shapely.Point(2.35, 48.85))
    assert land.contains(shapely.Point(55.45, -21.1))  # La Réunion
    assert not land.contains(shapely.Point(-4.0, 46.0))  # Bay of Biscay


def test_the_three_layers_weigh_under_300_kb_gzipped() -> None:
    total = sum(len(gzip.compress(layer_geojson(layer), 5)) for layer in BasemapLayer)
    assert total < MAX_GZIPPED_BYTES


def test_commune_names_are_those_with_structures_in_the_box(client: TestClient) -> None:
    response = client.get("/api/basemap/communes", params={"bbox": "2.2,48.8,2.5,48.9"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    names = [f["properties"]["name"] for f in body["features"]]
    assert body["numberMatched"] == body["numberReturned"] == len(names) >= 1
    assert set(names) <= {"Paris", "Montreuil", "Paris 19e Arrondissement",
                          "Paris 20e Arrondissement"}
    assert "Nantes" not in names


def test_communes_in_box_finds_every_centre_inside_it() -> None:
    box = BBox(4.7, 45.6, 5.0, 45.9)
    names = {c.name for c in communes_in_box(box)}
    assert "Lyon" in names
    assert all(box.min_lon <= c.lon <= box.max_lon and box.min_lat <= c.lat <= box.max_lat
               for c in communes_in_box(box))


@pytest.mark.parametrize(("path", "params", "parameter"), [
    ("/api/basemap/communes", {"bbox": "0,40,4,45"}, "bbox"),
    ("/api/basemap/communes", {}, "bbox"),
    ("/api/basemap/communes", {"bbox": "2.2,48.8,2.5,48.9", "zoom": "12"}, "zoom"),
    ("/api/basemap/regions", {"simplify": "0"}, "simplify")])
def test_a_wrong_parameter_is_400_naming_it(client: TestClient, path: str,
                                            params: dict[str, str], parameter: str) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == parameter


def test_an_unknown_layer_is_a_400_naming_it(client: TestClient) -> None:
    response = client.get("/api/basemap/communes-polygons")
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "layer"
