"""GET /api/categories, /api/regions, /healthz, /docs, and the 500 shape."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.taxonomy import load_taxonomy


def test_categories_follow_the_taxonomy_with_counts(client: TestClient, settings) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/categories")
    assert response.status_code == 200
    body = response.json()
    taxonomy = load_taxonomy(settings.categories_yaml)
    assert [c["slug"] for c in body] == [c.slug for c in taxonomy.categories]
    counts = {c["slug"]: c["count"] for c in body}
    assert counts["mediation-numerique"] == 2
    assert counts["reemploi"] == 1
    assert counts["civic-tech"] == 0
    first = body[0]
    assert set(first) == {"slug", "label_fr", "label_en", "color", "parent", "count"}
    assert first["color"].startswith("#")


def test_regions_have_counts_and_departements(client: TestClient) -> None:
    body = client.get("/api/regions").json()
    assert len(body) == 18
    by_code = {r["code"]: r for r in body}
    assert by_code["11"]["name"] == "Île-de-France"
    assert by_code["11"]["count"] == 3
    assert by_code["94"]["count"] == 1
    paris = {d["code"]: d for d in by_code["11"]["departements"]}
    assert paris["75"]["count"] == 2
    assert paris["93"]["count"] == 1
    assert by_code["28"]["count"] == 0


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/organisations" in spec["paths"]
    assert "/api/nearby" in spec["paths"]


def test_reference_endpoints_reject_unknown_parameters(client: TestClient) -> None:
    response = client.get("/api/categories", params={"lang": "fr"})
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "lang"


def test_a_500_shows_no_traceback(app: FastAPI) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json() == {
        "error": {
            "status": 500,
            "code": "internal_error",
            "message": f"internal error; it has been logged with request id {request_id}",
        }
    }
    assert "secret" not in response.text
    assert "Traceback" not in response.text
