"""CORS (app/cors.py): public reads open to every origin without credentials; admin closed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

ORIGIN = {"Origin": "https://umap.example"}
PUBLIC_PATHS = ["/api/organisations", "/api/organisations/1", "/api/categories",
                "/api/exports/organisations.geojson", "/api/deletions?since=2000-01-01T00:00:00Z",
                "/ogc", "/ogc/api", "/ogc/collections/organisations",
                "/ogc/collections/organisations/items", "/ogc/collections/organisations/items/1"]


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_a_public_get_is_shared_with_every_origin(client: TestClient, path: str) -> None:
    response = client.get(path, headers=ORIGIN)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "ETag" in response.headers["access-control-expose-headers"]
    assert "access-control-allow-credentials" not in response.headers


def test_a_preflight_of_a_public_read_gets_204_with_the_allowed_headers(
    client: TestClient,
) -> None:
    response = client.options("/api/organisations", headers={
        **ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match"})
    assert (response.status_code, response.content) == (204, b"")
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS"
    assert "If-None-Match" in response.headers["access-control-allow-headers"]
    assert response.headers["access-control-max-age"] == "86400"
    assert "access-control-allow-credentials" not in response.headers


def test_a_preflight_of_a_write_gets_no_cors_headers(client: TestClient) -> None:
    response = client.options("/api/organisations", headers={
        **ORIGIN, "Access-Control-Request-Method": "DELETE"})
    assert response.status_code == 405
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_admin_routes_carry_no_cors_header(client: TestClient, method: str) -> None:
    response = client.request(method, "/api/imports", headers=ORIGIN)
    assert response.status_code == 401
    assert not [name for name in response.headers if name.startswith("access-control-")]


def test_an_admin_preflight_is_not_answered(client: TestClient) -> None:
    response = client.options("/api/imports", headers={
        **ORIGIN, "Access-Control-Request-Method": "GET"})
    assert response.status_code == 405
    assert not [name for name in response.headers if name.startswith("access-control-")]
