"""GET /api/nearby."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from postgres_cluster import BOTH_BACKENDS

from app.queries import haversine_m

BACKENDS = BOTH_BACKENDS

HOTEL_DE_VILLE = {"lat": 48.8566, "lon": 2.3522}


def test_nearby_is_sorted_by_distance_with_distance_m(client: TestClient) -> None:
    response = client.get("/api/nearby", params={**HOTEL_DE_VILLE, "radius_km": 10})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    features = response.json()["features"]
    assert [f["properties"]["name"] for f in features] == ["Coopaname", "Emmaüs Connect", "Simplon"]
    distances = [f["properties"]["distance_m"] for f in features]
    assert distances == sorted(distances)
    lon, lat = features[1]["geometry"]["coordinates"]
    expected = haversine_m(HOTEL_DE_VILLE["lat"], HOTEL_DE_VILLE["lon"], lat, lon)
    assert distances[1] == pytest.approx(expected, abs=0.1)


def test_nearby_respects_the_radius(client: TestClient) -> None:
    features = client.get("/api/nearby", params={**HOTEL_DE_VILLE, "radius_km": 5}).json()[
        "features"
    ]
    assert all(f["properties"]["distance_m"] <= 5000 for f in features)
    assert "Simplon" not in [f["properties"]["name"] for f in features]


def test_nearby_takes_the_same_filters(client: TestClient) -> None:
    params = {**HOTEL_DE_VILLE, "radius_km": 10, "category": "formation-numerique"}
    features = client.get("/api/nearby", params=params).json()["features"]
    assert [f["properties"]["name"] for f in features] == ["Simplon"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"lat": 91, "lon": 2}, "lat"),
        ({"lat": 48, "lon": 181}, "lon"),
        ({"lon": 2}, "lat"),
        ({"lat": 48, "lon": 2, "radius_km": 101}, "radius_km"),
        ({"lat": 48, "lon": 2, "radius_km": 0}, "radius_km"),
        ({"lat": 48, "lon": 2, "radius": 5}, "radius"),
    ],
)
def test_bad_nearby_parameters_are_400(
    client: TestClient, params: dict[str, Any], parameter: str
) -> None:
    response = client.get("/api/nearby", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == parameter


def test_lat_91_message_names_the_bound(client: TestClient) -> None:
    error = client.get("/api/nearby", params={"lat": 91, "lon": 2}).json()["error"]
    assert error["message"] == "lat: Input should be less than or equal to 90 (got '91')"
