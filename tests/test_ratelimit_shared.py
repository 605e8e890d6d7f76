"""Per-client limits shared through a real Redis (ESS_REDIS_URL), and per process without it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser import free_port
from redis_server import redis_server
from test_cli_serve import serve_in_subprocess

from app.errors import ServiceUnavailable
from app.ratelimit import ClientRateLimiter, SharedRateLimiter, rate_limiter

# Two searches a client, then one every 100 s: the third search is refused for 200 s.
LIMITS = {"ESS_GEOCODE_API_BURST": "2", "ESS_GEOCODE_API_RATE_LIMIT": "0.01"}
# One process a server, so that "per process" is "per server" here.
ONE_WORKER = ("--workers", "1")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def test_two_limiters_on_one_redis_share_a_clients_burst(redis_url: str) -> None:
    first = SharedRateLimiter(redis_url, 0.01, 3, name="share")
    second = SharedRateLimiter(redis_url, 0.01, 3, name="share")
    assert [first.take("192.0.2.1"), first.take("192.0.2.1"), second.take("192.0.2.1")] == [
        0.0, 0.0, 0.0]
    refused = second.take("192.0.2.1")
    assert 299 < refused <= 300
    assert 299 < first.wait("192.0.2.1") <= 300
    assert first.take("192.0.2.2") == 0.0


def test_waiting_takes_nothing_from_the_shared_burst(redis_url: str) -> None:
    limiter = SharedRateLimiter(redis_url, 0.01, 1, name="wait")
    assert [limiter.wait("192.0.2.9"), limiter.wait("192.0.2.9")] == [0.0, 0.0]
    assert limiter.take("192.0.2.9") == 0.0
    assert limiter.take("192.0.2.9") > 0


def test_limiters_of_different_names_count_apart(redis_url: str) -> None:
    searches = SharedRateLimiter(redis_url, 0.01, 1, name="searches")
    failures = SharedRateLimiter(redis_url, 0.01, 1, name="failures")
    assert [searches.take("192.0.2.3"), failures.take("192.0.2.3")] == [0.0, 0.0]


def test_a_redis_that_does_not_answer_is_a_503_not_an_unlimited_client() -> None:
    limiter = SharedRateLimiter(f"redis://127.0.0.1:{free_port()}/0", 1.0, 1, name="gone")
    with pytest.raises(ServiceUnavailable,
                       match=r"^the shared rate-limit store \(ESS_REDIS_URL\) does not answer$"):
        limiter.take("192.0.2.4")


def test_the_settings_choose_the_shared_limiter_only_with_a_redis_url(redis_url: str) -> None:
    assert isinstance(rate_limiter(redis_url, 1.0, 2, name="x"), SharedRateLimiter)
    assert isinstance(rate_limiter(None, 1.0, 2, name="x"), ClientRateLimiter)


def server_dirs(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    return tmp_path / "a", tmp_path / "b"


def searches(base: str, count: int) -> list[int]:
    return [httpx.get(f"{base}/api/geocode", params={"q": "Lyon"}).status_code
            for _ in range(count)]


def test_two_servers_on_one_redis_share_each_clients_limit(
    redis_url: str, tmp_path: Path
) -> None:
    one, other = server_dirs(tmp_path)
    with (serve_in_subprocess(one, *ONE_WORKER, ESS_REDIS_URL=redis_url, **LIMITS) as first,
          serve_in_subprocess(other, *ONE_WORKER, ESS_REDIS_URL=redis_url, **LIMITS) as second):
        assert searches(first, 2) == [200, 200]
        refused = httpx.get(f"{second}/api/geocode", params={"q": "Lyon"})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    assert 150 <= int(refused.headers["retry-after"]) <= 200
    assert refused.json() == {"error": {
        "status": 429, "code": "too_many_requests",
        "message": "too many place searches from this client; see Retry-After"}}


def test_without_redis_each_server_counts_on_its_own(tmp_path: Path) -> None:
    one, other = server_dirs(tmp_path)
    with (serve_in_subprocess(one, *ONE_WORKER, **LIMITS) as first,
          serve_in_subprocess(other, *ONE_WORKER, **LIMITS) as second):
        assert searches(first, 3) == [200, 200, 429]
        assert searches(second, 2) == [200, 200]
