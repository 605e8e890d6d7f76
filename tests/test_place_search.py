"""app.place_search: the place search behind /api/geocode."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.config import Settings
from app.place_search import (
    PlaceHit,
    commune_bounds,
    looks_like_address,
    place_search,
    search_places,
)

SettingsFactory = Callable[..., Settings]
UNREACHABLE = "http://127.0.0.1:9"
MONTREUIL = PlaceHit(
    label="Montreuil (93)",
    kind="municipality",
    lat=48.86343,
    lon=2.44878,
    citycode="93048",
    postcode="93100",
    departement="93",
    bbox=(2.4153, 48.8487, 2.4828, 48.8785),
    source="gazetteer",
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 rue Albert Marquet", True),
        ("10 bis rue Jangot Lyon", True),
        ("quai de la Loire", True),
        ("Montreuil", False),
        ("93100", False),
        ("93100 Montreuil", False),
        ("Saint-Étienne", False),
        ("Paris 20", False),
    ],
)
def test_looks_like_address(text: str, expected: bool) -> None:
    assert looks_like_address(text) is expected


def test_offline_search_finds_montreuil_first(make_settings: SettingsFactory) -> None:
    assert search_places("Montreuil", settings=make_settings(), limit=1) == [MONTREUIL]


def test_offline_search_by_name_and_postcode_finds_the_one_commune(
    make_settings: SettingsFactory,
) -> None:
    assert search_places("Montreuil 93100", settings=make_settings(), limit=5) == [MONTREUIL]
    assert search_places("93100, Montreuil", settings=make_settings(), limit=5) == [MONTREUIL]


def test_offline_search_of_an_address_finds_nothing(make_settings: SettingsFactory) -> None:
    assert search_places("3 rue Albert Marquet", settings=make_settings(), limit=5) == []


def test_paris_box_covers_its_twenty_arrondissements() -> None:
    bounds = commune_bounds()
    paris = bounds["75056"]
    boxes = [bounds[f"751{n:02d}"] for n in range(1, 21)]

    assert paris == (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    assert paris == (2.2242, 48.8158, 2.4696, 48.902)


def test_search_with_ban_down_lists_communes_and_warns(make_settings: SettingsFactory) -> None:
    search = place_search(make_settings(geocoder_url=UNREACHABLE))
    try:
        found = search.search("Montreuil", limit=1)
    finally:
        search.close()

    assert found.hits == (MONTREUIL,)
    assert found.warnings == (
        "address search is unavailable (unavailable): only communes and postcodes are listed",
    )


def test_search_client_fails_fast(make_settings: SettingsFactory) -> None:
    search = place_search(make_settings(geocoder_url=UNREACHABLE))
    search.close()

    assert search.ban is not None
    assert (search.ban.options.max_attempts, search.ban.options.read_timeout) == (1, 5.0)


@pytest.mark.addok
def test_search_with_addok_puts_communes_first_for_a_town(
    make_settings: SettingsFactory, addok_url: str
) -> None:
    hits = search_places("Montreuil", settings=make_settings(geocoder_url=addok_url), limit=20)

    assert [(hit.label, hit.kind, hit.source) for hit in hits if hit.citycode == "93048"] == [
        ("Montreuil (93)", "municipality", "gazetteer"),
        ("Rue de Paris 93100 Montreuil", "street", "ban"),
        ("Rue Franklin 93100 Montreuil", "street", "ban"),
        ("Rue de Vincennes 93100 Montreuil", "street", "ban"),
        ("Avenue de la Résistance 93100 Montreuil", "street", "ban"),
    ]
    assert hits[0] == MONTREUIL


@pytest.mark.addok
def test_search_with_addok_puts_addresses_first_for_an_address(
    make_settings: SettingsFactory, addok_url: str
) -> None:
    hits = search_places(
        "3 rue Albert Marquet Paris", settings=make_settings(geocoder_url=addok_url), limit=1
    )

    assert hits == [
        PlaceHit(
            label="3 Rue Albert Marquet 75020 Paris",
            kind="housenumber",
            lat=48.85535,
            lon=2.40745,
            citycode="75120",
            postcode="75020",
            departement="75",
            bbox=None,
            source="ban",
        )
    ]
