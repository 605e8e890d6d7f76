"""Importing structures by street address through the real addok, the cache and the gazetteer.

Addresses and coordinates come from tests/fixtures/addok/addresses.ndjson; the commune
point of the unknown street is Saint-Étienne's in the shipped gazetteer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from addok_fixtures import (
    AddokService,
    addok_requests,
)
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import create_schema, make_engine
from app.geocoder import close_geocoder
from app.importer.context import import_context
from app.importer.pipeline import ImportContext, import_paths
from app.importer.report import ImportReport
from app.models import Organisation
from geocode.cache import CacheStats
from geocode.chain import GeocoderChain

STRUCTURES = Path(__file__).parent / "fixtures" / "geocode" / "structures_with_addresses.csv"
SettingsFactory = Callable[..., Settings]

pytestmark = pytest.mark.addok


@pytest.fixture
def addok_settings(make_settings: SettingsFactory, addok_url: str) -> Settings:
    return make_settings(geocoder_url=addok_url, load_default_directory=False)


@pytest.fixture
def engine(addok_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(addok_settings.database_url)
    create_schema(engine)
    yield engine
    engine.dispose()


def chain_of(context: ImportContext) -> GeocoderChain:
    assert isinstance(context.geocoder, GeocoderChain)
    return context.geocoder


def run_import(engine: Engine, settings: Settings) -> tuple[ImportReport, CacheStats]:
    """Import the fixture with a fresh context; return the report and the cache's counts."""
    context = import_context(settings)
    chain = chain_of(context)
    try:
        report = import_paths([STRUCTURES], engine=engine, context=context)
        assert chain.cache is not None
        return report, chain.cache.stats()
    finally:
        close_geocoder(chain)


def stored_places(engine: Engine) -> list[tuple[object, ...]]:
    with Session(engine) as session:
        rows = session.exec(select(Organisation).order_by(col(Organisation.source_id))).all()
        return [
            (
                o.source_id,
                o.lat,
                o.lon,
                o.citycode,
                o.departement,
                o.geocode_precision,
                o.geocode_source,
            )
            for o in rows
        ]


def test_street_addresses_are_stored_at_housenumber_precision_from_ban(
    engine: Engine, addok_settings: Settings
) -> None:
    report, _ = run_import(engine, addok_settings)

    assert (report.outcomes["inserted"], report.rejections) == (4, [])
    assert stored_places(engine) == [
        ("geo-coopaname", 48.85535, 2.40745, "75120", "75", "housenumber", "ban"),
        ("geo-ecossolies", 47.20145, -1.56845, "44109", "44", "housenumber", "ban"),
        ("geo-montreuil", 48.86155, 2.44075, "93048", "93", "housenumber", "ban"),
        ("geo-unknown", 45.43025, 4.37861, "42218", "42", "municipality", "gazetteer"),
    ]


def test_unknown_street_falls_back_to_its_commune_with_a_warning(
    engine: Engine, addok_settings: Settings
) -> None:
    report, _ = run_import(engine, addok_settings)

    assert [(w.line, w.code, w.message) for w in report.warnings] == [
        (
            5,
            "geocode_note",
            "ban: no match (no match above the service's minimum score); fell back to gazetteer",
        ),
    ]
    assert dict(report.precisions) == {"housenumber": 3, "municipality": 1}


def test_reimport_asks_addok_nothing_and_changes_nothing(
    engine: Engine, addok_settings: Settings, addok_service: AddokService
) -> None:
    _, first_stats = run_import(engine, addok_settings)
    asked_before = addok_requests(addok_service)

    report, stats = run_import(engine, addok_settings)

    assert first_stats == CacheStats(hits=0, misses=4, entries=4)
    assert stats == CacheStats(hits=4, misses=0, entries=4)
    assert addok_requests(addok_service) == asked_before
    assert (report.outcomes["unchanged"], report.outcomes["inserted"]) == (4, 0)


def test_first_import_sends_its_addresses_to_addok_in_one_batch(
    engine: Engine, addok_settings: Settings, addok_service: AddokService
) -> None:
    asked_before = len(addok_requests(addok_service))

    run_import(engine, addok_settings)

    assert addok_requests(addok_service)[asked_before:] == ["POST /search/csv"]


def test_cache_lives_at_the_configured_path(
    engine: Engine, addok_settings: Settings, tmp_path: Path
) -> None:
    run_import(engine, addok_settings)

    assert addok_settings.geocoder_cache_path == tmp_path / "geocode-cache.sqlite3"
    assert addok_settings.geocoder_cache_path.is_file()
