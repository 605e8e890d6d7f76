"""Bulk writes store exactly what the ORM would, and one record gets one digest either way."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import date

import pytest
from postgres_cluster import BOTH_BACKENDS
from sqlalchemy import Engine, text

from app.db import session_scope
from app.models import Organisation, OrganisationCreate
from app.storage import (
    STORED_COLUMNS,
    Placement,
    StoredRecord,
    UpsertOutcome,
    content_hash,
    key_for,
    organisation_row,
    search_text,
    upsert_organisation,
    write_batch,
)
from app.taxonomy import LegalForm
from geocode.normalize import fold

BACKENDS = BOTH_BACKENDS

PLACE = Placement(45.7676, 4.8344, "69381", "69", "84", "given", "input")
FIELDS = {"name": "Café « L’Œuf »", "description": "Cantine\nsolidaire", "city": "Lyon",
          "postcode": "69001", "legal_form": LegalForm.ASSOCIATION, "siret": "73282932000074",
          "categories": ["alimentation", "habitat"]}


@pytest.mark.parametrize(("name", "description", "city"), list(itertools.product(
    ["Œuvre  Café", "  ", "A\u0301b", "Straße", ""], ["L’Atelier  ", "x\u0308", ""], ["Évry", ""])))
def test_search_text_from_the_folded_name_is_fold_of_the_whole_text(
    name: str, description: str, city: str
) -> None:
    expected = fold(" ".join(part for part in (name, description, city) if part))
    assert search_text(fold(name), description or None, city or None) == expected


# How created_at is stored: SQLite, its type and the length of its text (microseconds
# always written); PostgreSQL, its type and its zone's offset (UTC).
STORED_AS = {"sqlite": ("typeof(created_at), length(created_at)", ("text", 26)),
             "postgresql": ("pg_typeof(created_at)::text, extract(timezone FROM created_at)",
                            ("timestamp with time zone", 0))}


def stored(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            "SELECT key, name, legal_form, lat, categories, search_text, content_hash, "  # noqa: S608
            f"{STORED_AS[engine.dialect.name][0]} FROM organisation"))]


def test_a_bulk_write_and_the_orm_upsert_store_the_same_row(engine: Engine) -> None:
    with session_scope(engine) as session:
        outcome, _ = upsert_organisation(session=session, record=OrganisationCreate(**FIELDS),
                                         place=PLACE)
    assert outcome is UpsertOutcome.INSERTED
    by_orm = stored(engine)
    with session_scope(engine) as session:
        session.exec(text("DELETE FROM organisation"))  # type: ignore[call-overload]
    row = organisation_row(FIELDS, FIELDS["categories"], PLACE)
    record = StoredRecord(key_for(FIELDS, PLACE.citycode), row, ("alimentation", "habitat"),
                          content_hash(row))
    with session_scope(engine) as session:
        written = write_batch(session=session, records=[record])
    assert written.outcomes == [UpsertOutcome.INSERTED]
    assert stored(engine) == by_orm
    assert by_orm[0][:6] == ("siret:73282932000074", "Café « L’Œuf »", "ASSOCIATION", 45.7676,
                             "alimentation|habitat", "cafe « l’oeuf » cantine solidaire lyon")
    assert by_orm[0][7:] == STORED_AS[engine.dialect.name][1]


def test_the_same_record_through_the_api_and_an_import_is_unchanged(engine: Engine) -> None:
    with session_scope(engine) as session:
        upsert_organisation(session=session, record=OrganisationCreate(**FIELDS), place=PLACE)
    row = organisation_row(FIELDS, FIELDS["categories"], PLACE)
    record = StoredRecord("siret:73282932000074", row, ("alimentation", "habitat"),
                          content_hash(row))
    with session_scope(engine) as session:
        assert write_batch(session=session, records=[record]).outcomes == [
            UpsertOutcome.UNCHANGED]


def json_module_digest(row: tuple[object, ...]) -> str:
    """The digest earlier versions stored: blake2b of the row as the json module writes it."""
    canonical = json.dumps(list(row), ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.blake2b(canonical.encode("utf-8", "surrogatepass"), digest_size=32).hexdigest()


@pytest.mark.parametrize(("lat", "lon", "extra"), [
    (45.7676, 4.8344, {}),
    (45.7676, 5e-05, {}),  # written 5e-05 by json, 0.00005 by orjson
    (1e-07, -0.00009, {}),
    (0.0, -0.0, {}),
    (45.7676, 4.8344, {"description": "tab\there, NUL\x00, \u2028 « » 😀 \\ \" /"}),
    (45.7676, 4.8344, {"creation_date": date(1901, 7, 1), "esus": True}),
    (45.7676, 4.8344, {"description": "lone \udcff surrogate"}),
])
def test_the_digest_of_a_row_is_the_one_earlier_versions_stored(
    lat: float, lon: float, extra: dict[str, object]
) -> None:
    place = PLACE._replace(lat=lat, lon=lon)
    row = organisation_row({**FIELDS, **extra}, FIELDS["categories"], place)
    assert content_hash(row) == json_module_digest(row)


def test_lat_and_lon_are_the_only_floats_a_stored_row_holds() -> None:
    floats = {name for name, field in Organisation.model_fields.items()
              if "float" in str(field.annotation)}
    assert floats & set(STORED_COLUMNS) == {"lat", "lon"}
