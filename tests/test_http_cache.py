"""ETag and If-None-Match on collections and items (app/http_cache.py, app/data_version.py)."""

from __future__ import annotations

import pytest
from export_data import add_structure, app_engine
from fastapi.testclient import TestClient
from postgres_cluster import BOTH_BACKENDS
from sqlalchemy import Engine

from app.data_version import data_version, version_query
from app.db import session_scope
from app.http_cache import matches
from app.storage import delete_organisation

BACKENDS = BOTH_BACKENDS

OGC_ITEMS = "/ogc/collections/organisations/items"
OGC_DATA = ["/ogc/collections", "/ogc/collections/organisations", f"{OGC_ITEMS}?limit=2",
            f"{OGC_ITEMS}/1"]
JSON, HTML = "application/geo+json, application/json", "text/html"


def test_a_second_listing_request_with_the_etag_gets_304(client: TestClient) -> None:
    first = client.get("/api/organisations", params={"category": "habitat"})
    tag = first.headers["etag"]
    assert tag.startswith('W/"')
    again = client.get("/api/organisations", params={"category": "habitat"},
                       headers={"If-None-Match": tag})
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["etag"] == tag
    assert again.headers["last-modified"] == first.headers["last-modified"]


def test_an_item_gets_304_for_its_etag(client: TestClient) -> None:
    tag = client.get("/api/organisations/1").headers["etag"]
    again = client.get("/api/organisations/1", headers={"If-None-Match": f'"x", {tag}'})
    assert again.status_code == 304


def test_other_parameters_have_another_etag(client: TestClient) -> None:
    one = client.get("/api/organisations", params={"limit": 1}).headers["etag"]
    two = client.get("/api/organisations", params={"limit": 2}).headers["etag"]
    assert one != two
    response = client.get("/api/organisations", params={"limit": 2}, headers={"If-None-Match": one})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/organisations", OGC_ITEMS])
def test_a_write_changes_the_etag(client: TestClient, path: str) -> None:
    tag = client.get(path).headers["etag"]
    add_structure(app_engine(client.app), "Une nouvelle")  # type: ignore[arg-type]
    response = client.get(path, headers={"If-None-Match": tag})
    assert response.status_code == 200
    assert response.headers["etag"] != tag


def test_the_data_version_moves_on_insert_update_and_delete(engine: Engine) -> None:
    versions = []
    with engine.connect() as connection:
        versions.append(data_version(connection).tag)
    structure = add_structure(engine, "Atelier")
    with engine.connect() as connection:
        versions.append(data_version(connection).tag)
    add_structure(engine, "Atelier", description="changed")
    with engine.connect() as connection:
        versions.append(data_version(connection).tag)
    with session_scope(engine) as session:
        delete_organisation(session=session, organisation_id=structure)
    with engine.connect() as connection:
        versions.append(data_version(connection).tag)
    assert len(set(versions)) == 4


def test_if_none_match_uses_weak_comparison_and_star() -> None:
    assert matches('W/"abc"', '"abc"')
    assert matches('"abc"', 'W/"abc"')
    assert matches("*", 'W/"abc"')
    assert not matches('"abd", "abcd"', 'W/"abc"')
    assert not matches(None, 'W/"abc"')


@pytest.mark.sqlite_only("reads SQLite's EXPLAIN QUERY PLAN")
def test_the_data_version_reads_index_ends_only(engine: Engine) -> None:
    add_structure(engine, "Atelier")
    with engine.connect() as connection:
        sql = str(version_query().compile(connection))
        plan = [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    assert [step for step in plan if step.startswith(("SCAN", "SEARCH"))
            and step != "SCAN CONSTANT ROW"] == [
        "SEARCH organisation", "SEARCH organisation USING COVERING INDEX "
        "ix_organisation_updated_at", "SEARCH deletion",
        "SEARCH deletion USING COVERING INDEX ix_deletion_deleted_at"]


@pytest.mark.parametrize("path", OGC_DATA)
@pytest.mark.parametrize(("accept", "other"), [(JSON, HTML), (HTML, JSON)])
def test_ogc_collections_and_items_get_304_for_their_etag(
    client: TestClient, path: str, accept: str, other: str,
) -> None:
    first = client.get(path, headers={"Accept": accept})
    tag = first.headers["etag"]
    assert first.status_code == 200
    assert "Accept" in first.headers["vary"].split(", ")
    again = client.get(path, headers={"Accept": accept, "If-None-Match": tag})
    assert (again.status_code, again.content) == (304, b"")
    assert (again.headers["etag"], again.headers["last-modified"]) == (
        tag, first.headers["last-modified"])
    assert again.headers["access-control-allow-origin"] == "*"
    other_format = client.get(path, headers={"Accept": other, "If-None-Match": tag})
    assert other_format.status_code == 200
    assert other_format.headers["etag"] != tag


@pytest.mark.parametrize(("path", "status", "parameter"), [
    (f"{OGC_ITEMS}?limit=0", 400, "limit"),
    ("/ogc/collections/nope", 404, "collectionId"),
    (f"{OGC_ITEMS}/0", 404, "featureId"),
])
def test_a_wrong_ogc_request_is_refused_before_any_304(
    client: TestClient, path: str, status: int, parameter: str,
) -> None:
    response = client.get(path, headers={"If-None-Match": "*"})
    assert response.status_code == status
    assert response.json()["error"]["parameter"] == parameter
