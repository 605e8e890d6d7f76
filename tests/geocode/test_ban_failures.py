"""BanGeocoder against a loopback HTTP server that misbehaves on purpose.

The server plays a script of canned answers (the last one repeats) and counts the
requests it received, so retries are observed from the server's side. Waits between
attempts go through the client's `sleep`, which the tests record instead of timing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from geocode.ban import (
    BanGeocoder,
    BanOptions,
    GeocoderServerError,
    csv_row_to_answer,
    feature_to_result,
    retry_after_seconds,
    validate_base_url,
)
from geocode.base import (
    AddressQuery,
    GeocoderBadResponse,
    GeocoderConfigError,
    GeocoderRateLimited,
    GeocoderUnavailable,
    Precision,
)
from geocode.ratelimit import TokenBucket


@dataclass(frozen=True)
class Answer:
    """One canned HTTP answer; `hang` seconds of silence before it."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    hang: float = 0.0
    chunked: bool = False


@dataclass
class Script:
    """What the server answers, in order, and what it saw."""

    answers: list[Answer] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    user_agents: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self, path: str, user_agent: str) -> Answer:
        with self.lock:
            self.paths.append(path)
            self.user_agents.append(user_agent)
            index = min(len(self.paths), len(self.answers)) - 1
            return self.answers[index]

    @property
    def requests(self) -> int:
        return len(self.paths)


class ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script: Script

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        self._answer()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""

    def _answer(self) -> None:
        answer = self.script.next_answer(self.path, self.headers.get("User-Agent", ""))
        if answer.hang:
            self.script.release.wait(answer.hang)
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        if answer.chunked:
            self._send_chunked(answer.body)
            return
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def _send_chunked(self, body: bytes) -> None:
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(body), 1024):
            piece = body[start : start + 1024]
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hang up on purpose here (timeouts, size cap): nothing to report."""


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def server_url(script: Script) -> Iterator[str]:
    handler = type("Handler", (ScriptedHandler,), {"script": script})
    server = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        script.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def waits() -> list[float]:
    """The delays the client asked to sleep between attempts."""
    return []


TEST_OPTIONS = BanOptions(
    max_attempts=3,
    backoff_seconds=0.5,
    read_timeout=2.0,
    connect_timeout=2.0,
    max_retry_after_seconds=30.0,
)


def make_client(url: str, waits: list[float], **options: Any) -> BanGeocoder:
    return BanGeocoder(url, replace(TEST_OPTIONS, **options), sleep=waits.append)


def feature(
    lon: float, lat: float, label: str = "3 Rue Albert Marquet 75020 Paris"
) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "label": label,
            "score": 0.91,
            "type": "housenumber",
            "citycode": "75120",
            "postcode": "75020",
        },
    }


def collection(*features: dict[str, object]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


PARIS = Answer(body=collection(feature(2.40745, 48.85535)))
COOPANAME = AddressQuery(street="3 rue Albert Marquet", postcode="75020", city="Paris")


def test_hanging_server_times_out_retries_then_is_unavailable(
    script: Script, server_url: str, waits: list[float]
) -> None:
    script.answers = [Answer(body=collection(), hang=30.0)]
    with (
        make_client(server_url, waits, read_timeout=0.2, max_attempts=2) as client,
        pytest.raises(GeocoderUnavailable, match="timed out"),
    ):
        client.geocode(COOPANAME)
    assert script.requests == 2
    assert waits == [0.5]


def test_429_waits_for_retry_after_seconds_then_succeeds(
    script: Script, server_url: str, waits: list[float]
) -> None:
    script.answers = [Answer(429, b"slow down", (("Retry-After", "7"),)), PARIS]
    with make_client(server_url, waits) as client:
        result = client.geocode(COOPANAME)
    assert (result.lat, result.lon, result.label) == (
        48.85535,
        2.40745,
        "3 Rue Albert Marquet 75020 Paris",
    )
    assert script.requests == 2
    assert waits == [7.0]


def test_429_retry_after_is_capped(script: Script, server_url: str, waits: list[float]) -> None:
    script.answers = [Answer(429, headers=(("Retry-After", "3600"),)), PARIS]
    with make_client(server_url, waits, max_retry_after_seconds=2.0) as client:
        client.geocode(COOPANAME)
    assert waits == [2.0]


def test_429_retry_after_http_date_in_the_past_waits_nothing(
    script: Script, server_url: str, waits: list[float]
) -> None:
    past = format_datetime(datetime.now(UTC) - timedelta(minutes=5), usegmt=True)
    script.answers = [Answer(429, headers=(("Retry-After", past),)), PARIS]
    with make_client(server_url, waits) as client:
        client.geocode(COOPANAME)
    assert waits == [0.0]


def test_retry_after_http_date_is_read_as_seconds_from_now() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Sun, 01 Mar 2026 12:00:42 GMT", now=now) == 42.0
    assert retry_after_seconds("120", now=now) == 120.0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None, now=now) is None


def test_429_forever_raises_rate_limited_after_bounded_attempts(
    script: Script, server_url: str, waits: list[float]
) -> None:
    script.answers = [Answer(429, headers=(("Retry-After", "1"),))]
    with (
        make_client(server_url, waits, max_attempts=4) as client,
        pytest.raises(GeocoderRateLimited),
    ):
        client.geocode(COOPANAME)
    assert script.requests == 4
    assert waits == [1.0, 1.0, 1.0]


def test_500_then_200_is_retried_after_backoff(
    script: Script, server_url: str, waits: list[float]
) -> None:
    script.answers = [Answer(500, b"oops"), PARIS]
    with make_client(server_url, waits) as client:
        result = client.geocode(COOPANAME)
    assert result.precision is Precision.HOUSENUMBER
    assert script.requests == 2
    assert waits == [0.5]


def test_always_500_backs_off_exponentially_then_is_unavailable(
    script: Script, server_url: str, waits: list[float]
) -> None:
    script.answers = [Answer(503, b"down")]
    with (
        make_client(server_url, waits, max_attempts=3) as client,
        pytest.raises(GeocoderServerError) as raised,
    ):
        client.geocode(COOPANAME)
    assert isinstance(raised.value, GeocoderUnavailable)
    assert raised.value.status_code == 503
    assert script.requests == 3
    assert waits == [0.5, 1.0]


def test_invalid_json_is_a_bad_response_and_not_retried(
    script: Script, server_url: str, waits: list[float]
) -> None:
    script.answers = [Answer(body=b"{not json")]
    with (
        make_client(server_url, waits) as client,
        pytest.raises(GeocoderBadResponse, match="not JSON"),
    ):
        client.geocode(COOPANAME)
    assert script.requests == 1
    assert waits == []


def test_json_that_is_not_a_feature_collection_is_a_bad_response(
    script: Script, server_url: str, waits: list[float]
) -> None:
    script.answers = [Answer(body=b'{"type": "Feature", "features": []}')]
    with (
        make_client(server_url, waits) as client,
        pytest.raises(GeocoderBadResponse, match="not a GeoJSON FeatureCollection"),
    ):
        client.geocode(COOPANAME)


def test_oversize_body_without_length_is_cut_off(
    script: Script, server_url: str, waits: list[float]
) -> None:
    big = collection(*[feature(2.40745, 48.85535)] * 200)
    script.answers = [Answer(body=big, chunked=True)]
    with (
        make_client(server_url, waits, max_response_bytes=4096) as client,
        pytest.raises(GeocoderBadResponse, match="exceeds the 4096-byte cap"),
    ):
        client.geocode(COOPANAME)
    assert script.requests == 1


def test_oversize_declared_length_is_refused(
    script: Script, server_url: str, waits: list[float]
) -> None:
    big = collection(*[feature(2.40745, 48.85535)] * 200)
    script.answers = [Answer(body=big)]
    with (
        make_client(server_url, waits, max_response_bytes=4096) as client,
        pytest.raises(GeocoderBadResponse, match=f"answer of {len(big)} bytes exceeds"),
    ):
        client.geocode(COOPANAME)


def test_redirect_is_not_followed(script: Script, server_url: str, waits: list[float]) -> None:
    script.answers = [Answer(302, headers=(("Location", f"{server_url}/elsewhere"),)), PARIS]
    with (
        make_client(server_url, waits) as client,
        pytest.raises(GeocoderBadResponse, match="redirects are not followed"),
    ):
        client.geocode(COOPANAME)
    assert script.paths == ["/search?q=3+rue+Albert+Marquet+75020+Paris&limit=1&autocomplete=0"]


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(-0.1276, 51.5072), (0.0, 0.0), (13.405, 52.52)],
    ids=["london", "null-island", "berlin"],
)
def test_result_outside_france_is_a_bad_response(
    script: Script, server_url: str, waits: list[float], lon: float, lat: float
) -> None:
    script.answers = [Answer(body=collection(feature(lon, lat)))]
    with (
        make_client(server_url, waits) as client,
        pytest.raises(GeocoderBadResponse, match="outside France"),
    ):
        client.geocode(COOPANAME)


def test_batch_chunk_that_keeps_failing_marks_every_row_unavailable(
    script: Script, server_url: str, waits: list[float]
) -> None:
    script.answers = [Answer(502, b"bad gateway")]
    queries = [COOPANAME, AddressQuery(city="Saint-Étienne"), AddressQuery(city="x")]
    with make_client(server_url, waits, max_attempts=2, batch_size=1) as client:
        answers = client.geocode_many(queries)
    assert [type(answer).__name__ for answer in answers] == [
        "GeocoderServerError",
        "GeocoderServerError",
        "PlaceNotFound",
    ]
    assert script.requests == 2  # the second chunk is not sent once the service is down


def test_requests_identify_ess_atlas(script: Script, server_url: str, waits: list[float]) -> None:
    script.answers = [PARIS]
    with make_client(server_url, waits) as client:
        client.geocode(COOPANAME)
    assert script.user_agents[0].startswith("ess-atlas/")
    assert script.user_agents[0].endswith("(+https://github.com/ess-atlas)")


def test_closed_port_is_unavailable(waits: list[float]) -> None:
    with (
        make_client("http://127.0.0.1:9", waits, max_attempts=2) as client,
        pytest.raises(GeocoderUnavailable, match="failed"),
    ):
        client.geocode(COOPANAME)
    assert waits == [0.5]


def test_token_bucket_allows_its_capacity_then_refuses() -> None:
    bucket = TokenBucket(rate=0.001, capacity=3)
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]


def test_token_bucket_hands_out_each_token_once_across_threads() -> None:
    bucket = TokenBucket(rate=0.001, capacity=50)
    granted: list[bool] = []
    lock = threading.Lock()

    def grab() -> None:
        for _ in range(25):
            taken = bucket.try_acquire()
            with lock:
                granted.append(taken)

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(True) == 50
    assert len(granted) == 200


# --------------------------------------------------------------------------- base URL


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://data.geopf.fr/geocodage/", "https://data.geopf.fr/geocodage"),
        ("http://127.0.0.1:7878", "http://127.0.0.1:7878"),
        ("HTTP://LocalHost:7878/", "http://localhost:7878"),
        ("http://[::1]:7878/", "http://[::1]:7878"),
        ("  https://api-adresse.data.gouv.fr  ", "https://api-adresse.data.gouv.fr"),
    ],
)
def test_base_url_loopback_and_public_hosts_are_allowed_and_normalised(
    url: str, normalised: str
) -> None:
    assert validate_base_url(url) == normalised


@pytest.mark.parametrize(
    "url",
    [
        "ftp://data.geopf.fr/geocodage",
        "file:///etc/passwd",
        "data.geopf.fr/geocodage",
        "http://169.254.169.254/latest/meta-data",
        "http://169.254.1.1:7878",
        "http://[fe80::1]:7878",
        "http://[fe80::1%25eth0]:7878",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:169.254.169.254]/",
        "http://metadata.google.internal/computeMetadata/v1",
        "http://METADATA.GOOGLE.INTERNAL./",
        "http://0xA9FEA9FE/",
        "http://2852039166/",
        "http://100.100.100.200/",
        "http://0.0.0.0:7878",
        "http://user:secret@data.geopf.fr/geocodage",
        "https://data.geopf.fr/geocodage?apikey=1",
        "http://127.0.0.1:99999",
        "http:///search",
    ],
)
def test_base_url_forbidden_or_malformed_is_a_config_error(url: str) -> None:
    with pytest.raises(GeocoderConfigError):
        validate_base_url(url)


def test_client_refuses_a_metadata_base_url() -> None:
    with pytest.raises(GeocoderConfigError, match="metadata"):
        BanGeocoder("http://169.254.169.254/")


# --------------------------------------------------------------------------- answers


def test_longitude_zero_is_a_real_coordinate() -> None:
    result = feature_to_result(feature(0.0, 44.85, "Rue du Méridien 33000 Test"))
    assert (result.lat, result.lon) == (44.85, 0.0)


def test_csv_longitude_zero_is_a_real_coordinate() -> None:
    row = {
        "latitude": "44.85",
        "longitude": "0.0",
        "result_label": "Rue du Méridien 33000 Test",
        "result_score": "0.9",
        "result_type": "street",
        "result_citycode": "33063",
        "result_postcode": "33000",
    }
    result = csv_row_to_answer(row)
    assert (result.lat, result.lon, result.precision) == (44.85, 0.0, Precision.STREET)


@pytest.mark.parametrize(
    "geometry",
    [
        None,
        {"type": "Point"},
        {"type": "Point", "coordinates": [2.4]},
        {"type": "Point", "coordinates": [None, 48.85]},
        {"type": "Point", "coordinates": [True, 48.85]},
        {"type": "Point", "coordinates": ["NaN", 48.85]},
        {"type": "LineString", "coordinates": [[2.4, 48.85], [2.5, 48.86]]},
    ],
)
def test_feature_without_usable_point_is_a_bad_response(geometry: object) -> None:
    broken = {**feature(2.40745, 48.85535), "geometry": geometry}
    with pytest.raises(GeocoderBadResponse):
        feature_to_result(broken)


def test_unknown_result_type_is_a_bad_response() -> None:
    broken = feature(2.40745, 48.85535)
    broken["properties"] = {**broken["properties"], "type": "poi"}  # type: ignore[dict-item]
    with pytest.raises(GeocoderBadResponse, match="unknown result type 'poi'"):
        feature_to_result(broken)
