"""The `import`, `duplicates` and `hash-token` commands (registered in app/cli.py)."""

from __future__ import annotations

import gc
import json
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from sqlalchemy import Engine

from app import duplicates
from app.auth import hash_random_token, hash_token
from app.config import Settings, load_settings
from app.db import open_database, session_scope
from app.errors import AtlasError
from app.importer.columns import ColumnMapping, load_mapping
from app.importer.context import close_context, import_context
from app.importer.faults import FileRejected
from app.importer.lock import ImportInProgress
from app.importer.pipeline import ImportMode, ImportOptions, import_paths
from app.importer.presets import PRESETS, preset_mapping
from app.importer.progress import BatchReceipt
from app.importer.report import ImportReport, sector_mapping_snippet, write_rejected_rows
from app.importer.runs import new_run_id
from app.progress import row_progress
from app.terminal import exits_on_configuration_error, printable

EXIT_REJECTIONS = 1
EXIT_BUSY = 3
EXIT_USAGE = 2
SHOWN_REJECTIONS = 50
SHOWN_WARNINGS = 20


class ProgressBarObserver:
    """Shows an import on a rich progress bar; optionally prints each committed batch."""

    def __init__(self, progress: Progress, show_batches: bool) -> None:
        self.progress = progress
        self.task = progress.add_task("importing", total=None)
        self.show_batches = show_batches

    def rows_expected(self, total: int) -> None:
        """Set the bar's total."""
        self.progress.update(self.task, total=total)

    def rows_processed(self, count: int) -> None:
        """Advance the bar."""
        self.progress.advance(self.task, count)

    def batch_committed(self, receipt: BatchReceipt) -> None:
        """Print the batch when asked to (one flushed line per durable batch)."""
        if self.show_batches:
            (first_file, first_line), (last_file, last_line) = receipt.first, receipt.last
            typer.echo(f"batch {receipt.number} committed: {receipt.rows} rows "
                       f"({first_file}:{first_line} -> {last_file}:{last_line})")
            sys.stdout.flush()


def _mapping(
    mapping_file: Path | None, source: str | None, category: str | None, preset: str | None
) -> ColumnMapping:
    """The preset or mapping file (if any), with the command-line source and default on top."""
    if preset and mapping_file:
        raise typer.BadParameter("--preset and --mapping exclude each other")
    if preset and preset not in PRESETS:
        raise typer.BadParameter(f"unknown preset {preset!r}; expected one of: "
                                 f"{', '.join(PRESETS)}", param_hint="--preset")
    try:
        mapping = (preset_mapping(preset) if preset else
                   load_mapping(mapping_file) if mapping_file else ColumnMapping())
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--mapping") from None
    return replace(mapping, source=source or mapping.source,
                   default_category=category or mapping.default_category)


def _mode(dry_run: bool, strict: bool) -> ImportMode:
    if dry_run and strict:
        raise typer.BadParameter("--dry-run and --strict exclude each other")
    return ImportMode.DRY_RUN if dry_run else ImportMode.STRICT if strict else ImportMode.DEFAULT


def _write_reports(report: ImportReport, directory: Path) -> tuple[Path, Path | None]:
    """Write the JSON report and the rejected rows CSV; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"import-{datetime.now(UTC):%Y%m%dT%H%M%S}-{(report.run_id or new_run_id())[:8]}"
    json_path = directory / f"{stem}.json"
    json_path.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n",
                         encoding="utf-8")
    if not report.rejected:
        return json_path, None
    csv_path = directory / f"{stem}-rejected.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        write_rejected_rows(report, handle)
    return json_path, csv_path


def summary_lines(report: ImportReport) -> list[str]:
    """The closing summary of an import, as plain lines."""
    title = {"default": "Import", "strict": "Import (strict)", "dry_run": "Dry run (nothing "
             "written)"}[report.mode]
    count = len(report.files)
    lines = [f"{title}: {count} file{'s' if count != 1 else ''}, "
             f"{len(report.files_rejected)} rejected"]
    lines += [f"  {name:<17}{count:>8}" for name, count in report.totals().items()]
    if report.message:
        lines.append(report.message)
    for file in report.files_rejected:
        assert file.error is not None  # noqa: S101  (files_rejected have one)
        lines.append(f"rejected file {file.path}: {file.error['message']}")
    rejected = [f"rejected {r.file}:{r.line}: {r.reason}"
                for r in report.rejections[:SHOWN_REJECTIONS]]
    lines += _capped(rejected, report.rejected, "more rejected rows (see the CSV)")
    warnings = [f"warning {w.file}:{w.line}: {w.message}"
                for w in report.warnings[:SHOWN_WARNINGS]]
    lines += _capped(warnings, report.warnings_total, "more warnings (see the JSON report)")
    if report.duplicates_total:
        lines.append(f"{report.duplicates_total} probable duplicates to review: "
                     "ess-atlas duplicates")
    if report.unknown_sectors:
        lines.append(f"{len(report.unknown_sectors)} unknown sector labels (rows per label in "
                     "the JSON report); a mapping file section to fill in:")
        lines += sector_mapping_snippet(report.unknown_sectors).splitlines()
    return lines


def _capped(lines: list[str], total: int, more: str) -> list[str]:
    """The lines shown, then one saying how many more of `total` there are and where."""
    hidden = total - len(lines)
    return [*lines, f"... and {hidden} {more}"] if hidden > 0 else lines


# Allocations between two collections of the youngest generation while importing (the
# interpreter's default is 700).
IMPORT_GC_THRESHOLD = 200_000


@contextmanager
def _rare_cycle_collection() -> Iterator[None]:
    """Collect reference cycles rarely while this process imports.

    An import makes millions of short-lived tuples and few reference cycles; the
    collector's default passes over them cost about a quarter of the run, but never
    collecting lets the few cycles (database sessions, results) pile up with the file.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(IMPORT_GC_THRESHOLD, thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _run_import(
    paths: list[Path], settings: Settings, options: ImportOptions, show_batches: bool
) -> ImportReport:
    """Run the import behind a progress bar."""
    engine = open_database(settings)
    context = import_context(settings)
    try:
        with row_progress() as progress, _rare_cycle_collection():
            observer = ProgressBarObserver(progress, show_batches)
            return import_paths(paths, engine=engine, context=context, progress=observer,
                                options=options)
    finally:
        close_context(context)
        engine.dispose()


def import_command(
    paths: Annotated[list[Path], typer.Argument(exists=True, help="CSV files or directories")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only; write nothing")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Write nothing if any row is rejected")]
    = False,
    mapping_file: Annotated[Path | None, typer.Option(
        "--mapping", exists=True, dir_okay=False, help="YAML/JSON file: columns, sectors")] = None,
    source: Annotated[str | None, typer.Option(help="Source name for rows without one")] = None,
    default_category: Annotated[str | None, typer.Option(
        help="Sector slug for rows without one")] = None,
    report_dir: Annotated[Path, typer.Option(help="Where the JSON report and rejected CSV go")]
    = Path("import-reports"),
    show_batches: Annotated[bool, typer.Option(
        "--show-batches", help="Print each batch once it is committed")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report")] = False,
    preset: Annotated[str | None, typer.Option(
        help="Read a public registry as published: sirene (StockEtablissement) or rna (waldec)")]
    = None,
    strict_sectors: Annotated[bool, typer.Option(
        "--strict-sectors", help="Reject rows whose sector is unknown (default: non-classe)")]
    = False,
    unites_legales: Annotated[Path | None, typer.Option(
        "--unites-legales", exists=True, dir_okay=False,
        help="With --preset sirene: the StockUniteLegale file; keep ESS establishments only")]
    = None,
) -> None:
    """Import CSV files and directories of structures; report what happened to every row."""
    if unites_legales is not None and preset != "sirene":
        raise typer.BadParameter("needs --preset sirene", param_hint="--unites-legales")
    options = ImportOptions(mode=_mode(dry_run, strict), prepare_in_worker=True,
                            mapping=_mapping(mapping_file, source, default_category, preset),
                            strict_sectors=strict_sectors, registry=preset,
                            unites_legales=unites_legales)
    try:
        report = _run_import(paths, load_settings(), options, show_batches)
    except ImportInProgress as busy:
        typer.echo(f"import refused: {busy.message}", err=True)
        raise typer.Exit(code=EXIT_BUSY) from None
    except FileRejected as fault:
        typer.echo(f"import refused: {unites_legales}: {fault.message}", err=True)
        raise typer.Exit(code=EXIT_USAGE) from None
    json_path, csv_path = _write_reports(report, report_dir)
    typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if as_json
               else "\n".join(printable(line) for line in summary_lines(report)))
    typer.echo(f"report: {json_path}" + (f"; rejected rows: {csv_path}" if csv_path else ""),
               err=as_json)
    if not report.clean:
        raise typer.Exit(code=EXIT_REJECTIONS)


# --- duplicates ---------------------------------------------------------------------

duplicates_cli = typer.Typer(help="Review probable duplicates: list, merge, dismiss.",
                             no_args_is_help=False, invoke_without_command=True)


def _engine() -> Engine:
    return open_database(load_settings())


def _describe(view: duplicates.CandidateView) -> list[str]:
    distance = f", {view.distance_m:.0f} m apart" if view.distance_m is not None else ""
    return [f"#{view.id} {view.rule}{distance} [{view.status}]"] + [
        printable(f"    {o.id}: {o.name} — {o.postcode or ''} {o.city or ''} ({o.key})")
        for o in (view.first, view.second)]


@duplicates_cli.callback()
@exits_on_configuration_error
def duplicates_list(
    context: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Include dismissed pairs")] = False,
) -> None:
    """List the pairs waiting for review (the default when no subcommand is given)."""
    if context.invoked_subcommand is not None:
        return
    engine = _engine()
    with session_scope(engine) as session:
        views = duplicates.list_candidates(session=session, status=None if show_all else "pending")
        lines = [line for view in views for line in _describe(view)]
    engine.dispose()
    typer.echo("\n".join(lines) if lines else "no probable duplicates to review")


def _decide(action: str, candidate_id: int, keep: int | None = None) -> str:
    engine = _engine()
    try:
        with session_scope(engine) as session:
            if action == "dismiss":
                duplicates.dismiss_candidate(session=session, candidate_id=candidate_id)
                return (f"#{candidate_id} dismissed: both structures stay, the pair is not "
                        "queued again")
            dropped = duplicates.merge_candidate(session=session, candidate_id=candidate_id,
                                                 keep_id=keep)
            return (f"#{candidate_id} merged: structure {dropped} deleted (its key is on the "
                    "suppression list, re-imports skip it)")
    except AtlasError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(code=1) from None
    finally:
        engine.dispose()


@duplicates_cli.command("merge")
@exits_on_configuration_error
def duplicates_merge(
    candidate_id: Annotated[int, typer.Argument(help="Pair number, as listed")],
    keep: Annotated[int | None, typer.Option(help="Id of the structure to keep")] = None,
) -> None:
    """Keep one structure of a pair and delete the other (it stays deleted on re-import)."""
    typer.echo(_decide("merge", candidate_id, keep))


@duplicates_cli.command("dismiss")
@exits_on_configuration_error
def duplicates_dismiss(
    candidate_id: Annotated[int, typer.Argument(help="Pair number, as listed")],
) -> None:
    """Mark a pair as two different structures."""
    typer.echo(_decide("dismiss", candidate_id))


# --- hash-token ---------------------------------------------------------------------


def hash_token_command(
    generate: Annotated[bool, typer.Option(
        "--generate", help="Make a new 256-bit random token (stored as sha256$…)")] = False,
) -> None:
    """Print the ESS_ADMIN_TOKEN_HASH of a token read from stdin (scrypt), or of a new one."""
    if generate:
        token = secrets.token_urlsafe(32)
        typer.echo(f"token (give it to the admins, store it nowhere else): {token}")
        typer.echo(f"ESS_ADMIN_TOKEN_HASH={hash_random_token(token)}")
        return
    token = typer.prompt("admin token", hide_input=True).strip()
    try:
        typer.echo(f"ESS_ADMIN_TOKEN_HASH={hash_token(token)}")
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
