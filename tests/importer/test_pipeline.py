"""Whole imports: every encoding gives the same rows, re-imports change nothing, modes, faults."""

from __future__ import annotations

import contextlib
import csv
import io
import math
from pathlib import Path

import pytest
from import_helpers import (
    MESSY,
    REPOSITORY,
    VARIANTS,
    CsvWriter,
    Importer,
    count_rows,
    stored_names,
    stored_rows,
)
from postgres_cluster import BOTH_BACKENDS, DatabaseUrls
from sqlalchemy import Engine, text

from app.config import Settings
from app.db import BULK_WRITE_PRAGMAS, create_schema, make_engine, session_scope
from app.importer import pipeline
from app.importer.pipeline import ImportContext, ImportMode, ImportOptions, import_paths
from app.importer.progress import BatchReceipt
from app.importer.report import rejected_rows_csv
from app.models import Organisation
from app.storage import delete_organisation
from app.taxonomy import LegalForm

BACKENDS = BOTH_BACKENDS

HEADER = "nom;cp;commune;secteur;siret;courriel\n"
ATELIER = "Atelier;69001;Lyon;habitat;;\n"


def test_every_encoding_delimiter_and_line_ending_gives_identical_rows(
    tmp_path: Path, context: ImportContext, database_urls: DatabaseUrls,
) -> None:
    databases = []
    for variant in sorted(VARIANTS.glob("*.csv")):
        engine = make_engine(database_urls(tmp_path / variant.stem))
        create_schema(engine)
        report = import_paths([variant], engine=engine, context=context)
        assert (report.count("inserted"), report.rejections) == (4, []), variant.name
        databases.append(stored_rows(engine))
        engine.dispose()
    assert len(databases) == 7
    assert all(rows == databases[0] for rows in databases[1:])
    assert [row["key"] for row in databases[0]] == [
        "name:epicerie solidaire d ajaccio@2A004", "name:recyclerie de rochefourchat@26274",
        "name:sante solidaire reunion@97411", "siret:73282932000074"]


def test_the_stored_row_keeps_accents_quoted_newlines_and_normalised_values(
    run_import: Importer, engine: Engine
) -> None:
    run_import(VARIANTS / "windows1252-semicolon-crlf.csv")
    cafe = next(row for row in stored_rows(engine) if row["key"] == "siret:73282932000074")
    assert {name: cafe[name] for name in ("name", "description", "siren", "website",
                                          "legal_form", "legal_status", "lat", "lon",
                                          "citycode", "departement", "region", "categories",
                                          "geocode_precision")} == {
        "name": "Café solidaire « L’Œuf »", "description": "Cantine solidaire\nRepas à 5 €, "
        "œufs bio", "siren": "732829320", "website": "https://www.cafe-oeuf.fr",
        "legal_form": LegalForm.ASSOCIATION.name, "legal_status": "Association loi 1901",
        "lat": 45.7676, "lon": 4.8344, "citycode": "69381", "departement": "69",
        "region": "84", "categories": "alimentation", "geocode_precision": "given"}


@pytest.mark.parametrize(("name", "encoding", "delimiter", "endings"), [
    ("utf8-comma-lf.csv", "UTF-8", "comma", "LF"),
    ("utf8bom-semicolon-crlf.csv", "UTF-8 with BOM", "semicolon", "CRLF"),
    ("windows1252-semicolon-crlf.csv", "Windows-1252", "semicolon", "CRLF"),
    ("utf16-tab-crlf.csv", "UTF-16 LE with BOM", "tab", "CRLF"),
    ("utf16be-comma-lf.csv", "UTF-16 BE with BOM", "comma", "LF"),
])
def test_the_report_states_what_was_detected(
    run_import: Importer, name: str, encoding: str, delimiter: str, endings: str
) -> None:
    report = run_import(VARIANTS / name)
    assert report.files[0].detected == {"encoding": encoding, "delimiter": delimiter,
                                        "line_endings": endings}


def test_reimporting_the_same_directory_changes_nothing(run_import: Importer) -> None:
    first = run_import(VARIANTS / "utf8-comma-lf.csv", MESSY)
    second = run_import(VARIANTS / "utf8-comma-lf.csv", MESSY)
    assert (first.changed, first.count("duplicate_in_run"), second.changed) == (21, 2, 0)
    assert second.count("unchanged") == 21
    assert second.duplicates == []


@pytest.mark.sqlite_only("PRAGMAs are SQLite's")
def test_an_import_gives_its_connection_back_with_the_readers_pragmas(
    run_import: Importer, engine: Engine
) -> None:
    with engine.connect() as connection:
        before = [connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                  for name in BULK_WRITE_PRAGMAS]
    assert before != list(BULK_WRITE_PRAGMAS.values())
    assert run_import(VARIANTS / "utf8-comma-lf.csv").changed == 4
    pooled = engine.pool.checkedin()  # type: ignore[attr-defined]
    with contextlib.ExitStack() as stack:  # every pooled connection, the import's among them
        connections = [stack.enter_context(engine.connect()) for _ in range(pooled)]
        assert [[connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
                 for name in BULK_WRITE_PRAGMAS] for connection in connections] == [before] * pooled


def test_a_changed_row_is_updated_in_place(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    run_import(write_csv("a.csv", HEADER + "Atelier;69001;Lyon;habitat;;a@b.fr\n"))
    report = run_import(write_csv("a.csv", HEADER + "Atelier;69001;Lyon;habitat;;c@d.fr\n"))
    assert (report.count("updated"), report.count("inserted")) == (1, 0)
    assert [row["email"] for row in stored_rows(engine)] == ["c@d.fr"]


def test_the_first_row_with_a_key_wins_and_later_ones_are_warned_about(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    path = write_csv("a.csv", HEADER + "Premier;69001;Lyon;habitat;73282932000074;\n"
                     "Second;69002;Lyon;habitat;732 829 320 00074;\n")
    report = run_import(path)
    assert (report.count("inserted"), report.count("duplicate_in_run")) == (1, 1)
    assert [(w.line, w.code, w.message) for w in report.warnings] == [
        (3, "duplicate_in_run", "same key as a.csv line 2 (siret:73282932000074): that first "
         "row is kept, this one is skipped")]
    assert stored_names(engine) == ["Premier"]


def test_a_deleted_structure_is_not_brought_back(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    path = write_csv("a.csv", HEADER + ATELIER + "Jardin;69001;Lyon;habitat;;\n")
    run_import(path)
    with session_scope(engine) as session:
        atelier = session.exec(text("SELECT id FROM organisation WHERE name = 'Atelier'"))
        delete_organisation(session=session, organisation_id=atelier.scalar_one())
    report = run_import(path)
    assert (report.count("suppressed"), report.count("unchanged")) == (1, 1)
    assert stored_names(engine) == ["Jardin"]


def test_a_dry_run_reports_everything_and_writes_nothing(
    run_import: Importer, engine: Engine
) -> None:
    report = run_import(MESSY, mode=ImportMode.DRY_RUN)
    assert report.totals() == {"rows_read": 24, "inserted": 18, "updated": 0, "unchanged": 0,
                               "suppressed": 0, "duplicate_in_run": 1, "not_ess": 0, "rejected": 5}
    assert (len(report.duplicates), report.written, report.batches_committed) == (2, False, 0)
    assert [count_rows(engine, table) for table in ("organisation", "import_run",
                                                    "import_lock")] == [0, 0, 0]


def test_strict_mode_writes_nothing_when_a_row_is_rejected(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    path = write_csv("a.csv", HEADER + ATELIER + "Jardin;;;habitat;;pas-un-mail\n")
    report = run_import(path, mode=ImportMode.STRICT)
    assert (report.written, report.message) == (
        False, "strict mode: rows or files were rejected, nothing written")
    assert count_rows(engine, "organisation") == 0


def test_strict_mode_writes_everything_when_nothing_is_rejected(
    run_import: Importer, engine: Engine
) -> None:
    report = run_import(VARIANTS / "utf8-comma-lf.csv", mode=ImportMode.STRICT)
    assert (report.written, report.count("inserted")) == (True, 4)
    assert count_rows(engine, "organisation") == 4


def test_the_default_mode_writes_the_valid_rows(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    path = write_csv("a.csv", HEADER + "Atelier;69001;Lyon;habitat;;\n;69001;Lyon;habitat;;\n")
    report = run_import(path)
    assert (report.count("inserted"), len(report.rejections)) == (1, 1)
    assert stored_names(engine) == ["Atelier"]


def test_a_faulty_file_writes_nothing_and_the_others_are_imported(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    write_csv("bon.csv", HEADER + "Atelier;69001;Lyon;habitat;;\n")
    write_csv("casse.csv", HEADER + "Jardin;69001;Lyon;habitat;;\n\"Verger;69002;Lyon;habitat;;\n")
    report = run_import(write_csv("bon.csv", HEADER + "Atelier;69001;Lyon;habitat;;\n").parent)
    assert [(f.path, f.error["code"] if f.error else None) for f in report.files] == [
        ("input/bon.csv", None), ("input/casse.csv", "unbalanced_quote")]
    assert stored_names(engine) == ["Atelier"]


def test_writes_go_in_transactions_of_bounded_size(
    engine: Engine, context: ImportContext, import_settings: Settings
) -> None:
    small_batches = ImportContext(context.taxonomy, context.geocoder, context.gazetteer,
                                  context.reverse, batch_size=2)
    report = import_paths([MESSY], engine=engine, context=small_batches)
    assert report.batches_committed == 12
    with engine.connect() as connection:
        run = connection.execute(text(
            "SELECT status, rows_committed, batches_committed FROM import_run")).one()
    assert tuple(run) == ("done", 18, 12)


class Receipts:
    """Keeps the receipt of every committed batch."""

    def __init__(self) -> None:
        self.receipts: list[BatchReceipt] = []

    def rows_expected(self, total: int) -> None:
        """Ignore."""

    def rows_processed(self, count: int) -> None:
        """Ignore."""

    def batch_committed(self, receipt: BatchReceipt) -> None:
        """Keep it."""
        self.receipts.append(receipt)


@pytest.mark.parametrize("in_worker", [False, True], ids=["in-process", "worker"])
def test_a_transaction_gathers_the_prepared_chunks_of_one_file_up_to_the_batch_size(
    engine: Engine, context: ImportContext, write_csv: CsvWriter,
    monkeypatch: pytest.MonkeyPatch, in_worker: bool,
) -> None:
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    monkeypatch.setattr(pipeline, "WORKER_MIN_ROWS", 1)
    rows = "".join(f"Atelier {number};69001;Lyon;habitat;;\n" for number in range(12))
    source = write_csv("ateliers.csv", HEADER + rows)
    write_csv("autre.csv", HEADER + "Verger;69002;Lyon;habitat;;\n")
    batches_of_five = ImportContext(context.taxonomy, context.geocoder, context.gazetteer,
                                    context.reverse, batch_size=5)
    receipts = Receipts()
    report = import_paths([source.parent], engine=engine, context=batches_of_five,
                          progress=receipts, options=ImportOptions(prepare_in_worker=in_worker))
    assert [(r.number, r.rows, r.first, r.last, r.outcomes) for r in receipts.receipts] == [
        (1, 5, ("input/ateliers.csv", 2), ("input/ateliers.csv", 6), {"inserted": 5}),
        (2, 5, ("input/ateliers.csv", 7), ("input/ateliers.csv", 11), {"inserted": 5}),
        (3, 2, ("input/ateliers.csv", 12), ("input/ateliers.csv", 13), {"inserted": 2}),
        (4, 1, ("input/autre.csv", 2), ("input/autre.csv", 2), {"inserted": 1})]
    assert (report.batches_committed, count_rows(engine, "organisation")) == (4, 13)


def test_rejected_rows_can_be_fixed_and_imported_again(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    report = run_import(MESSY / "cress-aura.csv")
    rows = list(csv.DictReader(io.StringIO(rejected_rows_csv(report).lstrip("\ufeff")),
                               delimiter=";"))
    assert [(row["rejected_line"], row["rejected_field"]) for row in rows] == [
        ("4", "name"), ("10", "lat"), ("11", "city"), ("14", ""), ("19", "lat")]
    fixed = {"4": {"name": "Cantine Sans Nom"}, "11": {"city": "Lyon", "postcode": "69002"}}
    kept = [{**row, **fixed[row["rejected_line"]]} for row in rows if row["rejected_line"] in fixed]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=";")
    writer.writeheader()
    writer.writerows(kept)
    again = run_import(write_csv("corrige.csv", "\ufeff" + buffer.getvalue()))
    assert (again.count("inserted"), again.rejections) == (2, [])
    assert {"Cantine Sans Nom", "Commune Inconnue"} <= set(stored_names(engine))
    assert run_import(MESSY / "cress-aura.csv").changed == 0


def test_the_messy_directory_gets_a_report_a_maintainer_can_act_on(run_import: Importer) -> None:
    report = run_import(MESSY)
    assert report.totals() == {"rows_read": 24, "inserted": 18, "updated": 0, "unchanged": 0,
                               "suppressed": 0, "duplicate_in_run": 1, "not_ess": 0, "rejected": 5}
    assert [(f.path, f.error["code"] if f.error else f.rows) for f in report.files] == [
        ("messy/broken/duplicate-headers.csv", "duplicate_headers"),
        ("messy/broken/empty.csv", "empty_file"),
        ("messy/broken/no-header.csv", "no_header"),
        ("messy/broken/unbalanced-quote.csv", "unbalanced_quote"),
        ("messy/broken/undecodable.csv", "undecodable"),
        ("messy/cae/cooperatives.csv", 2),
        ("messy/cress-aura.csv", 17),
        ("messy/reseau-tiers-lieux.csv", 5),
    ]
    assert [(r.line, r.code) for r in report.rejections] == [
        (4, "name_missing"), (10, "coordinates_wrong_departement"), (11, "not_located"),
        (14, "too_many_fields"), (19, "coordinates_outside_france")]
    assert [(w.line, w.code) for w in report.warnings] == [
        (5, "field_dropped"), (6, "field_dropped"), (7, "field_dropped"), (8, "field_dropped"),
        (9, "latlon_swapped"), (20, "field_dropped"), (12, "duplicate_in_run")]
    assert report.warnings[3].message == ("website dropped, the structure is kept: website "
                                          "'htp//www' is not an http(s) address")
    assert [(d["first_name"], d["second_name"], d["rule"]) for d in report.duplicates] == [
        ("La Fabrique Commune", "La Fabrique Commune", "same_name_nearby"),
        ("Les Ateliers du Bocage", "Association Ateliers du Bocage",
         "similar_name_same_commune")]
    assert dict(report.precisions) == {"given": 5, "municipality": 13}


def test_the_default_directory_imports_whole_and_a_second_run_changes_nothing(
    run_import: Importer
) -> None:
    first = run_import(REPOSITORY / "app" / "data" / "organisations.csv")
    second = run_import(REPOSITORY / "app" / "data" / "organisations.csv")
    assert (first.rejections, first.files_rejected) == ([], [])
    assert first.count("inserted") == first.rows_read - first.count("duplicate_in_run")
    assert (second.changed, second.count("unchanged")) == (0, first.count("inserted"))


def test_every_row_ends_in_exactly_one_outcome(run_import: Importer) -> None:
    report = run_import(MESSY, VARIANTS)
    totals = report.totals()
    outcomes = [count for name, count in totals.items() if name != "rows_read"]
    assert totals["rows_read"] == sum(outcomes)
    assert math.isclose(sum(report.precisions.values()), report.changed)


def test_the_stored_model_reads_back_through_the_orm(
    run_import: Importer, engine: Engine
) -> None:
    run_import(VARIANTS / "utf8-comma-lf.csv")
    with session_scope(engine) as session:
        rows = session.exec(text("SELECT id FROM organisation ORDER BY id")).scalars().all()
        stored = [session.get(Organisation, row_id) for row_id in rows]
    assert all(row is not None and row.created_at.tzinfo is not None for row in stored)
    assert sorted(row.category_list()[0] for row in stored if row) == [
        "alimentation", "alimentation", "reemploi", "sante-action-sociale"]


def test_formula_cells_come_back_neutralised_in_the_rejected_rows_and_import_again(
    run_import: Importer, write_csv: CsvWriter, engine: Engine
) -> None:
    hyperlink = '=HYPERLINK("http://evil.example","Cliquez")'
    path = write_csv("formules.csv", HEADER
                     + '"=HYPERLINK(""http://evil.example"",""Cliquez"")";69001;Lyon;inconnu;1;\n'
                     + "Atelier;69001;Lyon;=cmd|' /C calc'!A0;;\n")
    rejected = rejected_rows_csv(run_import(path, strict_sectors=True))
    assert rejected.split("\r\n") == [
        "\ufeffrejected_file;rejected_line;rejected_field;rejected_reason;name;postcode;city;"
        "categories;siret;email",
        "formules.csv;2;categories;\"unknown sector 'inconnu': use a slug, label or alias of "
        "the taxonomy's categories.yaml, or map it in a mapping file; SIRET must have 14 digits, "
        "got 1 in '1'\";\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"Cliquez\"\")\";69001;Lyon;"
        "inconnu;1;",
        "formules.csv;3;categories;\"unknown sector \"\"=cmd|' /C calc'!A0\"\": use a slug, "
        "label or alias of the taxonomy's categories.yaml, or map it in a mapping file\";Atelier;"
        "69001;Lyon;'=cmd|' /C calc'!A0;;",
        "",
    ]
    fixed = rejected.replace("inconnu;1;\r\n", "habitat;;\r\n").replace(
        "'=cmd|' /C calc'!A0;", "habitat;")
    again = run_import(write_csv("corrige.csv", fixed))
    assert (again.count("inserted"), again.rejections) == (2, [])
    assert stored_names(engine) == [hyperlink, "Atelier"]
