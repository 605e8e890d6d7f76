"""Streamed GeoJSON (app/geojson.py) stops when the client goes away, on a real uvicorn."""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

import httpx
import orjson
import pytest
from browser import free_port, running_server
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_middleware import Records, log_records  # noqa: F401  (the fixture)

from app.config import Settings
from app.geojson import feature_collection_chunks, point_geometry, streamed_feature_collection
from app.main import create_app

COPIES = 600  # 8 fixture structures x 600 = 4,800 rows: one limit=5000 page


def multiply_rows(database: str, copies: int) -> int:
    """Copy every stored structure `copies` times (new keys); return the row count."""
    with sqlite3.connect(database) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(organisation)")]
        copied = [c for c in columns if c not in ("id", "key")]
        connection.execute(
            f"""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO organisation (key, {", ".join(copied)})
            SELECT key || '#' || i, {", ".join(copied)} FROM organisation, n""",  # noqa: S608
            (copies,),
        )
        (count,) = connection.execute("SELECT count(*) FROM organisation").fetchone()
    return int(count)


def drop_after_first_bytes(port: int, target: str, encoding: str = "identity") -> None:
    """Ask for `target`, read the first bytes, then close with the rest unread (a reset)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        request = f"GET {target} HTTP/1.1\r\nHost: test\r\nAccept-Encoding: {encoding}\r\n\r\n"
        sock.sendall(request.encode())
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")


@pytest.fixture
def big_server(settings: Settings, log_records: Records) -> Iterator[int]:  # noqa: F811
    with TestClient(create_app(settings)):
        pass  # the lifespan created the schema and loaded the fixture directory
    assert multiply_rows(settings.database_url.removeprefix("sqlite:///"), COPIES) > 4_000
    port = free_port()
    with running_server(create_app(settings.model_copy(update={"load_default_directory": False})),
                        port):
        log_records.records.clear()
        yield port


def test_a_streamed_answer_is_gzipped_part_by_part(big_server: int) -> None:
    """Each streamed part is flushed: what zlib decodes of the parts received so far always
    ends where one of the answer's chunks ends, and the whole reads back as the identity answer.
    """
    url = f"http://127.0.0.1:{big_server}/api/organisations?limit=5000"
    with httpx.Client(timeout=60) as client:
        plain = client.get(url, headers={"Accept-Encoding": "identity"}).content
        with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as response:
            assert response.headers["content-encoding"] == "gzip"
            assert "content-length" not in response.headers
            parts = [part for part in response.iter_raw() if part]
    answer = orjson.loads(plain)
    features = answer.pop("features")
    del answer["type"]
    chunks = list(feature_collection_chunks(features, answer))
    assert b"".join(chunks) == plain
    chunk_ends = set(accumulate(len(chunk) for chunk in chunks))
    decoder, decoded = zlib.decompressobj(16 + zlib.MAX_WBITS), b""
    for part in parts:
        decoded += decoder.decompress(part)
        assert len(decoded) in chunk_ends
    assert len(parts) > 1
    assert decoder.eof
    assert decoded == plain
    assert len(features) > 4_000


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_dropped_downloads_leave_no_trail_in_the_log(
    big_server: int, log_records: Records, encoding: str  # noqa: F811
) -> None:
    for _ in range(5):
        drop_after_first_bytes(big_server, "/api/organisations?limit=5000", encoding)
    time.sleep(1.0)
    lines = log_records.lines(logging.WARNING)
    assert not [line for line in lines if "socket.send() raised exception" in line]
    assert len(lines) <= 5


class CountingFeatures:
    """A million features made on demand, counting how many were asked for."""

    TOTAL = 1_000_000

    def __init__(self) -> None:
        self.produced = 0
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            for index in range(self.TOTAL):
                self.produced += 1
                yield {"type": "Feature", "id": index, "geometry": point_geometry(45.0, 5.0),
                       "properties": {"name": f"structure {index}", "text": "x" * 200}}
        finally:
            self.closed.set()


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_the_feature_generator_stops_when_the_client_goes_away(
    settings: Settings, encoding: str
) -> None:
    features = CountingFeatures()
    app: FastAPI = create_app(settings)
    app.add_api_route("/test/million", lambda: streamed_feature_collection(features, {}))
    port = free_port()
    with running_server(app, port):
        drop_after_first_bytes(port, "/test/million", encoding)
        assert features.closed.wait(timeout=120)
    assert features.produced < CountingFeatures.TOTAL // 10
