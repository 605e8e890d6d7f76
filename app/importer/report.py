"""What an import did, row by row, in a shape a maintainer can act on.

Every data row ends in exactly one outcome: inserted, updated, unchanged, suppressed
(deleted by a maintainer earlier), duplicate_in_run (same key as an earlier row of the
run: the first one wins), not_ess (a SIRENE establishment whose unité légale is not ESS,
with the unités légales file given), or rejected (with file, line, field and reason).

A report's memory does not grow with the file: it keeps exact counts, only the first
`LISTED` rejections, warnings and duplicate pairs, and spills every rejected row to a
temporary file from which the rejected rows CSV is written.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from app.safecsv import SafeCsvWriter
from app.taxonomy import UNCLASSIFIED

OUTCOMES = ("inserted", "updated", "unchanged", "suppressed", "duplicate_in_run", "not_ess")
REJECTION_COLUMNS = ("rejected_file", "rejected_line", "rejected_field", "rejected_reason")
# How many rejections, warnings and duplicate pairs a report lists (it counts them all).
LISTED = 1000


@dataclass(frozen=True)
class Rejection:
    """A row that was not imported, and why; `cells` are its values by column."""

    file: str
    line: int
    reason: str
    field: str | None = None
    code: str = "invalid"
    cells: dict[str, str] = dataclasses.field(default_factory=dict)
    # Every problem of the row as (field, code, reason); the first one is the row's own.
    problems: tuple[tuple[str | None, str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (without the row's cells, which may hold private data)."""
        problems = self.problems or ((self.field, self.code, self.reason),)
        return {"file": self.file, "line": self.line, "field": self.field, "code": self.code,
                "reason": self.reason,
                "problems": [{"field": field, "code": code, "reason": reason}
                             for field, code, reason in problems]}


@dataclass(frozen=True)
class Notice:
    """Something a maintainer should know about a row that was imported (or skipped)."""

    file: str
    line: int
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"file": self.file, "line": self.line, "code": self.code, "message": self.message}


@dataclass
class FileReport:
    """One file: what was detected, and whether it was read at all."""

    path: str
    detected: dict[str, str] = dataclasses.field(default_factory=dict)
    columns: dict[str, str] = dataclasses.field(default_factory=dict)
    ignored_columns: list[str] = dataclasses.field(default_factory=list)
    rows: int = 0
    blank_rows: int = 0
    rejected: int = 0
    error: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "path": self.path, "status": "rejected" if self.error else "read",
            "error": self.error, "detected": self.detected, "columns": self.columns,
            "ignored_columns": self.ignored_columns, "rows": self.rows,
            "blank_rows": self.blank_rows, "rejected_rows": self.rejected,
        }


class RejectedRowsSpill:
    """Every rejected row of a run, as JSON lines in a temporary file removed with its owner."""

    def __init__(self) -> None:
        descriptor, name = tempfile.mkstemp(prefix="ess-rejected-", suffix=".jsonl")
        os.close(descriptor)
        self.path = Path(name)
        self._finalizer = weakref.finalize(self, self.path.unlink, missing_ok=True)

    def append(self, rejections: Iterable[Rejection]) -> None:
        """Add rejected rows at the end of the file."""
        with self.path.open("a", encoding="utf-8") as handle:
            handle.writelines(json.dumps([r.file, r.line, r.field, r.reason, r.cells],
                                         ensure_ascii=False) + "\n" for r in rejections)

    def rows(self) -> Iterator[dict[str, Any]]:
        """The rejected rows in the order they were added, as rows of the rejected CSV."""
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                file, number, field, reason, cells = json.loads(line)
                yield {"rejected_file": file, "rejected_line": number,
                       "rejected_field": field or "", "rejected_reason": reason, **cells}

    def remove(self) -> None:
        """Delete the file now rather than when the report is collected."""
        self._finalizer()


@dataclass
class ImportReport:
    """Counts per outcome; the first rejections, warnings and pairs; every rejected row spilled.

    `rejections`, `warnings` and `duplicates` list at most LISTED items each, in row
    order; `rejected`, `warnings_total` and `duplicates_total` count them all.
    """

    mode: str = "default"
    run_id: str | None = None
    files: list[FileReport] = dataclasses.field(default_factory=list)
    outcomes: Counter[str] = dataclasses.field(default_factory=Counter)
    precisions: Counter[str] = dataclasses.field(default_factory=Counter)
    rejections: list[Rejection] = dataclasses.field(default_factory=list)
    warnings: list[Notice] = dataclasses.field(default_factory=list)
    duplicates: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    rows_read: int = 0
    batches_committed: int = 0
    written: bool = False
    message: str | None = None
    rejected: int = 0
    reasons: Counter[str] = dataclasses.field(default_factory=Counter)
    warnings_total: int = 0
    warning_codes: Counter[str] = dataclasses.field(default_factory=Counter)
    duplicates_total: int = 0
    unknown_sectors: Counter[str] = dataclasses.field(default_factory=Counter)
    spill: RejectedRowsSpill = dataclasses.field(default_factory=RejectedRowsSpill,
                                                 compare=False, repr=False)

    def add_rejections(self, rejections: list[Rejection]) -> None:
        """Count rejected rows, list the first ones, spill them all."""
        if not rejections:
            return
        self.rejected += len(rejections)
        self.reasons.update(r.code for r in rejections)
        self.rejections.extend(rejections[: LISTED - len(self.rejections)])
        self.spill.append(rejections)

    def add_warnings(self, notices: list[Notice]) -> None:
        """Count warnings and list the first ones."""
        self.warnings_total += len(notices)
        self.warning_codes.update(n.code for n in notices)
        self.warnings.extend(notices[: LISTED - len(self.warnings)])

    def add_duplicate(self, pair: dict[str, Any]) -> None:
        """Count a queued pair and list it if the list is not full."""
        self.duplicates_total += 1
        if len(self.duplicates) < LISTED:
            self.duplicates.append(pair)

    def count(self, outcome: str) -> int:
        """How many rows had this outcome."""
        return self.outcomes[outcome]

    @property
    def changed(self) -> int:
        """Rows that changed (or, in a dry run, would change) the database."""
        return self.count("inserted") + self.count("updated")

    @property
    def files_rejected(self) -> list[FileReport]:
        """The files that were not read at all."""
        return [report for report in self.files if report.error]

    @property
    def clean(self) -> bool:
        """True when no file and no row was rejected."""
        return not self.rejected and not self.files_rejected

    def totals(self) -> dict[str, int]:
        """Rows per outcome; they add up to rows_read."""
        counts = {outcome: self.count(outcome) for outcome in OUTCOMES}
        return {"rows_read": self.rows_read, **counts, "rejected": self.rejected}

    def rejection_reasons(self) -> dict[str, int]:
        """How many rows were rejected for each reason code, most frequent first."""
        return dict(self.reasons.most_common())

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the report (no private field of the rows)."""
        return {
            "run_id": self.run_id, "mode": self.mode, "written": self.written,
            "message": self.message, **self.totals(), "changed": self.changed,
            "files_rejected": len(self.files_rejected),
            "batches_committed": self.batches_committed,
            "precisions": dict(self.precisions),
            "rejection_reasons": self.rejection_reasons(),
            "files": [report.to_dict() for report in self.files],
            "rejections": [rejection.to_dict() for rejection in self.rejections],
            "rejections_listed": len(self.rejections),
            "warnings": [notice.to_dict() for notice in self.warnings],
            "warnings_listed": len(self.warnings), "warnings_total": self.warnings_total,
            "warning_codes": dict(self.warning_codes.most_common()),
            "duplicates_queued": self.duplicates,
            "duplicates_listed": len(self.duplicates), "duplicates_total": self.duplicates_total,
            "unknown_sectors": [{"label": label, "rows": rows}
                                for label, rows in self.unknown_sectors.most_common()],
            "sector_mapping_snippet": sector_mapping_snippet(self.unknown_sectors),
        }


def sector_mapping_snippet(unknown: Counter[str]) -> str:
    """A mapping-file section that files every unknown sector label, ready to paste and edit."""
    if not unknown:
        return ""
    lines = [f"  {json.dumps(label, ensure_ascii=False)}: {UNCLASSIFIED}  # {rows} rows"
             for label, rows in unknown.most_common()]
    return "\n".join(["# replace non-classe by a sector slug of the taxonomy's categories.yaml",
                      "categories:", *lines]) + "\n"


def _rejected_columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Diagnostic columns, then every data column in order of first appearance."""
    columns: dict[str, None] = dict.fromkeys(REJECTION_COLUMNS)
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


def write_rejected_rows(report: ImportReport, handle: IO[str]) -> None:
    """Write the rejected rows as CSV (UTF-8 with BOM, `;`), ready to fix and import again.

    Data columns carry the field names the importer reads (name, postcode, …); the
    `rejected_*` columns say why and are ignored when the file is imported again. Formula
    cells are neutralised (app/safecsv.py). The spill is read twice (columns, then rows),
    so memory stays flat.
    """
    handle.write("\ufeff")
    columns = _rejected_columns(report.spill.rows())
    writer = SafeCsvWriter(handle, delimiter=";")
    writer.writerow(columns)
    writer.writerows([row.get(column, "") for column in columns] for row in report.spill.rows())


def rejected_rows_csv(report: ImportReport) -> str:
    """The rejected rows CSV as one string (for the run log)."""
    buffer = io.StringIO(newline="")
    write_rejected_rows(report, buffer)
    return buffer.getvalue()
