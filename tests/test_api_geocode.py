"""GET /api/geocode: offline communes and postcodes, addresses from the real addok, limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.ratelimit import ClientRateLimiter

SettingsFactory = Callable[..., Settings]
ClientFactory = Callable[..., TestClient]
JSON = "application/json"
UNREACHABLE = "http://127.0.0.1:9"
MONTREUIL = {
    "label": "Montreuil (93)",
    "kind": "municipality",
    "lat": 48.86343,
    "lon": 2.44878,
    "citycode": "93048",
    "postcode": "93100",
    "departement": "93",
    "bbox": [2.4153, 48.8487, 2.4828, 48.8785],
    "source": "gazetteer",
}
SAINT_ETIENNE = {
    "label": "Saint-Étienne (42)",
    "kind": "municipality",
    "lat": 45.43025,
    "lon": 4.37861,
    "citycode": "42218",
    "postcode": None,
    "departement": "42",
    "bbox": [4.2442, 45.3723, 4.4888, 45.4765],
    "source": "gazetteer",
}
POSTCODE_93100 = {**MONTREUIL, "label": "93100 Montreuil", "kind": "postcode"}
COOPANAME = {
    "label": "3 Rue Albert Marquet 75020 Paris",
    "kind": "housenumber",
    "lat": 48.85535,
    "lon": 2.40745,
    "citycode": "75120",
    "postcode": "75020",
    "departement": "75",
    "bbox": None,
    "source": "ban",
}


@pytest.fixture
def make_client(make_settings: SettingsFactory) -> Iterator[ClientFactory]:
    """Clients of apps built with these settings overrides (no directory preloaded)."""
    clients: list[TestClient] = []

    def build(client: tuple[str, int] = ("testclient", 50000), **overrides: Any) -> TestClient:
        settings = make_settings(load_default_directory=False, **overrides)
        test_client = TestClient(create_app(settings), client=client)
        clients.append(test_client.__enter__())
        return test_client

    yield build
    for test_client in clients:
        test_client.__exit__(None, None, None)


@pytest.fixture
def offline(make_client: ClientFactory) -> TestClient:
    return make_client()


def error(status: int, message: str, parameter: str | None = None) -> dict[str, Any]:
    code = {400: "invalid_parameter", 429: "too_many_requests"}[status]
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if parameter is not None:
        body["parameter"] = parameter
    return {"error": body}


# --------------------------------------------------------------------------- offline


def test_montreuil_is_found_offline(offline: TestClient) -> None:
    response = offline.get("/api/geocode", params={"q": "Montreuil", "limit": 1})

    assert (response.status_code, response.headers["content-type"]) == (200, JSON)
    assert response.json() == {"query": "Montreuil", "results": [MONTREUIL], "warnings": []}


def test_montreuil_homonyms_follow_by_population(offline: TestClient) -> None:
    response = offline.get("/api/geocode", params={"q": "Montreuil", "limit": 3})

    assert [(hit["label"], hit["citycode"]) for hit in response.json()["results"]] == [
        ("Montreuil (93)", "93048"),
        ("Montreuil (85)", "85148"),
        ("Montreuil (28)", "28267"),
    ]


def test_postcode_93100_is_found_offline(offline: TestClient) -> None:
    response = offline.get("/api/geocode", params={"q": "93100"})

    assert (response.status_code, response.headers["content-type"]) == (200, JSON)
    assert response.json() == {"query": "93100", "results": [POSTCODE_93100], "warnings": []}


def test_saint_etienne_is_found_offline(offline: TestClient) -> None:
    response = offline.get("/api/geocode", params={"q": "Saint-Étienne", "limit": 1})

    assert (response.status_code, response.headers["content-type"]) == (200, JSON)
    assert response.json() == {
        "query": "Saint-Étienne",
        "results": [SAINT_ETIENNE],
        "warnings": [],
    }


@pytest.mark.parametrize("text", ["saint etienne", "ST-ETIENNE", "  Saint-Étienne  "])
def test_saint_etienne_is_found_without_accents_case_or_spaces(
    offline: TestClient, text: str
) -> None:
    response = offline.get("/api/geocode", params={"q": text, "limit": 1})

    assert response.json()["results"] == [SAINT_ETIENNE]


def test_an_address_finds_nothing_offline(offline: TestClient) -> None:
    response = offline.get("/api/geocode", params={"q": "3 rue Albert Marquet"})

    assert response.json() == {"query": "3 rue Albert Marquet", "results": [], "warnings": []}


# --------------------------------------------------------------------------- with addok


@pytest.mark.addok
def test_an_address_query_returns_its_housenumber_from_addok(
    make_client: ClientFactory, addok_url: str
) -> None:
    client = make_client(geocoder_url=addok_url)

    response = client.get("/api/geocode", params={"q": "3 rue Albert Marquet 75020 Paris"})

    assert (response.status_code, response.headers["content-type"]) == (200, JSON)
    assert response.json() == {
        "query": "3 rue Albert Marquet 75020 Paris",
        "results": [COOPANAME],
        "warnings": [],
    }


@pytest.mark.addok
def test_a_town_query_lists_communes_then_its_streets_from_addok(
    make_client: ClientFactory, addok_url: str
) -> None:
    client = make_client(geocoder_url=addok_url)

    response = client.get("/api/geocode", params={"q": "Montreuil", "limit": 8})

    assert [(hit["label"], hit["source"]) for hit in response.json()["results"]] == [
        ("Montreuil (93)", "gazetteer"),
        ("Montreuil (85)", "gazetteer"),
        ("Montreuil (28)", "gazetteer"),
        ("Montreuil-Juigné (49)", "gazetteer"),
        ("Rue de Paris 93100 Montreuil", "ban"),
        ("Rue Franklin 93100 Montreuil", "ban"),
        ("Rue de Vincennes 93100 Montreuil", "ban"),
        ("Avenue de la Résistance 93100 Montreuil", "ban"),
    ]


def test_ban_down_answers_offline_results_with_a_warning(make_client: ClientFactory) -> None:
    client = make_client(geocoder_url=UNREACHABLE)

    response = client.get("/api/geocode", params={"q": "Montreuil", "limit": 1})

    assert (response.status_code, response.headers["content-type"]) == (200, JSON)
    assert response.json() == {
        "query": "Montreuil",
        "results": [MONTREUIL],
        "warnings": [
            "address search is unavailable (unavailable): only communes and postcodes are listed"
        ],
    }


# --------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize(
    ("params", "body"),
    [
        (
            {"q": "Montreuil", "city": "x"},
            error(400, "unknown query parameter 'city'; expected one of: limit, q", "city"),
        ),
        ({}, error(400, "q: Field required", "q")),
        ({"q": "M"}, error(400, "q: String should have at least 2 characters (got 'M')", "q")),
        (
            {"q": "M" * 201},
            error(400, f"q: String should have at most 200 characters (got '{'M' * 201}')", "q"),
        ),
        ({"q": "  "}, error(400, "q must have at least 2 characters besides spaces", "q")),
        (
            {"q": "Montreuil", "limit": "21"},
            error(400, "limit: Input should be less than or equal to 20 (got '21')", "limit"),
        ),
        (
            {"q": "Montreuil", "limit": "0"},
            error(400, "limit: Input should be greater than or equal to 1 (got '0')", "limit"),
        ),
        (
            {"q": "Montreuil", "limit": "ten"},
            error(
                400,
                "limit: must be an integer written with the ASCII digits 0-9 (got 'ten')",
                "limit",
            ),
        ),
    ],
)
def test_bad_parameters_are_400(
    offline: TestClient, params: dict[str, str], body: dict[str, Any]
) -> None:
    response = offline.get("/api/geocode", params=params)

    assert (response.status_code, response.headers["content-type"]) == (400, JSON)
    assert response.json() == body


# --------------------------------------------------------------------------- rate limit


def test_a_client_past_its_burst_gets_429_with_retry_after(make_client: ClientFactory) -> None:
    client = make_client(geocode_api_rate_limit=0.001, geocode_api_burst=2)

    statuses = [client.get("/api/geocode", params={"q": "Lyon"}).status_code for _ in range(2)]
    refused = client.get("/api/geocode", params={"q": "Lyon"})

    assert statuses == [200, 200]
    assert (refused.status_code, refused.headers["content-type"]) == (429, JSON)
    assert refused.json() == error(429, "too many place searches from this client; see Retry-After")
    assert 1 <= int(refused.headers["retry-after"]) <= 1000


def test_the_limit_is_per_client(make_client: ClientFactory) -> None:
    first = make_client(("192.0.2.1", 4000), geocode_api_rate_limit=0.001, geocode_api_burst=1)
    answers = [first.get("/api/geocode", params={"q": "Lyon"}).status_code for _ in range(2)]
    with TestClient(first.app, client=("192.0.2.2", 4000)) as second:
        other = second.get("/api/geocode", params={"q": "Lyon"})

    assert (answers, other.status_code) == ([200, 429], 200)


# The limiter itself, on a clock the test moves by hand.


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_limiter_allows_the_burst_then_tells_how_long_to_wait() -> None:
    limiter = ClientRateLimiter(rate=4.0, burst=3, clock=ManualClock())

    waits = [limiter.take("203.0.113.7") for _ in range(4)]

    assert waits == [0.0, 0.0, 0.0, 0.25]


def test_limiter_refills_at_its_rate_up_to_the_burst() -> None:
    clock = ManualClock()
    limiter = ClientRateLimiter(rate=4.0, burst=2, clock=clock)
    for _ in range(2):
        limiter.take("203.0.113.7")

    clock.now += 0.25
    after_one_token = [limiter.take("203.0.113.7") for _ in range(2)]
    clock.now += 60.0
    after_a_minute = [limiter.take("203.0.113.7") for _ in range(3)]

    assert after_one_token == [0.0, 0.25]
    assert after_a_minute == [0.0, 0.0, 0.25]


def test_limiter_forgets_the_least_recent_client_beyond_its_bound() -> None:
    limiter = ClientRateLimiter(rate=1.0, burst=1, max_clients=2, clock=ManualClock())
    limiter.take("a")
    limiter.take("b")
    limiter.take("a")  # "a" is now the most recent client: "b" is forgotten first

    limiter.take("c")

    assert len(limiter) == 2
    assert (limiter.take("a"), limiter.take("b")) == (1.0, 0.0)


@pytest.mark.parametrize(("rate", "burst", "max_clients"), [(0.0, 1, 1), (1.0, 0, 1), (1.0, 1, 0)])
def test_limiter_refuses_settings_that_would_never_allow_a_request(
    rate: float, burst: int, max_clients: int
) -> None:
    with pytest.raises(ValueError, match="need rate > 0, burst >= 1, max_clients >= 1"):
        ClientRateLimiter(rate, burst, max_clients=max_clients)
