"""Run an import: read -> clean -> place -> key -> write in bounded batches -> report.

Modes: `default` writes the valid rows; `strict` writes nothing if any row or file is
rejected; `dry_run` computes the full report against the database and writes nothing.
Each batch is one transaction, counted in the run log inside that same transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Connection, Engine
from sqlmodel import Session

from app import duplicates
from app.db import BULK_WRITE_PRAGMAS, checkpoint_wal, session_scope, sqlite_pragmas
from app.geocoder import commune_level_only
from app.importer.columns import ColumnMapping, ColumnPlan, plan_columns
from app.importer.faults import FileRejected
from app.importer.heap import release_free_heap
from app.importer.lock import HeldImportLock, acquire_import_lock
from app.importer.place import PlaceIndexes, ReverseLookup
from app.importer.prepare import Chunk, ChunkResult, Prepared, Preparer, prepare_in_order
from app.importer.progress import BatchReceipt, ImportObserver, SilentObserver
from app.importer.reader import CsvFile, RawRow, open_csv_file
from app.importer.report import FileReport, ImportReport, Notice, rejected_rows_csv
from app.importer.runs import (
    DONE,
    FAILED,
    INTERRUPTED,
    finish_run,
    new_run_id,
    record_batch,
    start_run,
)
from app.importer.seen import FirstRows
from app.importer.sirene_rows import SireneRows
from app.importer.sources import SourceFile, estimate_rows, source_files
from app.importer.unites_legales import EssUnitesLegales
from app.storage import (
    UpsertOutcome,
    classify_batch,
    write_batch,
)
from app.taxonomy import Taxonomy
from geocode.base import Geocoder
from geocode.gazetteer import Gazetteer

# Below this many rows, starting a worker process costs more than it saves.
WORKER_MIN_ROWS = 5000
# Rows prepared at a time (the worker's unit); a transaction writes one or several chunks
# of one file, so its fixed costs (commit, grid cells shared by its rows) are paid less
# often while the rows in flight between the processes stay few.
CHUNK_ROWS = 5000


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
    batch_size: int = 20_000


@dataclass(frozen=True)
class ImportOptions:
    """Mode, column mapping, who asked (for the run log); strict sectors reject unknown ones."""

    mode: ImportMode = ImportMode.DEFAULT
    mapping: ColumnMapping = field(default_factory=ColumnMapping)
    origin: str = "cli"
    log_dry_run: bool = False
    prepare_in_worker: bool = False
    strict_sectors: bool = False
    registry: str | None = None
    unites_legales: Path | None = None


class ReadFile(NamedTuple):
    """A file checked and planned, with what completes its rows (SIRENE) if anything."""

    checked: CsvFile
    plan: ColumnPlan
    completion: SireneRows | None


class Batch(NamedTuple):
    """Rows of one file to write in one transaction."""

    file: str
    rows: list[Prepared]


def _duplicate_in_run(file: str, line: int, key: str, first: tuple[str, int]) -> Notice:
    """The same-key rule: the first row of the run wins, later ones are skipped."""
    return Notice(file, line, "duplicate_in_run", (
        f"same key as {first[0]} line {first[1]} ({key}): that first row is kept, "
        "this one is skipped"))


class Importer:
    """One run over a list of files: prepares rows, writes or classifies them, reports."""

    _connection: Connection  # the run's one database connection, while it runs

    def __init__(
        self, engine: Engine, context: ImportContext, options: ImportOptions,
        observer: ImportObserver, run_id: str | None,
    ) -> None:
        self.engine, self.context, self.options = engine, context, options
        self.observer, self.run_id = observer, run_id
        self.report = ImportReport(mode=options.mode.value, run_id=run_id)
        indexes = PlaceIndexes(context.geocoder, context.gazetteer, context.reverse)
        self.preparer = Preparer(context.taxonomy, indexes, options.mapping,
                                 strict_sectors=options.strict_sectors)
        self.first_rows = FirstRows()
        self.dry_run_check = duplicates.DryRunCheck()
        self.ess: EssUnitesLegales | None = None

    # --------------------------------------------------------------- reading

    def _worth_a_worker(self, expected_rows: int) -> bool:
        """Prepare in a second process: when asked, for a large run, with offline geocoding.

        Only an offline geocoder is safe to fork (no open cache file nor HTTP connection).
        """
        return (self.options.prepare_in_worker and expected_rows >= WORKER_MIN_ROWS
                and commune_level_only(self.context.geocoder))

    def prepared_batches(
        self, files: Sequence[SourceFile], expected_rows: int = 0
    ) -> Iterator[Batch]:
        """Batches of rows ready to write, file after file (rejections go to the report)."""
        file_reports: dict[str, FileReport] = {}
        chunks = self._chunks(files, file_reports)
        in_worker = self._worth_a_worker(expected_rows)
        # A transaction's worth of chunks prepared ahead: the worker keeps busy while the
        # writer writes one.
        ahead = -(-self.context.batch_size // CHUNK_ROWS)
        pending = Batch("", [])
        for result in prepare_in_order(self.preparer, chunks, in_worker=in_worker, ahead=ahead):
            if result.starts_batch:  # so does the first chunk of each file
                if pending.rows:
                    yield pending
                pending = Batch(result.file, [])
            pending.rows.extend(self._absorb(result, file_reports[result.file]))
            self.observer.rows_processed(result.size)
        if pending.rows:
            yield pending

    def _chunks(
        self, files: Sequence[SourceFile], reports: dict[str, FileReport]
    ) -> Iterator[Chunk]:
        """The chunks of every readable file; faulty files go to the report."""
        for source in files:
            reports[source.name] = file_report = FileReport(source.name)
            self.report.files.append(file_report)
            read = self._read(source, file_report)
            if read is None:
                continue
            rows, batch_size = read.checked.rows(), self.context.batch_size
            chunk_rows, taken = min(batch_size, CHUNK_ROWS), 0
            while chunk := list(islice(rows, min(chunk_rows, batch_size - taken % batch_size))):
                starts_batch = taken % batch_size == 0
                taken += len(chunk)
                if read.completion is not None:
                    chunk = self._complete(read.completion, chunk)
                yield Chunk(source.name, chunk, read.plan, starts_batch)

    def _complete(self, completion: SireneRows, chunk: list[RawRow]) -> list[RawRow]:
        """The rows of a SIRENE chunk kept and completed; the others counted as not ESS."""
        adapted = completion.adapt(chunk)
        self.report.outcomes["not_ess"] += adapted.not_ess
        self.report.add_warnings(adapted.notices)
        self.observer.rows_processed(adapted.not_ess)
        return adapted.rows

    def _read(self, source: SourceFile, file_report: FileReport) -> ReadFile | None:
        """Check a file and match its columns, or record why it cannot be imported."""
        completion = None
        try:
            parsed = open_csv_file(source.path)
            header = parsed.header
            if self.options.registry == "sirene":
                completion = SireneRows(source.name, header, self.ess)
                header = completion.header
            plan = plan_columns(header, self.options.mapping)
        except FileRejected as fault:
            file_report.error = {"code": fault.code, "message": fault.message}
            return None
        except OSError as error:
            file_report.error = {"code": "unreadable", "message": f"cannot read: {error.strerror}"}
            return None
        file_report.detected = parsed.format.to_dict()
        file_report.columns = plan.detected()
        file_report.ignored_columns = list(plan.ignored)
        file_report.rows, file_report.blank_rows = parsed.row_count, parsed.blank_rows
        self.report.rows_read += parsed.row_count
        return ReadFile(parsed, plan, completion)

    def _absorb(self, result: ChunkResult, file_report: FileReport) -> list[Prepared]:
        """Take a prepared chunk into the report; keep the rows whose key is new in this run."""
        self.report.add_rejections(result.rejections)
        self.report.add_warnings(result.notices)
        self.report.unknown_sectors.update(result.unknown_sectors)
        file_report.rejected += len(result.rejections)
        prepared_rows = result.prepared
        firsts = self.first_rows.first_of(
            result.file, [(prepared.record.key, prepared.line) for prepared in prepared_rows])
        kept, skipped = [], []
        for prepared, first in zip(prepared_rows, firsts, strict=True):
            if first != (result.file, prepared.line):
                skipped.append(_duplicate_in_run(result.file, prepared.line,
                                                 prepared.record.key, first))
                continue
            self.report.precisions[prepared.precision or "unknown"] += 1
            kept.append(prepared)
        self.report.outcomes["duplicate_in_run"] += len(skipped)
        self.report.add_warnings(skipped)
        return kept

    # --------------------------------------------------------------- writing

    def run(self, files: Sequence[SourceFile], expected: int | None = None) -> ImportReport:
        """Go through every file in this importer's mode and return the report.

        `expected` is `estimate_rows(files)` when the caller has it already.
        """
        expected = estimate_rows(files) if expected is None else expected
        try:
            if self.options.unites_legales is not None:
                self.ess = EssUnitesLegales(self.options.unites_legales)
            with (self.engine.connect() as connection,
                  sqlite_pragmas(connection, BULK_WRITE_PRAGMAS)):
                self._connection = connection
                return self._run(files, expected)
        finally:
            self.first_rows.close()
            if self.ess is not None:
                self.ess.close()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """A session on the run's one connection, committed on success.

        Every batch goes through the same connection, so only one connection grows the
        large page cache of bulk writes (the pool would hand out several in turn).
        """
        with session_scope(self._connection) as session:
            yield session

    def _run(self, files: Sequence[SourceFile], expected: int) -> ImportReport:
        mode = self.options.mode
        # Strict mode reads the files twice: once to check every row, once to write.
        self.observer.rows_expected(2 * expected if mode is ImportMode.STRICT else expected)
        if mode is not ImportMode.DRY_RUN:
            with self._transaction() as session:
                duplicates.file_checked_before(session)
        if mode is ImportMode.DRY_RUN:
            for batch in self.prepared_batches(files, expected):
                self._classify(batch)
            self._dry_run_duplicates()
            return self.report
        if mode is ImportMode.STRICT and not self._all_rows_valid(files, expected):
            self.report.message = "strict mode: rows or files were rejected, nothing written"
            return self.report
        for batch in self.prepared_batches(files, expected):
            self._write(batch)
        self._check_unchecked()
        return self.report

    def _all_rows_valid(self, files: Sequence[SourceFile], expected: int) -> bool:
        """Prepare every row without writing; on success, start afresh for the writing pass."""
        for _ in self.prepared_batches(files, expected):
            pass
        if not self.report.clean:
            return False
        self.report.spill.remove()
        self.report = ImportReport(mode=self.report.mode, run_id=self.run_id)
        self.first_rows.close()
        self.first_rows = FirstRows()
        return True

    def _count(self, outcomes: Sequence[UpsertOutcome]) -> dict[str, int]:
        """Add a batch's outcomes to the report; return them counted."""
        counts = {str(outcome): count for outcome, count in Counter(outcomes).items()}
        self.report.outcomes.update(counts)
        return counts

    def _write(self, batch: Batch) -> None:
        rows = batch.rows
        if not rows:
            return
        checkpoint_wal(self._connection)  # so that this batch starts the WAL over
        with self._transaction() as session:
            written = write_batch(session=session, records=[p.record for p in rows])
            stored = [(row_id, prepared.entry) for prepared in rows
                      if (row_id := written.written.get(prepared.record.key)) is not None]
            pairs = duplicates.check_written(session, stored)
            if self.run_id:
                record_batch(session=session, run_id=self.run_id, rows=len(rows))
        self.report.batches_committed += 1
        self.report.written = True
        release_free_heap()  # what the batch freed, back to the system (app/importer/heap.py)
        self._report_pairs(pairs)
        receipt = BatchReceipt(self.report.batches_committed, len(rows),
                               (batch.file, rows[0].line), (batch.file, rows[-1].line),
                               self._count(written.outcomes))
        self.observer.batch_committed(receipt)

    def _classify(self, batch: Batch) -> None:
        with self._transaction() as session:
            outcomes = classify_batch(session=session, records=[p.record for p in batch.rows])
            changed = (UpsertOutcome.INSERTED, UpsertOutcome.UPDATED)
            self.dry_run_check.add_batch(session, [
                prepared.entry for prepared, outcome in zip(batch.rows, outcomes, strict=True)
                if outcome in changed])
        release_free_heap()
        self._count(outcomes)

    def _dry_run_duplicates(self) -> None:
        self._report_pairs(self.dry_run_check.pairs)

    def _check_unchecked(self) -> None:
        """Check what was written without a check (by the API, or before an upgrade)."""
        with self._transaction() as session:
            pairs = duplicates.check_unchecked(session)
        self._report_pairs(pairs)

    def _report_pairs(self, pairs: Sequence[duplicates.Pair]) -> None:
        for pair in sorted(pairs, key=lambda pair: (pair.first, pair.second)):
            self.report.add_duplicate(pair.to_dict())


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
    importer: Importer, files: Sequence[SourceFile], expected: int, held: HeldImportLock
) -> ImportReport:
    """Run while holding the lock; store the outcome in the run log either way."""
    engine = importer.engine
    with held:
        try:
            report = importer.run(files, expected)
        except BaseException as error:
            finish_run(engine, held.run_id, status=FAILED, report=importer.report.to_dict(),
                       rejected_csv=None, message=f"{type(error).__name__}: {error}")
            raise
        rejected = rejected_rows_csv(report) if report.rejected else None
        finish_run(engine, held.run_id, status=DONE, report=report.to_dict(), rejected_csv=rejected,
                   message=report.message)
    with engine.connect() as connection:  # after the run's last writes: the log, the lock
        checkpoint_wal(connection, truncate=True)
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
    expected = estimate_rows(files)
    observer = progress or SilentObserver()
    needs_log = lock is not None or options.mode is not ImportMode.DRY_RUN or options.log_dry_run
    if not needs_log:
        return Importer(engine, context, options, observer, None).run(files, expected)
    held = lock or open_run(engine, origin=options.origin, mode=options.mode,
                            files=[f.name for f in files], rows_expected=expected)
    importer = Importer(engine, context, options, observer, held.run_id)
    return _logged_run(importer, files, expected, held)
