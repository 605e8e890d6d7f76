"""`ess-atlas import`, `ess-atlas duplicates` and `ess-atlas hash-token` through Typer's runner."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from import_helpers import MESSY, REGISTRIES, VARIANTS, CsvWriter, count_rows, stored_names
from postgres_cluster import BOTH_BACKENDS
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from app.auth import verify_token
from app.cli import cli
from app.config import Settings
from app.importer.lock import acquire_import_lock

BACKENDS = BOTH_BACKENDS

HEADER = "nom;cp;commune;secteur;courriel\n"


@pytest.fixture
def invoke(import_settings: Settings, tmp_path: Path, engine: Engine) -> Invoker:
    """Run the CLI on the test database, reports under tmp_path/reports."""
    return Invoker(import_settings.database_url, tmp_path / "reports")


class Invoker:
    """Calls the ess-atlas command line with the test database in its environment."""

    def __init__(self, database_url: str, reports: Path) -> None:
        self.environment = {"ESS_DATABASE_URL": database_url}
        self.reports = reports

    def __call__(self, *args: str, stdin: str | None = None) -> Result:
        extra = ["--report-dir", str(self.reports)] if args[0] == "import" else []
        return CliRunner().invoke(cli, [*args, *extra], env=self.environment, input=stdin)


def summary(result: Result) -> list[str]:
    """The output lines, without the last one (the report paths, which hold a timestamp)."""
    return result.stdout.splitlines()[:-1]


def test_import_prints_what_happened_to_every_row(invoke: Invoker, write_csv: CsvWriter) -> None:
    path = write_csv("a.csv", HEADER + "Atelier;69001;Lyon;habitat;\n"
                     "Jardin;;;environnement;pas-un-mail\n"
                     "Rucher;04270;Majastres;environnement;\n")
    result = invoke("import", str(path))
    assert result.exit_code == 1
    assert summary(result) == [
        "Import: 1 file, 0 rejected",
        "  rows_read               3",
        "  inserted                2",
        "  updated                 0",
        "  unchanged               0",
        "  suppressed              0",
        "  duplicate_in_run        0",
        "  not_ess                 0",
        "  rejected                1",
        "rejected a.csv:3: email 'pas-un-mail' is not an email address",
    ]
    csv_path, json_path = sorted(invoke.reports.iterdir())
    assert result.stdout.splitlines()[-1] == f"report: {json_path}; rejected rows: {csv_path}"
    assert json.loads(json_path.read_text())["inserted"] == 2


def test_a_second_import_reports_the_updated_and_unchanged_rows(
    invoke: Invoker, write_csv: CsvWriter
) -> None:
    invoke("import", str(write_csv("a.csv", HEADER + "Atelier;69001;Lyon;habitat;\n"
                                   "Jardin;69003;Lyon;environnement;\n")))
    result = invoke("import", str(write_csv("a.csv", HEADER + "Atelier;69001;Lyon;habitat;\n"
                                            "Jardin;69003;Lyon;habitat;\n")))
    assert result.exit_code == 0
    assert summary(result)[2:5] == ["  inserted                0", "  updated                 1",
                                    "  unchanged               1"]


def test_a_clean_import_exits_0_and_writes_no_rejected_csv(invoke: Invoker) -> None:
    result = invoke("import", str(VARIANTS / "utf8-comma-lf.csv"))
    assert result.exit_code == 0
    assert [path.suffix for path in invoke.reports.iterdir()] == [".json"]


def test_dry_run_shows_the_full_report_and_writes_nothing(
    invoke: Invoker, engine: Engine
) -> None:
    result = invoke("import", str(MESSY), "--dry-run")
    assert result.exit_code == 1
    assert summary(result)[0] == "Dry run (nothing written): 8 files, 5 rejected"
    assert "2 probable duplicates to review: ess-atlas duplicates" in result.stdout
    assert count_rows(engine, "organisation") == 0


def test_strict_writes_nothing_when_a_row_is_rejected(invoke: Invoker, engine: Engine) -> None:
    result = invoke("import", str(MESSY / "cress-aura.csv"), "--strict")
    assert result.exit_code == 1
    assert "strict mode: rows or files were rejected, nothing written" in result.stdout
    assert count_rows(engine, "organisation") == 0


def test_json_prints_the_report(invoke: Invoker) -> None:
    result = invoke("import", str(VARIANTS / "utf16-tab-crlf.csv"), "--json")
    report = json.loads(result.stdout)
    assert (report["inserted"], report["files"][0]["detected"]["encoding"]) == (
        4, "UTF-16 LE with BOM")


def test_show_batches_prints_each_committed_batch(invoke: Invoker) -> None:
    result = invoke("import", str(VARIANTS / "utf8-comma-lf.csv"), "--show-batches")
    assert result.stdout.splitlines()[0] == (
        "batch 1 committed: 4 rows (utf8-comma-lf.csv:2 -> utf8-comma-lf.csv:6)")


def test_a_source_and_a_default_category_apply_to_rows_without_them(
    invoke: Invoker, write_csv: CsvWriter, engine: Engine
) -> None:
    path = write_csv("a.csv", "id;nom;commune\n7;Atelier;Lyon\n")
    result = invoke("import", str(path), "--source", "cress", "--default-category", "habitat")
    assert result.exit_code == 0
    assert stored_names(engine) == ["Atelier"]


def test_a_bad_mapping_file_is_a_usage_error(invoke: Invoker, write_csv: CsvWriter) -> None:
    mapping = write_csv("m.yaml", "columns:\n  Nom: nom_complet\n")
    result = invoke("import", str(VARIANTS / "utf8-comma-lf.csv"), "--mapping", str(mapping))
    assert result.exit_code == 2
    assert "nom_complet" in result.stderr


def test_an_import_while_another_runs_is_refused_with_exit_3(
    invoke: Invoker, engine: Engine
) -> None:
    with acquire_import_lock(engine, "d" * 32):
        result = invoke("import", str(VARIANTS / "utf8-comma-lf.csv"))
    assert result.exit_code == 3
    assert result.stderr.strip().startswith(
        f"import refused: another import is running (run {'d' * 32}")


def test_duplicates_are_listed_merged_and_dismissed(invoke: Invoker, engine: Engine) -> None:
    invoke("import", str(MESSY / "reseau-tiers-lieux.csv"))
    listed = invoke("duplicates")
    assert listed.stdout.splitlines() == [
        "#1 same_name_nearby, 50 m apart [pending]",
        "    1: La Fabrique Commune — 44000 Nantes (source:tiers-lieux:tl-1)",
        "    2: La Fabrique Commune — 44000 Nantes (source:tiers-lieux:tl-2)",
        "#2 similar_name_same_commune, 0 m apart [pending]",
        "    3: Les Ateliers du Bocage — 79140 Le Pin (source:tiers-lieux:tl-3)",
        "    4: Association Ateliers du Bocage — 79140 Le Pin (source:tiers-lieux:tl-4)",
    ]
    merged = invoke("duplicates", "merge", "1", "--keep", "2")
    assert merged.stdout == ("#1 merged: structure 1 deleted (its key is on the suppression "
                             "list, re-imports skip it)\n")
    assert invoke("duplicates", "dismiss", "2").exit_code == 0
    assert invoke("duplicates").stdout == "no probable duplicates to review\n"
    assert invoke("duplicates", "--all").stdout.splitlines()[0] == (
        "#2 similar_name_same_commune, 0 m apart [dismissed]")
    again = invoke("duplicates", "dismiss", "2")
    assert (again.exit_code, again.stderr) == (1, "error: duplicate candidate 2 is already "
                                                  "dismissed\n")
    assert count_rows(engine, "organisation") == 4


def test_hash_token_prints_a_hash_of_the_token_read_from_stdin(invoke: Invoker) -> None:
    result = invoke("hash-token", stdin="a-long-enough-admin-token\n")
    line = result.stdout.splitlines()[-1]
    assert line.startswith("ESS_ADMIN_TOKEN_HASH=scrypt$")
    assert verify_token("a-long-enough-admin-token", line.removeprefix("ESS_ADMIN_TOKEN_HASH="))


def test_hash_token_makes_a_random_token_stored_as_a_fast_sha256(invoke: Invoker) -> None:
    lines = invoke("hash-token", "--generate").stdout.splitlines()
    token = lines[0].rsplit(": ", 1)[1]
    stored = lines[1].removeprefix("ESS_ADMIN_TOKEN_HASH=")
    assert (len(token), stored) == (43, "sha256$" + hashlib.sha256(token.encode()).hexdigest())
    assert verify_token(token, stored)


def test_duplicates_show_escape_sequences_of_names_as_text(
    invoke: Invoker, write_csv: CsvWriter
) -> None:
    path = write_csv("echappement.csv", (
        "id,source,nom,cp,commune,lat,lng,secteur\n"
        "e-1,esc,La Fabrique\x1b]0;pwned\x07\x1b[2J,44000,Nantes,47.2110,-1.5640,habitat\n"
        "e-2,esc,La Fabrique\x1b]0;pwned\x07\x1b[2J,44000,Nantes,47.2113,-1.5645,habitat\n"))
    invoke("import", str(path))
    listed = invoke("duplicates")
    assert listed.stdout.splitlines() == [
        "#1 same_name_nearby, 50 m apart [pending]",
        "    1: La Fabrique\\x1b]0;pwned\\x07\\x1b[2J — 44000 Nantes (source:esc:e-1)",
        "    2: La Fabrique\\x1b]0;pwned\\x07\\x1b[2J — 44000 Nantes (source:esc:e-2)",
    ]
    assert "\x1b" not in listed.output


def test_import_with_the_unites_legales_keeps_the_ess_establishments(invoke: Invoker) -> None:
    result = invoke("import", "--preset", "sirene",
                    str(REGISTRIES / "StockEtablissement_geo_extrait.csv"),
                    "--unites-legales", str(REGISTRIES / "StockUniteLegale_extrait.csv"))
    assert result.exit_code == 0, result.output
    assert [line.split() for line in summary(result)[1:9]] == [
        ["rows_read", "6"], ["inserted", "5"], ["updated", "0"], ["unchanged", "0"],
        ["suppressed", "0"], ["duplicate_in_run", "0"], ["not_ess", "1"], ["rejected", "0"]]


def test_unites_legales_without_the_sirene_preset_is_a_usage_error(invoke: Invoker) -> None:
    result = invoke("import", str(REGISTRIES / "StockEtablissement_geo_extrait.csv"),
                    "--unites-legales", str(REGISTRIES / "StockUniteLegale_extrait.csv"))
    assert result.exit_code == 2
    assert "Invalid value for --unites-legales: needs --preset sirene" in result.output


def test_a_unites_legales_file_without_the_ess_flag_refuses_the_import(
    invoke: Invoker, engine: Engine
) -> None:
    result = invoke("import", "--preset", "sirene",
                    str(REGISTRIES / "StockEtablissement_geo_extrait.csv"),
                    "--unites-legales", str(REGISTRIES / "StockEtablissement_geo_extrait.csv"))
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(
        "StockEtablissement_geo_extrait.csv: not a StockUniteLegale file: no "
        "economieSocialeSolidaireUniteLegale column")
    assert count_rows(engine, "organisation") == 0
