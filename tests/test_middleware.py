"""The HTTP envelope (app/middleware.py) on a real uvicorn server: 500s, request ids, HEAD."""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser import free_port, running_server
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


class Records(logging.Handler):
    """Every log record of the process, uvicorn's included (its loggers do not propagate)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self, level: int = logging.INFO) -> list[str]:
        return [
            line
            for record in self.records
            if record.levelno >= level
            for line in self.format(record).splitlines()
        ]


@pytest.fixture
def log_records() -> Iterator[Records]:
    handler = Records()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.error", "asyncio")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def failing_app(settings: Settings) -> FastAPI:
    app = create_app(settings)

    def explode() -> None:
        raise RuntimeError("the disk is on fire\nsecond line of the message")

    app.add_api_route("/test/explode", explode)
    return app


@pytest.fixture
def failing_server(settings: Settings, log_records: Records) -> Iterator[tuple[str, int]]:
    port = free_port()
    with running_server(failing_app(settings), port):
        log_records.records.clear()
        yield "127.0.0.1", port


def test_a_500_keeps_the_keep_alive_connection_usable(failing_server: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*failing_server, timeout=10)
    connection.request("GET", "/test/explode")
    failed = connection.getresponse()
    body = json.loads(failed.read())
    assert failed.status == 500
    assert failed.getheader("Connection") is None
    assert failed.will_close is False
    local_address = connection.sock.getsockname()
    connection.auto_open = False  # a reconnection would be an error, not a silent retry
    connection.request("GET", "/healthz")
    after = connection.getresponse()
    assert after.status == 200
    assert json.loads(after.read())["status"] == "ok"
    assert connection.sock.getsockname() == local_address
    assert body["error"]["status"] == 500
    assert body["error"]["code"] == "internal_error"
    connection.close()


def test_a_500_logs_one_line_with_the_request_id(
    failing_server: tuple[str, int], log_records: Records
) -> None:
    connection = http.client.HTTPConnection(*failing_server, timeout=10)
    connection.request("GET", "/test/explode")
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    request_id = response.getheader("X-Request-ID")
    assert request_id is not None and len(request_id) == 32
    assert request_id in body["error"]["message"]
    assert "Traceback" not in json.dumps(body) and "fire" not in json.dumps(body)
    lines = log_records.lines(logging.INFO)
    assert lines == [
        f"app.middleware ERROR request {request_id}: GET /test/explode failed: "
        "RuntimeError: the disk is on fire"
    ]


def test_every_answer_carries_a_distinct_request_id(failing_server: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*failing_server, timeout=10)
    ids = set()
    for path in ("/healthz", "/api/organisations/999", "/nowhere", "/healthz"):
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        ids.add(response.getheader("X-Request-ID"))
    connection.close()
    assert len(ids) == 4 and None not in ids


API_CSP = "default-src 'none'; frame-ancestors 'none'"
EVERY_KIND_OF_ANSWER = [
    "/api/organisations",
    "/api/organisations/1",
    "/ogc",
    "/ogc/collections",
    "/ogc/collections/organisations/items?limit=3",
    "/ogc/collections/organisations/items/1",
    "/api/organisations/99999",
    "/api/organisations?limit=ten",
    "/api/categories",
    "/api/nearby?lat=48.85&lon=2.35",
    "/api/imports",
    "/healthz",
    "/openapi.json",
    "/nowhere",
    "/test/explode",
]


@pytest.fixture
def failing_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(failing_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("path", EVERY_KIND_OF_ANSWER)
def test_every_api_answer_carries_the_security_headers(
    failing_client: TestClient, path: str
) -> None:
    response = failing_client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"] == API_CSP


@pytest.mark.parametrize("path", ["/", "/docs", "/static/leaflet/leaflet.js"])
def test_pages_keep_their_own_policy_and_get_the_rest(
    failing_client: TestClient, path: str
) -> None:
    response = failing_client.get(path)
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "referrer-policy" in response.headers
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_the_map_page_keeps_its_strict_csp(failing_client: TestClient) -> None:
    response = failing_client.get("/")
    csp = response.headers["content-security-policy"]
    assert csp.startswith("default-src 'none'; script-src 'self'")
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


GET_ROUTES = [
    "/",
    "/docs",
    "/openapi.json",
    "/healthz",
    "/api/organisations",
    "/api/organisations?limit=5000",
    "/api/organisations/1",
    "/api/organisations/99999",
    "/api/nearby?lat=48.85&lon=2.35&radius_km=50",
    "/api/categories",
    "/api/regions",
    "/api/geocode?q=Lyon",
    "/api/imports",
    "/static/leaflet/leaflet.js",
]
VARYING_HEADERS = {"date", "x-request-id"}


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("head")
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite:///{directory / 'atlas.sqlite3'}",
        default_directory=Path(__file__).parent / "fixtures" / "api_directory.csv",
        geocoder_url=None,
        geocoder_cache_path=directory / "cache.sqlite3",
        geocode_api_burst=100,
    )
    port = free_port()
    with running_server(create_app(settings), port) as base_url:
        yield base_url


@pytest.mark.parametrize("path", GET_ROUTES)
def test_head_answers_like_get_without_a_body(plain_server: str, path: str) -> None:
    with httpx.Client(base_url=plain_server, timeout=60) as client:
        got = client.get(path)
        head = client.head(path)
    assert head.status_code == got.status_code != 405
    assert head.content == b""
    expected = {k: v for k, v in got.headers.items() if k not in VARYING_HEADERS}
    assert {k: v for k, v in head.headers.items() if k not in VARYING_HEADERS} == expected


def test_405_names_every_method_of_the_path(failing_client: TestClient) -> None:
    response = failing_client.delete("/api/imports")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("path", ["/api/organisations?limit=5000", "/api/categories",
                                  "/api/regions", "/openapi.json"])
def test_answers_are_gzipped_when_the_client_accepts_it(plain_server: str, path: str) -> None:
    with httpx.Client(base_url=plain_server, timeout=60) as client:
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.headers["content-type"] == plain.headers["content-type"]
    assert zipped.json() == plain.json()
    assert int(zipped.headers.get("content-length", 0)) < len(plain.content)
