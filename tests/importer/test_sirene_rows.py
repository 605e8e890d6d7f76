"""SIRENE rows completed before they are read: the ESS filter and Lambert-93 points."""

from __future__ import annotations

import subprocess
import sys

from import_helpers import REGISTRIES, CsvWriter, Importer, stored_rows
from sqlalchemy import Engine

from app.importer.presets import preset_mapping
from app.importer.reader import RawRow
from app.importer.sirene_rows import SireneRows

SIRENE = REGISTRIES / "StockEtablissement_geo_extrait.csv"
UNITES_LEGALES = REGISTRIES / "StockUniteLegale_extrait.csv"
XY_HEADER = "siren,siret,denominationUsuelleEtablissement,codeCommuneEtablissement,x,y,epsg\n"


def test_with_the_unites_legales_only_ess_establishments_are_kept_and_counted(
    run_import: Importer, engine: Engine
) -> None:
    report = run_import(SIRENE, mapping=preset_mapping("sirene"), registry="sirene",
                        unites_legales=UNITES_LEGALES)
    assert report.totals() == {"rows_read": 6, "inserted": 5, "updated": 0, "unchanged": 0,
                               "suppressed": 0, "duplicate_in_run": 0, "not_ess": 1,
                               "rejected": 0}
    stored = {row["siret"]: row for row in stored_rows(engine)}
    assert sorted(stored) == ["90000001900019", "90000001900027", "90000002700012",
                              "90000003500015", "90000005000014"]
    shown = ("name", "categorie_juridique", "labels", "legal_form")
    assert {siret: {name: row[name] for name in shown} for siret, row in stored.items()} == {
        "90000001900019": {"name": "SCOP ATELIER SYNTHESE", "categorie_juridique": "5458",
                           "labels": "societe-a-mission", "legal_form": "COOPERATIVE"},
        "90000001900027": {"name": "ATELIER SYNTHESE EST", "categorie_juridique": "5458",
                           "labels": "societe-a-mission", "legal_form": "COOPERATIVE"},
        "90000002700012": {"name": "FOURNIL PARTAGE", "categorie_juridique": "5710",
                           "labels": "", "legal_form": None},
        "90000003500015": {"name": "CENTRE SOCIAL", "categorie_juridique": "9220",
                           "labels": "", "legal_form": "ASSOCIATION"},
        "90000005000014": {"name": "EPICERIE SOLIDAIRE DE NANTES", "categorie_juridique": "9220",
                           "labels": "", "legal_form": "ASSOCIATION"}}


def test_without_the_unites_legales_every_establishment_is_read(run_import: Importer) -> None:
    report = run_import(SIRENE, mapping=preset_mapping("sirene"), registry="sirene")
    assert (report.count("inserted"), report.count("not_ess"), report.rejected) == (5, 0, 1)


def test_lambert_93_x_y_become_longitude_and_latitude(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    # The projection's origin: 3°E 46.5°N is x 700 000 m, y 6 600 000 m by definition.
    path = write_csv("geo.csv", XY_HEADER + "900000019,90000001900019,ORIGINE,03025,"
                     "700000.0,6600000.0,\n")
    report = run_import(path, mapping=preset_mapping("sirene"), registry="sirene")
    assert (report.count("inserted"), report.rejected) == (1, 0)
    (row,) = stored_rows(engine)
    assert (row["lon"], row["lat"], row["geocode_precision"]) == (3.0, 46.5, "given")


def test_an_overseas_point_is_converted_from_its_epsg_column() -> None:
    # UTM zone 40 south (Réunion, EPSG:2975): x 500 000, y 10 000 000 is 57°E on the equator.
    rows = SireneRows("geo.csv", XY_HEADER.strip().split(","), None)
    adapted = rows.adapt([RawRow(2, ["1", "2", "A", "97411", "500000", "10000000", "2975"])])
    assert adapted.rows[0].cells[-2:] == ["57.000000", "0.000000"]
    assert adapted.notices == []


def test_x_y_that_cannot_be_converted_are_reported_and_the_row_kept() -> None:
    rows = SireneRows("geo.csv", XY_HEADER.strip().split(","), None)
    adapted = rows.adapt([RawRow(2, ["1", "2", "A", "97411", "500000", "nord", "2975"]),
                          RawRow(3, ["1", "2", "A", "97411", "500000", "1", "99999999"])])
    assert [row.cells[-2:] for row in adapted.rows] == [["", ""], ["", ""]]
    assert [(n.line, n.code, n.message) for n in adapted.notices] == [
        (2, "xy_unconverted", "x '500000', y 'nord' (EPSG:2975) cannot be converted to "
         "longitude and latitude: the row is placed from its address"),
        (3, "xy_unconverted", "x '500000', y '1' (EPSG:99999999) cannot be converted to "
         "longitude and latitude: the row is placed from its address")]


def test_a_row_with_too_many_fields_is_still_rejected_as_such(
    run_import: Importer, write_csv: CsvWriter
) -> None:
    path = write_csv("geo.csv", XY_HEADER + "900000019,90000001900019,A,03025,700000,6600000,,"
                     "5458\n")
    report = run_import(path, mapping=preset_mapping("sirene"), registry="sirene",
                        unites_legales=UNITES_LEGALES)
    assert [(r.line, r.code) for r in report.rejections] == [(2, "too_many_fields")]


def test_an_import_that_is_not_sirene_never_loads_pyproj() -> None:
    # Loaded before the worker is forked, its ~10 MB count in both processes of an import.
    script = "import sys, app.importer.commands; print('pyproj' in sys.modules)"
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              check=True)
    assert finished.stdout == "False\n"
