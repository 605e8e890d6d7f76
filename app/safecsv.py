"""CSV meant for spreadsheets, safe to open: every CSV file the project writes goes here.

A cell starting with `= + - @`, a tab or a carriage return is a formula to Excel and
LibreOffice (OWASP "CSV injection"), so it gets a leading `'`. Numbers are left alone
("-1.554" is a longitude, not a formula, and no spreadsheet runs it). A cell holding the
delimiter, `;` (the separator of French spreadsheets, whatever the file uses), `"` or a
line break is quoted, its quotes doubled. The importer reads such a file back: it drops
the `'` in front of a formula character (`restore_cell`), so a fixed rejected.csv
re-imports the values as they were written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import IO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")
_ALWAYS_QUOTED = ('"', ";", "\r", "\n")
LINE_END = "\r\n"


def neutralise_formula(cell: str) -> str:
    """The cell, with a leading `'` when a spreadsheet would read it as a formula."""
    if cell.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def restore_cell(cell: str) -> str:
    """Undo `neutralise_formula` on a cell read back from a file this project wrote."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def _quoted(cell: str, delimiter: str) -> str:
    """The cell, quoted when it holds the delimiter, `;`, `"` or a line break."""
    if delimiter in cell or any(char in cell for char in _ALWAYS_QUOTED):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def csv_line(cells: Iterable[object], delimiter: str = ";") -> str:
    """One CSV record (with its CRLF) of neutralised, quoted cells; None is an empty cell."""
    texts = ("" if cell is None else str(cell) for cell in cells)
    return delimiter.join(_quoted(neutralise_formula(text), delimiter) for text in texts) + LINE_END


class SafeCsvWriter:
    """A csv.writer look-alike writing `csv_line` records to a text stream."""

    def __init__(self, stream: IO[str], delimiter: str = ";") -> None:
        if len(delimiter) != 1 or delimiter in '"\r\n':
            raise ValueError(f"a CSV delimiter is one character other than a quote or a "
                             f"line break, got {delimiter!r}")
        self.stream = stream
        self.delimiter = delimiter

    def writerow(self, cells: Iterable[object]) -> None:
        """Write one record."""
        self.stream.write(csv_line(cells, self.delimiter))

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        """Write every record."""
        for cells in rows:
            self.writerow(cells)
