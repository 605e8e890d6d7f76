"""What a mirror needs to stay in step: updated_since, and the deletions feed."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from export_data import add_structure, app_engine
from fastapi.testclient import TestClient
from postgres_cluster import BOTH_BACKENDS
from sqlalchemy import Engine, select

from app.db import session_scope
from app.duplicates import merge_candidate
from app.models import DuplicateCandidate, Organisation
from app.queries import OrganisationFilter, filter_conditions
from app.storage import delete_organisation

BACKENDS = BOTH_BACKENDS


def now_text() -> str:
    """The current time as RFC 3339, after a short pause so later writes are strictly later."""
    time.sleep(0.01)
    moment = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    time.sleep(0.01)
    return moment


def test_updated_since_returns_only_what_was_added_or_changed(client: TestClient) -> None:
    engine = app_engine(client.app)  # type: ignore[arg-type]
    kept, changed = add_structure(engine, "Inchangée"), add_structure(engine, "Modifiée")
    total = client.get("/api/organisations").json()["numberMatched"]
    mark = now_text()
    add_structure(engine, "Modifiée", description="nouvelle description")
    added = add_structure(engine, "Ajoutée après")
    body = client.get("/api/organisations", params={"updated_since": mark}).json()
    assert [f["id"] for f in body["features"]] == [changed, added]
    assert body["numberMatched"] == 2
    assert kept not in {f["id"] for f in body["features"]}
    everything = client.get("/api/organisations", params={"updated_since": "2000-01-01"}).json()
    assert everything["numberMatched"] == total + 1


def test_updated_since_with_an_offset_is_the_same_instant(client: TestClient) -> None:
    mark = now_text()
    add_structure(app_engine(client.app), "Ajoutée")  # type: ignore[arg-type]
    in_paris = datetime.fromisoformat(mark).astimezone().isoformat()
    utc = client.get("/api/organisations", params={"updated_since": mark}).json()
    local = client.get("/api/organisations", params={"updated_since": in_paris}).json()
    assert utc["numberMatched"] == local["numberMatched"] == 1


@pytest.mark.parametrize(("path", "params"), [
    ("/api/nearby", {"lat": "45.76", "lon": "4.84", "radius_km": "5"}),
    ("/api/clusters", {"zoom": "5"}),
    ("/api/facets", {}),
])
def test_the_map_reads_take_updated_since_too(
    client: TestClient, path: str, params: dict[str, str],
) -> None:
    before = client.get(path, params=params).json()["numberMatched"]
    assert client.get(path, params={**params, "updated_since": "2000-01-01"}).json()[
        "numberMatched"] == before
    mark = now_text()
    added = add_structure(app_engine(client.app), "Ajoutée à Lyon")  # type: ignore[arg-type]
    body = client.get(path, params={**params, "updated_since": mark}).json()
    assert body["numberMatched"] == 1
    if path == "/api/facets":
        assert {c["value"]: c["count"] for c in body["categories"]}["habitat"] == 1
    else:
        assert [f["id"] for f in body["features"]] == [added]


def test_updated_since_that_is_no_date_is_400(client: TestClient) -> None:
    response = client.get("/api/organisations", params={"updated_since": "yesterday"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["parameter"] == "updated_since"
    assert "RFC 3339" in error["message"]


def test_the_deletions_feed_lists_a_deleted_and_a_merged_structure(client: TestClient) -> None:
    engine = app_engine(client.app)  # type: ignore[arg-type]
    first, second, third = (add_structure(engine, f"Structure {n}") for n in range(3))
    mark = now_text()
    with session_scope(engine) as session:
        delete_organisation(session=session, organisation_id=first)
        candidate = DuplicateCandidate(first_id=second, second_id=third, rule="same_name")
        session.add(candidate)
        session.flush()
        assert candidate.id is not None
        merge_candidate(session=session, candidate_id=candidate.id, keep_id=second)
    body = client.get("/api/deletions", params={"since": mark}).json()
    entries = [(e["organisation_id"], e["reason"], e["merged_into"]) for e in body["deletions"]]
    assert entries == [(first, "deleted", None), (third, "merged", second)]
    assert body["numberMatched"] == body["numberReturned"] == 2
    assert client.get(f"/api/organisations/{third}").status_code == 404


def test_the_deletions_feed_is_keyset_paged(client: TestClient) -> None:
    engine = app_engine(client.app)  # type: ignore[arg-type]
    ids = [add_structure(engine, f"Structure {n}") for n in range(3)]
    with session_scope(engine) as session:
        for organisation_id in ids:
            delete_organisation(session=session, organisation_id=organisation_id)
    first = client.get("/api/deletions", params={"since": "2000-01-01T00:00:00Z", "limit": 2})
    body = first.json()
    assert [e["organisation_id"] for e in body["deletions"]] == ids[:2]
    assert body["numberMatched"] == 3
    [link] = body["links"]
    rest = client.get(link["href"]).json()
    assert [e["organisation_id"] for e in rest["deletions"]] == ids[2:]
    assert rest["links"] == []


def test_the_deletions_feed_needs_since(client: TestClient) -> None:
    response = client.get("/api/deletions")
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "since"


@pytest.mark.sqlite_only("reads SQLite's EXPLAIN QUERY PLAN")
def test_updated_since_is_read_from_the_updated_at_index(engine: Engine) -> None:
    add_structure(engine, "Atelier")
    since = datetime(2026, 1, 1, tzinfo=UTC)
    table = Organisation.__table__  # type: ignore[attr-defined]
    query = (select(table.c.id).where(*filter_conditions(OrganisationFilter(updated_since=since)))
             .order_by(table.c.id).limit(100))
    with engine.connect() as connection:
        sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
        plan = [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
    # Active structures only (the default status filter): each id is checked on that index.
    assert plan == ["SEARCH organisation USING COVERING INDEX ix_organisation_status "
                    "(status=? AND rowid=?)", "LIST SUBQUERY 1",
                    "SEARCH organisation USING COVERING INDEX ix_organisation_updated_at "
                    "(updated_at>?)"]
