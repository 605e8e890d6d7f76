"""GeocoderChain: a real SQLite cache, the real addok, the shipped gazetteer and reverse index.

One loopback server here answers a point that contradicts its own postcode, on purpose,
to exercise the reverse-lookup check; every other precise answer comes from real addok.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from geocode.ban import BanGeocoder, BanOptions
from geocode.base import (
    AddressQuery,
    AmbiguousPlace,
    GeocodeError,
    GeocodeResult,
    PlaceNotFound,
    Precision,
)
from geocode.cache import CacheStats, GeocodeCache
from geocode.chain import GeocoderChain
from geocode.gazetteer import Gazetteer, default_gazetteer
from geocode.reverse import ReverseIndex, default_reverse_index

COOPANAME = AddressQuery(street="3 rue Albert Marquet", postcode="75020", city="Paris")
UNREACHABLE = "http://127.0.0.1:9"
# Requests through a proxy on a closed port all fail: a client for the real addok's URL
# (same cache identity) that can only answer from the cache.
OFFLINE = BanOptions(max_attempts=1, proxy=UNREACHABLE)


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return default_gazetteer()


@pytest.fixture(scope="module")
def reverse_index() -> ReverseIndex:
    return default_reverse_index()


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[GeocodeCache]:
    with GeocodeCache(tmp_path / "geocode-cache.sqlite3") as opened:
        yield opened


@pytest.fixture
def ban(addok_url: str) -> Iterator[BanGeocoder]:
    with BanGeocoder(addok_url) as client:
        yield client


@pytest.fixture
def chain(
    cache: GeocodeCache, ban: BanGeocoder, gazetteer: Gazetteer, reverse_index: ReverseIndex
) -> GeocoderChain:
    return GeocoderChain(cache, ban, gazetteer, reverse_index, min_score=0.5)


def commune_point(gazetteer: Gazetteer, code: str) -> tuple[float, float]:
    commune = gazetteer.by_code(code)
    assert commune is not None
    return commune.lat, commune.lon


def outcome(answer: GeocodeResult | GeocodeError) -> str:
    if isinstance(answer, GeocodeResult):
        return f"{answer.source}: {answer.label} [{answer.precision}] {answer.citycode}"
    return f"{type(answer).__name__}"


# --------------------------------------------------------------------------- precise answers kept


@pytest.mark.parametrize(
    ("query", "label", "citycode"),
    [
        (COOPANAME, "3 Rue Albert Marquet 75020 Paris", "75120"),
        (
            AddressQuery(street="2 cours Napoléon", postcode="20000", city="Ajaccio"),
            "2 Cours Napoléon 20000 Ajaccio",
            "2A004",
        ),
        (
            AddressQuery(street="22 rue de Paris", postcode="97400", city="Saint-Denis"),
            "22 Rue de Paris 97400 Saint-Denis",
            "97411",
        ),
        (
            AddressQuery(street="1 place de Verdun", postcode="65000", city="Tarbes"),
            "1 Place de Verdun 65000 Tarbes",
            "65440",
        ),
        (
            AddressQuery(street="55 rue de Vincennes", postcode="93100", city="Montreuil"),
            "55 Rue de Vincennes 93100 Montreuil",
            "93048",
        ),
    ],
    ids=["paris", "corsica", "reunion", "near-greenwich", "montreuil"],
)
def test_consistent_precise_answer_is_kept(
    chain: GeocoderChain, query: AddressQuery, label: str, citycode: str
) -> None:
    result = chain.geocode(query)
    assert (result.source, result.label, result.precision, result.citycode, result.notes) == (
        "ban",
        label,
        Precision.HOUSENUMBER,
        citycode,
        (),
    )


# --------------------------------------------------------------------------- fallbacks


def test_low_score_falls_back_to_the_gazetteer_and_says_so(
    chain: GeocoderChain, gazetteer: Gazetteer
) -> None:
    result = chain.geocode(AddressQuery(street="12 rue de Paris", postcode="75020", city="Paris"))
    assert (result.source, result.precision, result.citycode) == (
        "gazetteer",
        Precision.MUNICIPALITY,
        "75120",
    )
    assert (result.lat, result.lon) == commune_point(gazetteer, "75120")
    assert result.notes == ("ban: score 0.39 below 0.5; fell back to gazetteer",)


def test_postcode_contradicting_the_input_falls_back(
    chain: GeocoderChain, gazetteer: Gazetteer
) -> None:
    query = AddressQuery(street="3 rue Franklin", postcode="93200", city="Saint-Denis")
    result = chain.geocode(query)
    assert (result.source, result.citycode, result.postcode) == ("gazetteer", "93066", "93200")
    assert (result.lat, result.lon) == commune_point(gazetteer, "93066")
    assert result.notes == ("ban: postcode 93100 contradicts 93200; fell back to gazetteer",)


def test_answer_in_another_commune_than_the_citycode_falls_back(chain: GeocoderChain) -> None:
    query = AddressQuery(street="3 rue Albert Marquet", city="Lourdes", citycode="65286")
    result = chain.geocode(query)
    assert (result.source, result.citycode) == ("gazetteer", "65286")
    assert result.notes == (
        "ban: no match (no match for '3 rue Albert Marquet Lourdes'); fell back to gazetteer",
    )


def test_unavailable_precise_geocoder_falls_back_and_is_not_cached(
    cache: GeocodeCache, gazetteer: Gazetteer, reverse_index: ReverseIndex
) -> None:
    with BanGeocoder(UNREACHABLE, BanOptions(max_attempts=1)) as down:
        chain = GeocoderChain(cache, down, gazetteer, reverse_index)
        result = chain.geocode(COOPANAME)
    assert (result.source, result.citycode) == ("gazetteer", "75120")
    (note,) = result.notes
    assert note.startswith("ban: unavailable (GET /search failed: ConnectError(")
    assert note.endswith("; fell back to gazetteer")
    assert cache.stats().entries == 0


def test_without_precise_geocoder_the_gazetteer_answers_plainly(gazetteer: Gazetteer) -> None:
    chain = GeocoderChain(None, None, gazetteer)
    result = chain.geocode(COOPANAME)
    assert (result.source, result.citycode, result.precision, result.notes) == (
        "gazetteer",
        "75120",
        Precision.MUNICIPALITY,
        (),
    )


def test_query_without_street_never_asks_the_precise_geocoder(
    chain: GeocoderChain, cache: GeocodeCache
) -> None:
    result = chain.geocode(AddressQuery(postcode="42000", city="Saint-Étienne"))
    assert (result.source, result.citycode, result.notes) == ("gazetteer", "42218", ())
    assert cache.stats() == CacheStats(hits=0, misses=0, entries=0)


# ------------------------------------------------------------------- rows that cannot be placed


def test_row_nobody_can_place_raises_place_not_found_with_the_reasons(
    chain: GeocoderChain,
) -> None:
    query = AddressQuery(street="1 rue de Nulle Part", postcode="99999", city="Atlantide")
    with pytest.raises(PlaceNotFound, match="Atlantide"):
        chain.geocode(query)


def test_ambiguous_commune_is_never_guessed(chain: GeocoderChain) -> None:
    with pytest.raises(AmbiguousPlace):
        chain.geocode(AddressQuery(city="Saint-Denis"))


def test_empty_query_is_not_found(chain: GeocoderChain) -> None:
    with pytest.raises(PlaceNotFound, match="nothing to look up"):
        chain.geocode(AddressQuery())


# --------------------------------------------------------------------------- reverse check


class WrongDepartementHandler(BaseHTTPRequestHandler):
    """Answers "Rue de Paris 75020 Paris" at a point in Montreuil (93), on purpose."""

    protocol_version = "HTTP/1.1"
    body = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [2.428, 48.8543]},
                    "properties": {
                        "label": "Rue de Paris 75020 Paris",
                        "score": 0.93,
                        "type": "street",
                        "citycode": "75120",
                        "postcode": "75020",
                    },
                }
            ],
        }
    ).encode()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def wrong_departement_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), WrongDepartementHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_point_in_another_departement_than_the_postcode_falls_back(
    wrong_departement_url: str, gazetteer: Gazetteer, reverse_index: ReverseIndex
) -> None:
    with BanGeocoder(wrong_departement_url) as misplacing:
        chain = GeocoderChain(None, misplacing, gazetteer, reverse_index)
        result = chain.geocode(AddressQuery(street="rue de Paris", postcode="75020", city="Paris"))
    assert (result.source, result.citycode) == ("gazetteer", "75120")
    assert result.notes == (
        "ban: point is in département 93, postcode 75020 is in 75; fell back to gazetteer",
    )


def test_without_reverse_index_the_point_is_not_checked(
    wrong_departement_url: str, gazetteer: Gazetteer
) -> None:
    with BanGeocoder(wrong_departement_url) as misplacing:
        chain = GeocoderChain(None, misplacing, gazetteer, None)
        result = chain.geocode(AddressQuery(street="rue de Paris", postcode="75020", city="Paris"))
    assert (result.source, result.label) == ("ban", "Rue de Paris 75020 Paris")


# --------------------------------------------------------------------------- cache


def test_second_lookup_is_answered_by_the_cache(
    chain: GeocoderChain,
    cache: GeocodeCache,
    ban: BanGeocoder,
    gazetteer: Gazetteer,
    reverse_index: ReverseIndex,
) -> None:
    first = chain.geocode(COOPANAME)
    with BanGeocoder(ban.base_url, OFFLINE) as offline:
        again = GeocoderChain(cache, offline, gazetteer, reverse_index).geocode(COOPANAME)
    assert again == first
    assert cache.stats() == CacheStats(hits=1, misses=1, entries=1)


def test_not_found_is_cached_too(chain: GeocoderChain, cache: GeocodeCache) -> None:
    query = AddressQuery(street="3 rue Albert Marquet", city="Lourdes", citycode="65286")
    chain.geocode(query)
    chain.geocode(query)
    assert cache.stats() == CacheStats(hits=1, misses=1, entries=1)


def test_cached_answers_are_checked_again_with_the_current_threshold(
    chain: GeocoderChain, cache: GeocodeCache, ban: BanGeocoder, gazetteer: Gazetteer
) -> None:
    chain.geocode(COOPANAME)
    stricter = GeocoderChain(cache, ban, gazetteer, None, min_score=0.99)
    result = stricter.geocode(COOPANAME)
    assert result.source == "gazetteer"
    assert result.notes == ("ban: score 0.96 below 0.99; fell back to gazetteer",)


# --------------------------------------------------------------------------- batch


IMPORT = [
    COOPANAME,
    AddressQuery(street="10 bis rue Jangot", postcode="69007", city="Lyon"),
    AddressQuery(street="12 rue de Paris", postcode="75020", city="Paris"),
    AddressQuery(street="3 rue Franklin", postcode="93200", city="Saint-Denis"),
    AddressQuery(postcode="42000", city="Saint-Étienne"),
    AddressQuery(city="Saint-Denis"),
    AddressQuery(street="1 rue de Nulle Part", postcode="99999", city="Atlantide"),
    AddressQuery(),
]
IMPORT_OUTCOMES = [
    "ban: 3 Rue Albert Marquet 75020 Paris [housenumber] 75120",
    "ban: 10 bis Rue Jangot 69007 Lyon [housenumber] 69387",
    "gazetteer: Paris 20e Arrondissement (75020) [municipality] 75120",
    "gazetteer: Saint-Denis (93200) [municipality] 93066",
    "gazetteer: Saint-Étienne (42000) [municipality] 42218",
    "AmbiguousPlace",
    "PlaceNotFound",
    "PlaceNotFound",
]


def test_batch_import_uses_the_csv_path_and_answers_every_row(chain: GeocoderChain) -> None:
    answers = chain.geocode_many(IMPORT)
    assert [outcome(answer) for answer in answers] == IMPORT_OUTCOMES


def test_batch_reimport_asks_the_service_nothing(
    chain: GeocoderChain, cache: GeocodeCache, ban: BanGeocoder, gazetteer: Gazetteer
) -> None:
    first = chain.geocode_many(IMPORT)
    with BanGeocoder(ban.base_url, OFFLINE) as offline:
        second = GeocoderChain(cache, offline, gazetteer).geocode_many(IMPORT)
    assert [outcome(answer) for answer in second] == [outcome(answer) for answer in first]
    assert cache.stats() == CacheStats(hits=5, misses=5, entries=5)


def test_batch_with_service_down_falls_back_row_by_row(
    cache: GeocodeCache, gazetteer: Gazetteer
) -> None:
    with BanGeocoder(UNREACHABLE, BanOptions(max_attempts=1)) as down:
        answers = GeocoderChain(cache, down, gazetteer).geocode_many(IMPORT[:2])
    assert [outcome(answer) for answer in answers] == [
        "gazetteer: Paris 20e Arrondissement (75020) [municipality] 75120",
        "gazetteer: Lyon 7e Arrondissement (69007) [municipality] 69387",
    ]
    assert all(
        isinstance(answer, GeocodeResult) and answer.notes[0].startswith("ban: unavailable")
        for answer in answers
    )
    assert cache.stats().entries == 0
