"""The model families: input validation, and public shapes without private fields."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.models import (
    MAX_LENGTHS,
    RECORD_COLUMNS,
    Organisation,
    OrganisationCreate,
    OrganisationPublic,
)

VALID: dict[str, Any] = {
    "name": "  Coopaname  ",
    "categories": ["cooperatives-activite"],
    "legal_form": "cooperative",
    "siren": "732 829 320",
    "siret": "732 829 320 00074",
    "postcode": "75020",
    "city": "Paris",
    "website": "coopaname.coop",
    "contact_name": "Camille",
    "internal_notes": "à ne pas publier",
}


def test_create_normalises_its_fields() -> None:
    record = OrganisationCreate.model_validate(VALID)
    assert record.name == "Coopaname"
    assert record.siren == "732829320"
    assert record.siret == "73282932000074"
    assert record.website == "https://coopaname.coop"
    assert record.country == "FR"
    assert record.lat is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "   "}, "name"),
        ({"categories": []}, "categories"),
        ({"legal_form": "sarl"}, "legal_form"),
        ({"siren": "123456789"}, "siren"),
        ({"siret": "12345678901234"}, "siret"),
        ({"email": "nope"}, "email"),
        ({"lat": 91, "lon": 2}, "lat"),
        ({"country": "France"}, "country"),
    ],
)
def test_create_rejects_bad_fields(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        OrganisationCreate.model_validate({**VALID, **change})
    assert error.value.errors()[0]["loc"][0] == field


def test_siret_must_extend_the_siren() -> None:
    with pytest.raises(ValidationError, match="does not start with SIREN"):
        OrganisationCreate.model_validate({**VALID, "siret": "35600000000048"})


def test_lat_without_lon_is_refused() -> None:
    with pytest.raises(ValidationError, match="lat and lon go together"):
        OrganisationCreate.model_validate({**VALID, "lat": 48.0})


def test_public_shape_has_no_private_field() -> None:
    row = Organisation(
        id=1,
        key="k",
        name="Coopaname",
        categories="cooperatives-activite|insertion-emploi",
        lat=48.85,
        lon=2.4,
        contact_name="Camille",
        contact_email="c@example.org",
        contact_phone="0600000000",
        internal_notes="secret",
    )
    public = OrganisationPublic.from_row(row).model_dump()
    assert public["categories"] == ["cooperatives-activite", "insertion-emploi"]
    for private in ("contact_name", "contact_email", "contact_phone", "internal_notes", "key"):
        assert private not in public


def test_record_columns_are_columns_of_the_table() -> None:
    table_columns = {column.name for column in Organisation.__table__.columns}  # type: ignore[attr-defined]
    assert set(RECORD_COLUMNS) <= table_columns
    assert len(set(RECORD_COLUMNS)) == len(RECORD_COLUMNS)
    assert {"contact_name", "internal_notes", "rna"} <= set(RECORD_COLUMNS)
    assert not {"id", "key", "lat", "content_hash"} & set(RECORD_COLUMNS)


def test_length_limits_are_the_tables_column_lengths() -> None:
    columns = Organisation.__table__.columns  # type: ignore[attr-defined]
    assert {name: columns[name].type.length for name in RECORD_COLUMNS
                           if name != "legal_form" and getattr(columns[name].type, "length", None)
            } == MAX_LENGTHS
    assert MAX_LENGTHS["name"] == 300
