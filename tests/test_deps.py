"""Request parsing (app/deps.py): every number is ASCII and within SQLite's 64 bits."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlmodel import Session

from app.deps import point_read

# `1_0`, Arabic-Indic, full-width and Devanagari digits, a non-breaking space, inf and nan:
# Python's int() and float() accept each of these; the API must not.
NOT_ASCII_NUMBERS = ["1_0", "١٢", "１２", "१२", "12\u00a0", "inf", "nan", "0x10"]

NUMERIC_PARAMETERS = [
    ("/api/organisations", {}, "limit"),
    ("/api/organisations", {}, "after"),
    ("/api/nearby", {"lat": "48.85", "lon": "2.35"}, "lat"),
    ("/api/nearby", {"lat": "48.85", "lon": "2.35"}, "lon"),
    ("/api/nearby", {"lat": "48.85", "lon": "2.35"}, "radius_km"),
    ("/api/nearby", {"lat": "48.85", "lon": "2.35"}, "limit"),
    ("/api/geocode", {"q": "Paris"}, "limit"),
]


def assert_invalid(response_json: dict[str, object], parameter: str) -> None:
    error = response_json["error"]
    assert isinstance(error, dict)
    assert error["status"] == 400
    assert error["code"] == "invalid_parameter"
    assert error["parameter"] == parameter


@pytest.mark.parametrize("text", NOT_ASCII_NUMBERS)
@pytest.mark.parametrize(("path", "params", "parameter"), NUMERIC_PARAMETERS)
def test_numbers_not_written_in_ascii_digits_are_400(
    client: TestClient, path: str, params: dict[str, str], parameter: str, text: str
) -> None:
    response = client.get(path, params={**params, parameter: text})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert_invalid(response.json(), parameter)


@pytest.mark.parametrize("text", NOT_ASCII_NUMBERS)
def test_bbox_parts_not_written_in_ascii_digits_are_400(client: TestClient, text: str) -> None:
    response = client.get("/api/organisations", params={"bbox": f"2,{text},3,60"})
    assert response.status_code == 400
    assert_invalid(response.json(), "bbox")


@pytest.mark.parametrize("text", ["1_0", "١٢", "１２", "+1 "])
def test_path_ids_not_written_in_ascii_digits_are_400(client: TestClient, text: str) -> None:
    response = client.get(f"/api/organisations/{text}")
    assert response.status_code == 400
    assert_invalid(response.json(), "organisation_id")


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/api/organisations", {"after": "99999999999999999999"}, "after"),
        ("/api/organisations", {"after": "9223372036854775808"}, "after"),
        ("/api/organisations", {"limit": "99999999999999999999"}, "limit"),
        ("/api/organisations/9223372036854775808", {}, "organisation_id"),
        ("/api/organisations/-9223372036854775809", {}, "organisation_id"),
        ("/api/organisations/" + "9" * 5000, {}, "organisation_id"),
        ("/api/nearby", {"lat": "1", "lon": "1", "limit": "99999999999999999999"}, "limit"),
        ("/api/geocode", {"q": "Paris", "limit": "99999999999999999999"}, "limit"),
    ],
)
def test_integers_beyond_64_bits_are_400_naming_the_parameter(
    client: TestClient, path: str, params: dict[str, str], parameter: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400
    assert_invalid(response.json(), parameter)


def test_the_largest_sqlite_integer_is_a_valid_id_and_after(client: TestClient) -> None:
    assert client.get("/api/organisations/9223372036854775807").status_code == 404
    response = client.get("/api/organisations", params={"after": "9223372036854775807"})
    assert response.status_code == 200
    assert response.json()["numberReturned"] == 0


@pytest.mark.parametrize(
    "params", [{"lat": "48.85", "lon": "2.35"}, {"lat": "+48.85", "lon": "2.35e0"},
               {"lat": "48.", "lon": ".35", "radius_km": "5"}]
)
def test_ascii_decimal_notations_are_accepted(client: TestClient, params: dict[str, str]) -> None:
    assert client.get("/api/nearby", params=params).status_code == 200


@pytest.mark.parametrize(("url", "on_the_loop"), [
    ("sqlite:///{folder}/atlas.sqlite3", True),
    # Never connected: the dispatch reads the dialect only.
    ("postgresql+psycopg://nobody@127.0.0.1:1/none", False),
])
def test_point_reads_run_on_the_event_loop_on_sqlite_only(
    tmp_path: Path, url: str, on_the_loop: bool
) -> None:
    engine = create_engine(url.format(folder=tmp_path))

    async def read_in_a_request() -> tuple[int, int]:
        with Session(engine) as session:
            read_by = await point_read(session, threading.get_ident)
        return threading.get_ident(), read_by

    loop_thread, read_by = anyio.run(read_in_a_request)
    engine.dispose()
    assert (read_by == loop_thread) is on_the_loop
