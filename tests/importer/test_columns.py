"""Headers in French or English, without accents or case; duplicates; mapping files."""

from __future__ import annotations

from pathlib import Path

import pytest
from import_helpers import alias_bomb

from app.importer.columns import (
    FIELD_SYNONYMS,
    FIELDS,
    ColumnMapping,
    load_mapping,
    normalise_header,
    plan_columns,
)
from app.importer.faults import FileRejected
from app.models import RECORD_COLUMNS


def test_french_and_english_synonyms_match_without_accents_case_or_punctuation() -> None:
    headers = ["RAISON SOCIALE", "Adresse", "Code_Postal", "Ville", "LAT", "Lng", "N° SIRET",
               "siren", "Numéro RNA", "Forme juridique", "Statut", "Secteurs", "Site Internet",
               "E-mail", "Téléphone", "Code INSEE", "Colonne perso"]
    plan = plan_columns(headers, ColumnMapping())
    assert plan.detected() == {
        "RAISON SOCIALE": "name", "Adresse": "street", "Code_Postal": "postcode",
        "Ville": "city", "LAT": "lat", "Lng": "lon", "N° SIRET": "siret", "siren": "siren",
        "Numéro RNA": "rna", "Forme juridique": "legal_form", "Statut": "legal_status",
        "Secteurs": "categories", "Site Internet": "website", "E-mail": "email",
        "Téléphone": "phone", "Code INSEE": "citycode",
    }
    assert plan.ignored == ("Colonne perso",)


def test_x_and_y_are_longitude_and_latitude() -> None:
    plan = plan_columns(["nom", "x", "y"], ColumnMapping())
    assert plan.detected() == {"nom": "name", "x": "lon", "y": "lat"}


@pytest.mark.parametrize(("headers", "message"), [
    (["Nom", "Commune", "Ville"], "duplicate headers: columns 'Commune' and 'Ville' both mean "
     "'city'; remove one or name the one to use in a mapping file"),
    (["Nom", "CP", "Remarque", "remarque"], "duplicate headers: columns 'Remarque' and "
     "'remarque' are the same header; remove one or name the one to use in a mapping file"),
])
def test_duplicate_headers_reject_the_file(headers: list[str], message: str) -> None:
    with pytest.raises(FileRejected) as caught:
        plan_columns(headers, ColumnMapping())
    assert (caught.value.code, caught.value.message) == ("duplicate_headers", message)


def test_a_first_line_without_any_known_column_is_no_header() -> None:
    with pytest.raises(FileRejected) as caught:
        plan_columns(["Maison des Familles", "69001", "Lyon"], ColumnMapping())
    assert caught.value.code == "no_header"
    assert caught.value.message.startswith(
        "no header line: the first line ('Maison des Familles', '69001', 'Lyon') names none")


@pytest.mark.parametrize(("headers", "code"), [
    (["adresse", "commune"], "no_name_column"),
    (["nom", "latitude"], "half_coordinates"),
    (["nom", "siret", "email"], "no_place_columns"),
])
def test_files_without_a_name_or_a_way_to_locate_rows_are_rejected(
    headers: list[str], code: str
) -> None:
    with pytest.raises(FileRejected) as caught:
        plan_columns(headers, ColumnMapping())
    assert caught.value.code == code


def test_a_mapping_file_names_columns_and_wins_over_the_synonyms(tmp_path: Path) -> None:
    mapping_file = tmp_path / "colonnes.yaml"
    mapping_file.write_text(
        'columns:\n  "Nom de l\'adhérent": name\n  "Ville": null\n  "Lieu": city\n'
        'categories:\n  "Bâtiment": industrie-artisanat\nsource: cress-aura\n'
        "default_category: alimentation\n", encoding="utf-8")
    mapping = load_mapping(mapping_file)
    plan = plan_columns(["Nom de l'adhérent", "Ville", "Lieu", "CP"], mapping)
    assert plan.detected() == {"Nom de l'adhérent": "name", "Lieu": "city", "CP": "postcode"}
    assert plan.ignored == ("Ville",)
    assert (mapping.source, mapping.default_category) == ("cress-aura", "alimentation")
    assert dict(mapping.categories) == {"batiment": "industrie-artisanat"}


def test_a_mapping_to_an_unknown_field_is_refused(tmp_path: Path) -> None:
    mapping_file = tmp_path / "colonnes.json"
    mapping_file.write_text('{"columns": {"Nom": "nom_complet"}}', encoding="utf-8")
    with pytest.raises(ValueError, match="column 'Nom' maps to unknown field 'nom_complet'"):
        load_mapping(mapping_file)


def test_a_mapping_with_unknown_keys_is_refused(tmp_path: Path) -> None:
    mapping_file = tmp_path / "colonnes.yaml"
    mapping_file.write_text("colonnes:\n  Nom: name\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown keys \['colonnes'\]"):
        load_mapping(mapping_file)


def test_a_mapping_file_with_yaml_aliases_is_refused(tmp_path: Path) -> None:
    mapping_file = tmp_path / "bombe.yaml"
    mapping_file.write_bytes(alias_bomb())
    with pytest.raises(ValueError) as caught:
        load_mapping(mapping_file)
    assert str(caught.value) == ("mapping file bombe.yaml: YAML anchors and aliases (& and *) "
                                 "are not accepted")


def test_a_mapping_file_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    mapping_file = tmp_path / "grand.json"
    mapping_file.write_text('{"columns": {"Nom": "name"}}' + " " * 64 * 1024, encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        load_mapping(mapping_file)
    assert str(caught.value) == "mapping file grand.json: larger than the limit of 65536 bytes"


def test_every_record_column_is_importable_and_no_header_names_two_fields() -> None:
    assert set(RECORD_COLUMNS) <= FIELDS
    assert set(FIELD_SYNONYMS) <= FIELDS
    owners: dict[str, set[str]] = {}
    for name in FIELDS:
        for synonym in (*FIELD_SYNONYMS.get(name, ()), name):
            owners.setdefault(normalise_header(synonym), set()).add(name)
    assert {header: names for header, names in owners.items() if len(names) > 1} == {}
