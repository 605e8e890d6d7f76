"""How an import tells the outside about its progress: rows read, batches committed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
