"""GeocodeCache on a real SQLite file."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from geocode.base import (
    AddressQuery,
    AmbiguousPlace,
    GeocodeResult,
    GeocoderUnavailable,
    PlaceNotFound,
    Precision,
)
from geocode.cache import CacheStats, GeocodeCache, query_key

BAN = "ban:http://127.0.0.1:7878"
COOPANAME = AddressQuery(street="3 rue Albert Marquet", postcode="75020", city="Paris")
COOPANAME_RESULT = GeocodeResult(
    lat=48.85535,
    lon=2.40745,
    label="3 Rue Albert Marquet 75020 Paris",
    score=0.9636363636363636,
    precision=Precision.HOUSENUMBER,
    source="ban",
    citycode="75120",
    postcode="75020",
    notes=("first note", "second note"),
)


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "geocode-cache.sqlite3"


@pytest.fixture
def cache(cache_path: Path) -> Iterator[GeocodeCache]:
    with GeocodeCache(cache_path) as opened:
        yield opened


def test_stored_result_comes_back_identical(cache: GeocodeCache) -> None:
    cache.put(COOPANAME, BAN, COOPANAME_RESULT)
    assert cache.get(COOPANAME, BAN) == COOPANAME_RESULT


def test_longitude_zero_survives_the_round_trip(cache: GeocodeCache) -> None:
    tarbes_meridian = GeocodeResult(
        43.2, 0.0, "Somewhere on the meridian", 0.9, Precision.STREET, "ban"
    )
    query = AddressQuery(street="rue du Méridien", city="Tarbes")
    cache.put(query, BAN, tarbes_meridian)
    cached = cache.get(query, BAN)
    assert isinstance(cached, GeocodeResult)
    assert (cached.lat, cached.lon) == (43.2, 0.0)


def test_unknown_query_is_a_miss(cache: GeocodeCache) -> None:
    assert cache.get(COOPANAME, BAN) is None
    assert cache.stats() == CacheStats(hits=0, misses=1, entries=0)


def test_not_found_is_remembered(cache: GeocodeCache) -> None:
    query = AddressQuery(street="12 rue Imaginaire", postcode="01000", city="Bourg-en-Bresse")
    cache.put(query, BAN, PlaceNotFound("ban: no match for '12 rue Imaginaire'"))
    cached = cache.get(query, BAN)
    assert isinstance(cached, PlaceNotFound)
    assert str(cached) == "ban: no match for '12 rue Imaginaire'"


def test_ambiguous_is_remembered(cache: GeocodeCache) -> None:
    query = AddressQuery(city="Saint-Denis")
    cache.put(query, BAN, AmbiguousPlace("2 communes match Saint-Denis"))
    cached = cache.get(query, BAN)
    assert type(cached) is AmbiguousPlace
    assert str(cached) == "2 communes match Saint-Denis"


def test_transient_errors_are_never_cached(cache: GeocodeCache) -> None:
    with pytest.raises(TypeError, match="only results, PlaceNotFound and AmbiguousPlace"):
        cache.put(COOPANAME, BAN, GeocoderUnavailable("down"))  # type: ignore[arg-type]
    assert cache.stats().entries == 0


def test_queries_differing_in_case_accents_and_spaces_share_an_entry(cache: GeocodeCache) -> None:
    cache.put(
        AddressQuery(street="1 Place Jean Jaurès", city="Saint-Étienne"), BAN, COOPANAME_RESULT
    )
    same = AddressQuery(street="  1 PLACE JEAN  JAURES ", city="saint-etienne")
    assert cache.get(same, BAN) == COOPANAME_RESULT
    assert query_key(same) == "1 place jean jaures||saint-etienne||fr"


def test_each_geocoder_has_its_own_answers(cache: GeocodeCache) -> None:
    cache.put(COOPANAME, BAN, COOPANAME_RESULT)
    assert cache.get(COOPANAME, "ban:https://data.geopf.fr/geocodage") is None


def test_a_newer_answer_replaces_the_older(cache: GeocodeCache) -> None:
    cache.put(COOPANAME, BAN, PlaceNotFound("not yet in the BAN"))
    cache.put(COOPANAME, BAN, COOPANAME_RESULT)
    assert cache.get(COOPANAME, BAN) == COOPANAME_RESULT
    assert cache.stats().entries == 1


def test_answers_persist_across_reopening(cache_path: Path) -> None:
    with GeocodeCache(cache_path) as first:
        first.put(COOPANAME, BAN, COOPANAME_RESULT)
    with GeocodeCache(cache_path) as second:
        assert second.get(COOPANAME, BAN) == COOPANAME_RESULT
        assert second.stats() == CacheStats(hits=1, misses=0, entries=1)


def test_stats_count_hits_and_misses(cache: GeocodeCache) -> None:
    cache.put(COOPANAME, BAN, COOPANAME_RESULT)
    cache.get(COOPANAME, BAN)
    cache.get(COOPANAME, BAN)
    cache.get(AddressQuery(city="Lyon"), BAN)
    assert cache.stats() == CacheStats(hits=2, misses=1, entries=1)


def test_put_many_stores_every_answer(cache: GeocodeCache) -> None:
    queries = [
        AddressQuery(street=f"{number} rue de Paris", city="Montreuil") for number in range(1, 101)
    ]
    cache.put_many(BAN, [(query, PlaceNotFound("no match")) for query in queries])
    assert cache.stats().entries == 100


def test_database_is_in_wal_mode(cache: GeocodeCache, cache_path: Path) -> None:
    cache.put(COOPANAME, BAN, COOPANAME_RESULT)
    with sqlite3.connect(cache_path) as other:
        (mode,) = other.execute("PRAGMA journal_mode").fetchone()
        (count,) = other.execute("SELECT count(*) FROM geocode_answers").fetchone()
    other.close()
    assert (mode, count) == ("wal", 1)


def test_threads_share_one_cache(cache: GeocodeCache) -> None:
    def work(worker: int) -> None:
        for number in range(50):
            query = AddressQuery(street=f"{number} rue {worker}", city="Lyon")
            cache.put(query, BAN, PlaceNotFound("no match"))
            assert isinstance(cache.get(query, BAN), PlaceNotFound)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.stats() == CacheStats(hits=400, misses=0, entries=400)
