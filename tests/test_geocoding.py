"""app.geocoding: the chain the settings build, and the place search behind /api/geocode."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.geocoding import (
    DEFAULT_CACHE_PATH,
    PlaceHit,
    build_geocoder,
    close_geocoder,
    commune_bounds,
    commune_level_only,
    geocoder_cache_path,
    looks_like_address,
    place_search,
    search_places,
)
from geocode.ban import BanGeocoder
from geocode.base import AddressQuery, GeocodeResult, Precision
from geocode.chain import GeocoderChain
from geocode.gazetteer import default_gazetteer
from geocode.reverse import default_reverse_index

SettingsFactory = Callable[..., Settings]
COOPANAME = AddressQuery(street="3 rue Albert Marquet", postcode="75020", city="Paris")
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


@pytest.fixture
def offline_chain(make_settings: SettingsFactory) -> Iterator[GeocoderChain]:
    chain = build_geocoder(make_settings())
    yield chain
    close_geocoder(chain)


# --------------------------------------------------------------------------- build_geocoder


def test_without_url_the_chain_is_the_gazetteer_alone(offline_chain: GeocoderChain) -> None:
    assert (offline_chain.cache, offline_chain.precise, offline_chain.reverse) == (None, None, None)
    assert offline_chain.fallback is default_gazetteer()


def test_without_url_an_address_is_placed_at_its_commune(offline_chain: GeocoderChain) -> None:
    assert offline_chain.geocode(COOPANAME) == GeocodeResult(
        lat=48.86341,
        lon=2.40109,
        label="Paris 20e Arrondissement (75020)",
        score=1.0,
        precision=Precision.MUNICIPALITY,
        source="gazetteer",
        citycode="75120",
        postcode="75020",
    )


def test_without_url_no_cache_file_is_created(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    close_geocoder(build_geocoder(make_settings()))

    assert not (tmp_path / "geocode-cache.sqlite3").exists()


def test_with_url_the_chain_is_cache_then_ban_then_gazetteer(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = make_settings(geocoder_url=UNREACHABLE + "/", geocoder_rate_limit=7.0)
    chain = build_geocoder(settings)
    try:
        assert isinstance(chain.precise, BanGeocoder)
        assert (chain.precise.base_url, chain.precise.options.requests_per_second) == (
            UNREACHABLE,
            7.0,
        )
        assert chain.cache is not None
        assert chain.cache.path == tmp_path / "geocode-cache.sqlite3"
        assert chain.cache.path.is_file()
        assert chain.fallback is default_gazetteer()
        assert chain.reverse is default_reverse_index()
    finally:
        close_geocoder(chain)


@pytest.mark.addok
def test_with_the_local_addok_an_address_is_placed_on_its_housenumber(
    make_settings: SettingsFactory, addok_url: str
) -> None:
    chain = build_geocoder(make_settings(geocoder_url=addok_url))
    try:
        result = chain.geocode(COOPANAME)
    finally:
        close_geocoder(chain)

    assert (result.label, result.precision, result.source, result.lat, result.lon) == (
        "3 Rue Albert Marquet 75020 Paris",
        "housenumber",
        "ban",
        48.85535,
        2.40745,
    )


def test_cache_path_defaults_to_var(make_settings: SettingsFactory) -> None:
    assert geocoder_cache_path(make_settings(geocoder_cache_path=None)) == DEFAULT_CACHE_PATH
    assert DEFAULT_CACHE_PATH.parent.name == "var"


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/",
        "ftp://api-adresse.data.gouv.fr/",
        "https://user:secret@api-adresse.data.gouv.fr/",
    ],
)
def test_dangerous_geocoder_url_is_refused_when_settings_load(
    make_settings: SettingsFactory, url: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        make_settings(geocoder_url=url)

    assert [error["loc"] for error in refused.value.errors()] == [("geocoder_url",)]


def test_metadata_url_refusal_says_why(make_settings: SettingsFactory) -> None:
    with pytest.raises(ValidationError) as refused:
        make_settings(geocoder_url="http://169.254.169.254/")

    assert refused.value.errors()[0]["msg"] == (
        "Value error, geocoder URL points at a link-local or metadata address: "
        "'http://169.254.169.254/'"
    )


def test_commune_level_only_tells_offline_geocoders_apart(
    offline_chain: GeocoderChain, make_settings: SettingsFactory
) -> None:
    online = build_geocoder(make_settings(geocoder_url=UNREACHABLE))
    try:
        assert (
            commune_level_only(offline_chain),
            commune_level_only(default_gazetteer()),
            commune_level_only(online),
        ) == (True, True, False)
    finally:
        close_geocoder(online)


# --------------------------------------------------------------------------- place search


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
