"""app.geocoder: the chain the settings build."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

import app
from app.config import Settings
from app.geocoder import (
    DEFAULT_CACHE_PATH,
    build_geocoder,
    close_geocoder,
    commune_level_only,
    geocoder_cache_path,
)
from geocode.ban import BanGeocoder
from geocode.base import AddressQuery, GeocodeResult, Precision
from geocode.chain import GeocoderChain
from geocode.gazetteer import default_gazetteer
from geocode.reverse import default_reverse_index

SettingsFactory = Callable[..., Settings]
COOPANAME = AddressQuery(street="3 rue Albert Marquet", postcode="75020", city="Paris")
UNREACHABLE = "http://127.0.0.1:9"
APP_DIR = Path(app.__file__).parent


@pytest.fixture
def offline_chain(make_settings: SettingsFactory) -> Iterator[GeocoderChain]:
    chain = build_geocoder(make_settings())
    yield chain
    close_geocoder(chain)


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



def app_modules_imported(path: Path) -> set[str]:
    """The app modules a source file imports (absolute imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
    return {name for name in names if name.partition(".")[0] == "app"}


def test_the_geocoder_imports_nothing_of_the_importer() -> None:
    imported = app_modules_imported(APP_DIR / "geocoder.py")
    assert "app.config" in imported
    assert sorted(name for name in imported if name.startswith("app.importer")) == []


def test_the_importer_imports_the_geocoder_only_of_the_geocoding_modules() -> None:
    imported = {path.name: app_modules_imported(path)
                for path in sorted((APP_DIR / "importer").glob("*.py"))}
    assert "app.geocoder" in imported["place.py"]
    assert {name: sorted(modules & {"app.csv_geocoding", "app.place_search"})
            for name, modules in imported.items()
            if modules & {"app.csv_geocoding", "app.place_search"}} == {}
