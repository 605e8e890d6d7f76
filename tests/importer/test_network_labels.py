"""Nothing lost for a label: a network's directory in its own words imports whole."""

from __future__ import annotations

from collections import Counter

from import_helpers import NETWORK, Importer, stored_rows
from sqlalchemy import Engine

from app.importer.report import sector_mapping_snippet


def test_every_structure_with_a_name_and_a_place_is_imported(
    run_import: Importer, engine: Engine
) -> None:
    report = run_import(NETWORK)
    assert report.totals() == {"rows_read": 17, "inserted": 17, "updated": 0, "unchanged": 0,
                               "suppressed": 0, "duplicate_in_run": 0, "not_ess": 0, "rejected": 0}
    assert [(f.path, f.error["code"] if f.error else f.rows) for f in report.files] == [
        ("network/adherents-bom.csv", 6), ("network/adherents-cp1252.csv", 6),
        ("network/adherents-utf16.csv", 5), ("network/vide.csv", "empty_file")]
    sectors = {row["name"]: row["categories"] for row in stored_rows(engine)}
    assert {name: sectors[name] for name in (
        "Chantier Vert", "Compagnie du Rêve", "Point Numérique", "La Grange Partagée",
        "Numérique Pour Tous", "Maison des Possibles", "Coop Culture", "Accueil Paysan Drôme",
    )} == {
        "Chantier Vert": "insertion-emploi", "Compagnie du Rêve": "culture-education-populaire",
        "Point Numérique": "mediation-numerique", "La Grange Partagée": "environnement",
        "Numérique Pour Tous": "mediation-numerique", "Maison des Possibles": "environnement",
        "Coop Culture": "culture-education-populaire|insertion-emploi",
        "Accueil Paysan Drôme": "non-classe",
    }


def test_unknown_labels_are_counted_with_a_mapping_snippet(run_import: Importer) -> None:
    report = run_import(NETWORK).to_dict()
    assert report["unknown_sectors"] == [
        {"label": "Agritourisme", "rows": 3}, {"label": "Mobilité solidaire", "rows": 2},
        {"label": "Épicerie sociale", "rows": 1}]
    assert report["sector_mapping_snippet"] == (
        "# replace non-classe by a sector slug of the taxonomy's categories.yaml\n"
        "categories:\n"
        '  "Agritourisme": non-classe  # 3 rows\n'
        '  "Mobilité solidaire": non-classe  # 2 rows\n'
        '  "Épicerie sociale": non-classe  # 1 rows\n')


def test_bad_optional_fields_are_dropped_row_by_row_with_a_warning(
    run_import: Importer, engine: Engine
) -> None:
    report = run_import(NETWORK)
    dropped = [(w.file, w.line, w.message) for w in report.warnings if w.code == "field_dropped"]
    assert dropped == [
        ("network/adherents-bom.csv", 4, "email dropped, the structure is kept: email "
         "'contact(at)fab.fr' is not an email address"),
        ("network/adherents-bom.csv", 6, "siret dropped, the structure is kept: SIRET must have "
         "14 digits, got 3 in '123'"),
        ("network/adherents-cp1252.csv", 6, "website dropped, the structure is kept: website "
         "'www.accueil paysan.fr' is not an http(s) address"),
        ("network/adherents-utf16.csv", 5, "phone dropped, the structure is kept: phone "
         "'appelez-nous' is not a phone number"),
    ]
    paysan = next(row for row in stored_rows(engine) if row["name"] == "Accueil Paysan Drôme")
    assert (paysan["website"], paysan["city"]) == (None, "Valence")


def test_strict_sectors_keep_rejecting_unknown_labels(run_import: Importer) -> None:
    report = run_import(NETWORK, strict_sectors=True)
    assert (report.count("inserted"), report.rejected) == (11, 6)
    assert {r.code for r in report.rejections} == {"category_unknown"}


def test_a_mapping_snippet_is_empty_when_every_label_is_known() -> None:
    assert sector_mapping_snippet(Counter()) == ""
