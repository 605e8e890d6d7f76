"""Run an import: read -> clean -> place -> key -> write in bounded batches -> report.

Modes: `default` writes the valid rows; `strict` writes nothing if any row or file is
rejected; `dry_run` computes the full report against the database and writes nothing.
Each batch is one transaction, counted in the run log inside that same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine
from sqlmodel import Session

from app import duplicates
from app.db import session_scope
from app.importer.columns import ColumnMapping, ColumnPlan, plan_columns
from app.importer.faults import FileRejected, RowInvalid
from app.importer.lock import HeldImportLock, acquire_import_lock
from app.importer.place import PlaceIndexes, Placer, ReverseLookup
from app.importer.reader import ParsedFile, RawRow, read_csv_file
from app.importer.report import FileReport, ImportReport, Notice, Rejection, rejected_rows_csv
from app.importer.runs import (
    DONE,
    FAILED,
    INTERRUPTED,
    finish_run,
    new_run_id,
    record_batch,
    start_run,
)
from app.importer.validate import CategoryMatcher, CleanRow, cell_values, clean_row
from app.storage import (
    Placement,
    StoredRecord,
    UpsertOutcome,
    classify_batch,
    key_for,
    organisation_values,
    stored_record,
    write_batch,
)
from app.taxonomy import Taxonomy
from geocode.base import Geocoder
from geocode.gazetteer import Gazetteer


class ImportMode(StrEnum):
    """How an import treats the database."""

    DEFAULT = "default"
    STRICT = "strict"
    DRY_RUN = "dry_run"


@dataclass(frozen=True)
class ImportContext:
    """What the steps need: taxonomy, geocoder and the offline indexes."""

    taxonomy: Taxonomy
    geocoder: Geocoder
    gazetteer: Gazetteer
    reverse: ReverseLookup
    batch_size: int = 1000


@dataclass(frozen=True)
class ImportOptions:
    """Mode, column mapping, and who asked (for the run log)."""

    mode: ImportMode = ImportMode.DEFAULT
    mapping: ColumnMapping = field(default_factory=ColumnMapping)
    origin: str = "cli"
    log_dry_run: bool = False


@dataclass(frozen=True)
class SourceFile:
    """A file to import and the name reports give it."""

    path: Path
    name: str


@dataclass(frozen=True, slots=True)
class Prepared:
    """A row ready to write: where it came from and its stored form."""

    file: str
    line: int
    record: StoredRecord


@dataclass(frozen=True)
class BatchReceipt:
    """A committed batch: its number, size, first and last rows, and outcomes."""

    number: int
    rows: int
    first: tuple[str, int]
    last: tuple[str, int]
    outcomes: dict[str, int]


class ImportObserver(Protocol):
    """Whoever shows an import's progress (a progress bar, the run log)."""

    def rows_expected(self, total: int) -> None:
        """About how many rows the files hold."""

    def rows_processed(self, count: int) -> None:
        """`count` more rows were read and checked."""

    def batch_committed(self, receipt: BatchReceipt) -> None:
        """A batch is durably in the database."""


class SilentObserver:
    """An observer that shows nothing."""

    def rows_expected(self, total: int) -> None:
        """Ignore."""

    def rows_processed(self, count: int) -> None:
        """Ignore."""

    def batch_committed(self, receipt: BatchReceipt) -> None:
        """Ignore."""


def _is_candidate(path: Path) -> bool:
    """A CSV file that is not hidden nor an office suite's lock file."""
    return path.suffix.lower() == ".csv" and not path.name.startswith((".", "~$"))


def source_files(paths: Iterable[Path]) -> list[SourceFile]:
    """The files named, and every *.csv below the directories named, in a stable order."""
    found: list[SourceFile] = []
    for path in paths:
        if path.is_dir():
            below = sorted(p for p in path.rglob("*") if p.is_file() and _is_candidate(p))
            found.extend(SourceFile(p, p.relative_to(path.parent).as_posix()) for p in below)
        else:
            found.append(SourceFile(path, path.name))
    return found


def csv_files(paths: Iterable[Path]) -> list[Path]:
    """The paths of `source_files`."""
    return [source.path for source in source_files(paths)]


def estimate_rows(files: Sequence[SourceFile]) -> int:
    """About how many data rows the files hold (line count minus headers)."""
    total = 0
    for source in files:
        try:
            total += max(0, source.path.read_bytes().count(b"\n") - 1)
        except OSError:
            continue
    return total


def _chunks(rows: Sequence[RawRow], size: int) -> Iterator[Sequence[RawRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Importer:
    """One run over a list of files: prepares rows, writes or classifies them, reports."""

    def __init__(
        self, engine: Engine, context: ImportContext, options: ImportOptions,
        observer: ImportObserver, run_id: str | None,
    ) -> None:
        self.engine, self.context, self.options = engine, context, options
        self.observer, self.run_id = observer, run_id
        self.report = ImportReport(mode=options.mode.value, run_id=run_id)
        self.matcher = CategoryMatcher(context.taxonomy, options.mapping)
        self.places = Placer(PlaceIndexes(context.geocoder, context.gazetteer, context.reverse))
        self.first_seen: dict[str, tuple[str, int]] = {}
        self.dry_entries: dict[str, duplicates.Entry] = {}
        self.dry_changed: list[str] = []

    # --------------------------------------------------------------- reading

    def prepared_batches(self, files: Sequence[SourceFile]) -> Iterator[list[Prepared]]:
        """Batches of rows ready to write, file after file (rejections go to the report)."""
        for source in files:
            yield from self._file_batches(source)

    def _file_batches(self, source: SourceFile) -> Iterator[list[Prepared]]:
        file_report = FileReport(source.name)
        self.report.files.append(file_report)
        try:
            parsed = read_csv_file(source.path)
            plan = plan_columns(parsed.header, self.options.mapping)
        except FileRejected as fault:
            file_report.error = {"code": fault.code, "message": fault.message}
            return
        except OSError as error:
            file_report.error = {"code": "unreadable", "message": f"cannot read: {error.strerror}"}
            return
        self._describe(file_report, parsed, plan)
        for chunk in _chunks(parsed.rows, self.context.batch_size):
            yield self._prepare_chunk(source.name, chunk, plan, file_report)
            self.observer.rows_processed(len(chunk))

    def _describe(self, file_report: FileReport, parsed: ParsedFile, plan: ColumnPlan) -> None:
        file_report.detected = parsed.format.to_dict()
        file_report.columns = plan.detected()
        file_report.ignored_columns = list(plan.ignored)
        file_report.rows, file_report.blank_rows = len(parsed.rows), parsed.blank_rows
        self.report.rows_read += len(parsed.rows)

    def _prepare_chunk(
        self, file: str, chunk: Sequence[RawRow], plan: ColumnPlan, file_report: FileReport
    ) -> list[Prepared]:
        clean: list[tuple[CleanRow, RawRow]] = []
        for raw in chunk:
            try:
                clean.append((self._clean(raw, plan, file), raw))
            except RowInvalid as invalid:
                self._reject(file, raw, plan, invalid, file_report)
        placements = self.places.place_rows([row for row, _ in clean])
        prepared = []
        for (row, raw), placement in zip(clean, placements, strict=True):
            self._notices(row)
            if isinstance(placement, RowInvalid):
                self._reject(file, raw, plan, placement, file_report)
            elif (ready := self._keyed(row, placement)) is not None:
                prepared.append(ready)
        return prepared

    def _cells(self, raw: RawRow, plan: ColumnPlan) -> dict[str, str]:
        """A row's cells by field name (ignored columns by header), for the rejected CSV."""
        cells = {name: raw.cells[i] for i, name in plan.positions if i < len(raw.cells)}
        for index, header in enumerate(plan.headers):
            if header in plan.ignored and index < len(raw.cells):
                cells.setdefault(header, raw.cells[index])
        if self.options.mapping.source and not cells.get("source"):
            cells["source"] = self.options.mapping.source
        return cells

    def _clean(self, raw: RawRow, plan: ColumnPlan, file: str) -> CleanRow:
        if raw.problem:
            raise RowInvalid(raw.problem, code="malformed_quoting")
        extra = [cell for cell in raw.cells[len(plan.headers):] if cell.strip()]
        if extra:
            raise RowInvalid(f"the row has {len(raw.cells)} fields, the header {len(plan.headers)}"
                             " (a delimiter inside a value needs quotes)", code="too_many_fields")
        values = cell_values(raw.cells, plan)
        if self.options.mapping.source:
            values.setdefault("source", self.options.mapping.source)
        return clean_row(values, self.matcher, file=file, line=raw.line)

    def _reject(
        self, file: str, raw: RawRow, plan: ColumnPlan, invalid: RowInvalid,
        file_report: FileReport,
    ) -> None:
        cells = self._cells(raw, plan)
        self.report.rejections.append(
            Rejection(file, raw.line, invalid.reason, invalid.field, invalid.code, cells))
        file_report.rejected += 1

    def _notices(self, row: CleanRow) -> None:
        for code, message in row.warnings:
            self.report.warnings.append(Notice(row.file, row.line, code, message))

    def _keyed(self, row: CleanRow, placement: Placement) -> Prepared | None:
        """The row's stored form; None (with a warning) when its key was seen earlier."""
        values = organisation_values(row.values, row.categories, placement)
        key = key_for(row.values, placement.citycode)
        first = self.first_seen.get(key)
        if first is not None:
            self.report.outcomes["duplicate_in_run"] += 1
            self.report.warnings.append(Notice(row.file, row.line, "duplicate_in_run", (
                f"same key as {first[0]} line {first[1]} ({key}): that first row is kept, "
                "this one is skipped")))
            return None
        self.first_seen[key] = (row.file, row.line)
        self.report.precisions[placement.precision or "unknown"] += 1
        return Prepared(row.file, row.line, stored_record(key, values, row.categories))

    # --------------------------------------------------------------- writing

    def run(self, files: Sequence[SourceFile]) -> ImportReport:
        """Go through every file in this importer's mode and return the report."""
        self.observer.rows_expected(estimate_rows(files))
        mode = self.options.mode
        if mode is ImportMode.DRY_RUN:
            for batch in self.prepared_batches(files):
                self._classify(batch)
            self._dry_run_duplicates()
            return self.report
        batches: Iterable[list[Prepared]] = self.prepared_batches(files)
        if mode is ImportMode.STRICT:
            batches = list(batches)
            if not self.report.clean:
                self.report.message = "strict mode: rows or files were rejected, nothing written"
                return self.report
        for batch in batches:
            self._write(batch)
        self._check_duplicates()
        return self.report

    def _count(self, outcomes: Sequence[UpsertOutcome]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in outcomes:
            self.report.outcomes[outcome.value] += 1
            counts[outcome.value] = counts.get(outcome.value, 0) + 1
        return counts

    def _write(self, batch: list[Prepared]) -> None:
        if not batch:
            return
        with session_scope(self.engine) as session:
            written = write_batch(session=session, records=[p.record for p in batch])
            duplicates.mark_for_check(session=session, organisation_ids=written.changed_ids)
            if self.run_id:
                record_batch(session=session, run_id=self.run_id, rows=len(batch))
        self.report.batches_committed += 1
        self.report.written = True
        receipt = BatchReceipt(self.report.batches_committed, len(batch),
                               (batch[0].file, batch[0].line), (batch[-1].file, batch[-1].line),
                               self._count(written.outcomes))
        self.observer.batch_committed(receipt)

    def _classify(self, batch: list[Prepared]) -> None:
        with Session(self.engine) as session:
            outcomes = classify_batch(session=session, records=[p.record for p in batch])
        self._count(outcomes)
        for prepared, outcome in zip(batch, outcomes, strict=True):
            values = prepared.record.values
            self.dry_entries[prepared.record.key] = duplicates.Entry(
                prepared.record.key, values["name"], values["citycode"], values["lat"],
                values["lon"])
            if outcome in (UpsertOutcome.INSERTED, UpsertOutcome.UPDATED):
                self.dry_changed.append(prepared.record.key)

    def _dry_run_duplicates(self) -> None:
        with Session(self.engine) as session:
            stored = {entry.key: entry for entry in duplicates.stored_entries(session=session)
                      .values()}
        index = duplicates.DuplicateIndex({**stored, **self.dry_entries}.values())
        self._report_pairs(index.pairs_for(self.dry_changed), index.entries)

    def _check_duplicates(self) -> None:
        with session_scope(self.engine) as session:
            pairs, entries = duplicates.check_pending(session=session)
        self._report_pairs(pairs, entries)

    def _report_pairs(
        self, pairs: Sequence[duplicates.Pair], entries: dict[str, duplicates.Entry]
    ) -> None:
        self.report.duplicates = [
            {"first": pair.first, "first_name": entries[pair.first].name, "second": pair.second,
             "second_name": entries[pair.second].name, "rule": pair.rule,
             "distance_m": pair.distance_m}
            for pair in pairs
        ]


def open_run(
    engine: Engine, *, origin: str, mode: ImportMode, files: Sequence[str], rows_expected: int = 0
) -> HeldImportLock:
    """Take the import lock and log a new run (raise ImportInProgress when busy)."""
    held = acquire_import_lock(engine, new_run_id())
    try:
        if held.freed_run:
            finish_run(engine, held.freed_run, status=INTERRUPTED, report=None,
                       rejected_csv=None, message="the process running it stopped")
        start_run(engine, run_id=held.run_id, origin=origin, mode=mode.value, files=files,
                  rows_expected=rows_expected)
    except BaseException:
        held.release()
        raise
    return held


def _logged_run(
    importer: Importer, files: Sequence[SourceFile], held: HeldImportLock
) -> ImportReport:
    """Run while holding the lock; store the outcome in the run log either way."""
    engine = importer.engine
    with held:
        try:
            report = importer.run(files)
        except BaseException as error:
            finish_run(engine, held.run_id, status=FAILED, report=importer.report.to_dict(),
                       rejected_csv=None, message=f"{type(error).__name__}: {error}")
            raise
        rejected = rejected_rows_csv(report) if report.rejections else None
        finish_run(engine, held.run_id, status=DONE, report=report.to_dict(), rejected_csv=rejected,
                   message=report.message)
    return report


def import_paths(
    paths: Iterable[Path], *, engine: Engine, context: ImportContext,
    progress: ImportObserver | None = None, options: ImportOptions | None = None,
    lock: HeldImportLock | None = None,
) -> ImportReport:
    """Import every CSV file of `paths` and report what happened to each row.

    Writing runs take the import lock (or use `lock`, already taken by `open_run`); a
    dry run takes none and writes nothing, unless it is to be logged (`log_dry_run`).
    """
    options = options or ImportOptions()
    files = source_files(paths)
    observer = progress or SilentObserver()
    needs_log = lock is not None or options.mode is not ImportMode.DRY_RUN or options.log_dry_run
    if not needs_log:
        return Importer(engine, context, options, observer, None).run(files)
    held = lock or open_run(engine, origin=options.origin, mode=options.mode,
                            files=[f.name for f in files], rows_expected=estimate_rows(files))
    return _logged_run(Importer(engine, context, options, observer, held.run_id), files, held)
