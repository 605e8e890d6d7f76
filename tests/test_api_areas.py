"""GET /api/areas/bounds: the bounds of every région and département from the shipped polygons."""

from __future__ import annotations

from fastapi.testclient import TestClient
from postgres_cluster import BOTH_BACKENDS

from app.regions import list_departements, list_regions

BACKENDS = BOTH_BACKENDS

LYON = (4.8357, 45.7640)
MARSEILLE = (5.3698, 43.2965)


def inside(point: tuple[float, float], bounds: list[float]) -> bool:
    return bounds[0] <= point[0] <= bounds[2] and bounds[1] <= point[1] <= bounds[3]


def test_bounds_cover_every_region_and_departement(client: TestClient) -> None:
    response = client.get("/api/areas/bounds")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "public, max-age=86400"
    body = response.json()
    assert set(body) == {"regions", "departements"}
    assert set(body["regions"]) == {region.code for region in list_regions()}
    assert set(body["departements"]) == {d.code for d in list_departements()}
    for bounds in [*body["regions"].values(), *body["departements"].values()]:
        assert len(bounds) == 4 and bounds[0] < bounds[2] and bounds[1] < bounds[3]


def test_the_rhone_holds_lyon_and_not_marseille(client: TestClient) -> None:
    rhone = client.get("/api/areas/bounds").json()["departements"]["69"]
    assert inside(LYON, rhone)
    assert not inside(MARSEILLE, rhone)
    assert rhone[2] - rhone[0] < 1.5 and rhone[3] - rhone[1] < 1.5


def test_bounds_refuse_any_parameter(client: TestClient) -> None:
    response = client.get("/api/areas/bounds?code=69")
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "code"
