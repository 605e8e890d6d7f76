"""What an import did, row by row, in a shape a maintainer can act on.

Every data row ends in exactly one outcome: inserted, updated, unchanged, suppressed
(deleted by a maintainer earlier), duplicate_in_run (same key as an earlier row of the
run: the first one wins), or rejected (with file, line, field and reason).
"""

from __future__ import annotations

import dataclasses
import io
from collections import Counter
from dataclasses import dataclass
from typing import Any

from app.safecsv import SafeCsvWriter

OUTCOMES = ("inserted", "updated", "unchanged", "suppressed", "duplicate_in_run")
REJECTION_COLUMNS = ("rejected_file", "rejected_line", "rejected_field", "rejected_reason")


@dataclass(frozen=True)
class Rejection:
    """A row that was not imported, and why; `cells` are its values by column."""

    file: str
    line: int
    reason: str
    field: str | None = None
    code: str = "invalid"
    cells: dict[str, str] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (without the row's cells, which may hold private data)."""
        return {"file": self.file, "line": self.line, "field": self.field, "code": self.code,
                "reason": self.reason}


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


@dataclass
class ImportReport:
    """Counts per outcome plus every rejection and warning of one run."""

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
        return not self.rejections and not self.files_rejected

    def totals(self) -> dict[str, int]:
        """Rows per outcome; they add up to rows_read."""
        counts = {outcome: self.count(outcome) for outcome in OUTCOMES}
        return {"rows_read": self.rows_read, **counts, "rejected": len(self.rejections)}

    def rejection_reasons(self) -> dict[str, int]:
        """How many rows were rejected for each reason code, most frequent first."""
        return dict(Counter(r.code for r in self.rejections).most_common())

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
            "warnings": [notice.to_dict() for notice in self.warnings],
            "duplicates_queued": self.duplicates,
        }


def _rejected_columns(rejections: list[Rejection]) -> list[str]:
    """Diagnostic columns, then every data column in order of first appearance."""
    columns: dict[str, None] = {}
    for rejection in rejections:
        columns.update(dict.fromkeys(rejection.cells))
    return [*REJECTION_COLUMNS, *columns]


def rejected_rows_csv(report: ImportReport) -> str:
    """The rejected rows as CSV (UTF-8 with BOM, `;`), ready to fix and import again.

    Data columns carry the field names the importer reads (name, postcode, …); the
    `rejected_*` columns say why and are ignored when the file is imported again.
    Formula cells are neutralised (app/safecsv.py).
    """
    buffer = io.StringIO(newline="")
    buffer.write("\ufeff")
    columns = _rejected_columns(report.rejections)
    writer = SafeCsvWriter(buffer, delimiter=";")
    writer.writerow(columns)
    for rejection in report.rejections:
        cells = {"rejected_file": rejection.file, "rejected_line": rejection.line,
                 "rejected_field": rejection.field or "", "rejected_reason": rejection.reason,
                 **rejection.cells}
        writer.writerow(cells.get(column, "") for column in columns)
    return buffer.getvalue()
