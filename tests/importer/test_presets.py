"""Public registries read as published: SIRENE StockEtablissement and RNA waldec presets."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from import_helpers import REGISTRIES, CsvWriter, Importer, stored_rows
from sqlalchemy import Engine

from app.config import Settings
from app.importer.presets import preset_mapping
from app.importer.report import ImportReport
from app.main import create_app

SIRENE = REGISTRIES / "StockEtablissement_geo_extrait.csv"
RNA = REGISTRIES / "rna_waldec_extrait.csv"
SHOWN = ("name", "street", "postcode", "citycode", "naf", "status", "categories", "epci",
         "geocode_precision")


def import_preset(run_import: Importer, preset: str, path: Path) -> ImportReport:
    """Import a registry file with its preset."""
    return run_import(path, mapping=preset_mapping(preset))


def by_key(engine: Engine) -> dict[str, dict[str, object]]:
    """The stored rows by key, with the columns the presets fill."""
    return {row["key"]: {name: row[name] for name in SHOWN} for row in stored_rows(engine)}


def test_the_sirene_preset_reads_stock_etablissement_as_published(
    run_import: Importer, engine: Engine
) -> None:
    report = import_preset(run_import, "sirene", SIRENE)
    assert (report.count("inserted"), [(r.line, r.code) for r in report.rejections]) == (
        5, [(7, "name_missing")])
    assert [(w.line, w.code) for w in report.warnings] == [(6, "category_unknown")]
    rows = by_key(engine)
    assert rows["siret:90000001900019"] == {
        "name": "SCOP ATELIER SYNTHESE", "street": "12 bis RUE DE LA REPUBLIQUE",
        "postcode": "69001", "citycode": "69381", "naf": "62.01Z", "status": "active",
        "categories": "services-conseil", "epci": "200046977",
        "geocode_precision": "municipality"}
    assert rows["siret:90000003500015"] == {
        "name": "CENTRE SOCIAL", "street": None, "postcode": "13001", "citycode": "13201",
        "naf": "88.99B", "status": "closed", "categories": "sante-action-sociale",
        "epci": "200054807", "geocode_precision": "given"}
    assert (rows["siret:90000002700012"]["name"], rows["siret:90000002700012"]["categories"]) == (
        "FOURNIL PARTAGE", "alimentation")
    assert rows["siret:90000004300019"]["categories"] == "non-classe"


def test_the_rna_preset_reads_waldec_as_published(run_import: Importer, engine: Engine) -> None:
    report = import_preset(run_import, "rna", RNA)
    assert (report.count("inserted"), report.rejected) == (3, 0)
    assert [(w.line, w.code) for w in report.warnings] == [(2, "field_dropped")]
    stored = {row["key"]: row for row in stored_rows(engine)}
    assert sorted(stored) == ["rna:W133000022", "rna:W691000011", "rna:W751000033"]
    dissolved = stored["rna:W133000022"]
    assert {name: dissolved[name] for name in (
        "name", "legal_form", "categorie_juridique", "status", "status_date", "street",
        "creation_date", "source")} == {
        "name": "AMICALE DU VIEUX PORT", "legal_form": "ASSOCIATION",
        "categorie_juridique": "9220", "status": "closed", "status_date": "2020-06-30",
        "street": "2 ter QUAI du Port", "creation_date": "1998-09-01", "source": "rna"}
    assert stored["rna:W691000011"]["status_date"] is None
    assert stored["rna:W691000011"]["website"] is None
    assert stored["rna:W751000033"]["address_complement"] == "ESCALIER B"


def test_a_registry_imported_again_changes_nothing(run_import: Importer) -> None:
    import_preset(run_import, "sirene", SIRENE)
    import_preset(run_import, "rna", RNA)
    again = [import_preset(run_import, "sirene", SIRENE), import_preset(run_import, "rna", RNA)]
    assert [(report.changed, report.count("unchanged")) for report in again] == [(0, 5), (0, 3)]


def test_an_association_renamed_in_the_rna_updates_the_same_record(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    import_preset(run_import, "rna", RNA)
    renamed = RNA.read_bytes().replace("LES JARDINS DU CŒUR".encode("cp1252"),
                                       b"JARDINS SOLIDAIRES DE LYON")
    path = write_csv("rna_renomme.csv", "")
    path.write_bytes(renamed)
    report = import_preset(run_import, "rna", path)
    assert (report.count("updated"), report.count("unchanged"), report.count("inserted")) == (
        1, 2, 0)
    names = {row["key"]: row["name"] for row in stored_rows(engine)}
    assert names["rna:W691000011"] == "JARDINS SOLIDAIRES DE LYON"
    assert len(names) == 3


def test_the_establishments_of_one_siren_are_listed_together(
    run_import: Importer, import_settings: Settings
) -> None:
    import_preset(run_import, "sirene", SIRENE)
    with TestClient(create_app(import_settings)) as client:
        response = client.get("/api/organisations", params={"siren": "900000019"})
        closed = client.get("/api/organisations", params={"siren": "900000035"})
        every = client.get("/api/organisations", params={"siren": "900000035", "status": "all"})
    assert response.status_code == 200
    body = response.json()
    assert [(f["properties"]["siret"], f["properties"]["name"]) for f in body["features"]] == [
        ("90000001900019", "SCOP ATELIER SYNTHESE"), ("90000001900027", "ATELIER SYNTHESE EST")]
    assert body["numberMatched"] == 2
    assert (closed.json()["numberMatched"], every.json()["numberMatched"]) == (0, 1)
    assert every.json()["features"][0]["properties"]["status"] == "closed"


def test_a_structure_and_an_establishment_sharing_a_siren_are_probable_duplicates(
    run_import: Importer, write_csv: CsvWriter
) -> None:
    import_preset(run_import, "sirene", SIRENE)
    path = write_csv("reseau.csv", "nom;cp;commune;secteur;siren;rna\n"
                     "Atelier Synthèse;69003;Lyon;services;900000019;\n")
    report = run_import(path)
    assert [(d["first_name"], d["second_name"], d["rule"]) for d in report.duplicates] == [
        ("SCOP ATELIER SYNTHESE", "Atelier Synthèse", "same_siren")]
