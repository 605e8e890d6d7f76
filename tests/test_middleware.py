"""The HTTP envelope (app/middleware.py) on a real uvicorn server: 500s, request ids, HEAD."""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Iterator

import pytest
from browser import free_port, running_server
from fastapi import FastAPI

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
