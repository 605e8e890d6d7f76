"""Read a CSV file into rows that remember their line: encoding, delimiter and line ends detected.

A file is streamed, never held whole: `open_csv_file` reads it once to detect its
encoding and once to check its records (so a fault found at its end, such as an
unbalanced quote, still aborts the file before anything from it is written), then
`CsvFile.rows` reads it again, row by row.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import NamedTuple, TextIO

from app.importer.decoding import TextEncoding, detect_encoding
from app.importer.faults import FileRejected

DELIMITERS = (";", ",", "\t")
DELIMITER_NAMES = {";": "semicolon", ",": "comma", "\t": "tab"}
_SAMPLE_CHARS = 65536
_SAMPLE_ROWS = 50
_EXCEL_SEPARATOR_HINT = re.compile(r"^sep=(.)\r?\n", re.IGNORECASE)
_MAX_FIELD_CHARS = 1_000_000
_QUOTED = re.compile(r'"[^"]*"')

csv.field_size_limit(_MAX_FIELD_CHARS)


class RawRow(NamedTuple):
    """One record of a file: where it starts, its cells, or what is wrong with its quoting."""

    line: int
    cells: list[str]
    problem: str | None = None


def cell_at(cells: list[str], index: int | None) -> str:
    """The trimmed cell at `index`, or "" when there is no such column or cell."""
    return cells[index].strip() if index is not None and index < len(cells) else ""


@dataclass(frozen=True)
class FileFormat:
    """What was detected about a file, as the report states it."""

    encoding: str
    delimiter: str
    line_endings: str

    def to_dict(self) -> dict[str, str]:
        """The JSON form."""
        return {
            "encoding": self.encoding,
            "delimiter": DELIMITER_NAMES[self.delimiter],
            "line_endings": self.line_endings,
        }


@dataclass(frozen=True)
class ParsedFile:
    """A file's detected format, header and data rows."""

    format: FileFormat
    header: tuple[str, ...]
    rows: list[RawRow]
    blank_rows: int


def _line_endings(text: str) -> str:
    """CRLF, LF, CR or mixed: how records end (newlines inside quoted values do not count)."""
    text = _QUOTED.sub("", text)
    crlf = text.count("\r\n")
    lone_lf = text.count("\n") - crlf
    lone_cr = text.count("\r") - crlf
    kinds = [name for name, count in (("CRLF", crlf), ("LF", lone_lf), ("CR", lone_cr)) if count]
    return kinds[0] if len(kinds) == 1 else ("mixed" if kinds else "none")


def _delimiter_score(sample: str, delimiter: str) -> tuple[bool, int, int]:
    """How well a delimiter explains the sample: several columns, consistent widths."""
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    widths: list[int] = []
    # The sample may end inside a quoted field: the rows before that still count.
    with contextlib.suppress(csv.Error):
        widths.extend(len(cells) for cells in islice(reader, _SAMPLE_ROWS) if cells)
    if not widths:
        return False, 0, 0
    consistent = sum(1 for width in widths if width == widths[0])
    return widths[0] > 1, consistent, widths[0]


def detect_delimiter(text: str) -> str:
    """The delimiter among `;`, `,` and tab that best splits the first lines."""
    sample = text[:_SAMPLE_CHARS]
    return max(DELIMITERS, key=lambda delimiter: _delimiter_score(sample, delimiter))


def _records(lines: Iterable[str], delimiter: str) -> Iterator[RawRow]:
    """Every record with the line it starts on; a malformed one carries its problem."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    end_of_previous = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield _malformed(error, end_of_previous + 1, reader.line_num)
        else:
            yield RawRow(end_of_previous + 1, cells)
        end_of_previous = reader.line_num


def _malformed(error: csv.Error, start: int, end: int) -> RawRow:
    """A record the csv module refused; at the end of the file it is a file fault."""
    message = str(error)
    if "end of data" in message or "field larger than" in message:
        raise FileRejected(
            f"unbalanced quote: the quoted field that starts on line {start} is never closed "
            "(check the quotes of that line)",
            code="unbalanced_quote",
        )
    return RawRow(start, [], f"malformed quoting on line {start}: {message} "
                  '(a quote inside a quoted field must be doubled: "")')


def _split_header(records: Iterator[RawRow]) -> tuple[tuple[str, ...], int]:
    """The first non-blank record, stripped, and the number of blank lines before it."""
    for blank, record in enumerate(records):
        if record.problem:
            raise FileRejected(f"no header line: {record.problem}", code="no_header")
        if any(cell.strip() for cell in record.cells):
            return tuple(cell.strip() for cell in record.cells), blank
    raise FileRejected("the file has no header line and no data", code="empty_file")


@dataclass(frozen=True)
class _Layout:
    """What the start of a file says: delimiter, line ends, and an Excel `sep=` line."""

    delimiter: str
    line_endings: str
    hint: bool


def _layout(sample: str) -> _Layout:
    """Detect the delimiter and line ends from the first characters of a file."""
    hint = _EXCEL_SEPARATOR_HINT.match(sample)
    delimiter = hint.group(1) if hint and hint.group(1) in DELIMITERS else None
    body = sample[hint.end():] if hint else sample
    # A sample cut between CR and LF must not count a lone CR.
    return _Layout(delimiter or detect_delimiter(body), _line_endings(sample.rstrip("\r")),
                   hint is not None)


def _data_rows(lines: Iterable[str], layout: _Layout, counts: list[int]) -> Iterator[RawRow]:
    """The data rows after the header; counts[0] collects the blank lines seen."""
    records = _records(lines, layout.delimiter)
    _, counts[0] = _split_header(records)
    for record in records:
        if record.problem or "".join(record.cells).strip():
            yield _shift(record, 1) if layout.hint else record
        else:
            counts[0] += 1


def _header(lines: Iterable[str], layout: _Layout) -> tuple[str, ...]:
    return _split_header(_records(lines, layout.delimiter))[0]


def parse_csv_text(text: str, encoding: str) -> ParsedFile:
    """Detect the delimiter and line ends of decoded text and split it into rows."""
    layout = _layout(text[:_SAMPLE_CHARS])
    lines = io.StringIO(text, newline="")
    if layout.hint:
        lines.readline()
    header = _header(lines, layout)
    lines.seek(0)
    if layout.hint:
        lines.readline()
    blank = [0]
    rows = list(_data_rows(lines, layout, blank))
    file_format = FileFormat(encoding, layout.delimiter, layout.line_endings)
    return ParsedFile(file_format, header, rows, blank[0])


def _shift(record: RawRow, lines: int) -> RawRow:
    """The same record, its line number moved past an Excel `sep=` line."""
    return RawRow(record.line + lines, record.cells, record.problem)


@dataclass(frozen=True)
class CsvFile:
    """A checked CSV file: its format, header and counts; `rows()` streams its data rows."""

    path: Path
    encoding: TextEncoding
    layout: _Layout
    header: tuple[str, ...]
    row_count: int
    blank_rows: int

    @property
    def format(self) -> FileFormat:
        """What was detected, as the report states it."""
        return FileFormat(self.encoding.label, self.layout.delimiter, self.layout.line_endings)

    def _lines(self) -> TextIO:
        """The file as text, positioned after an Excel `sep=` line."""
        handle = self.path.open(encoding=self.encoding.codec, newline="")
        if self.layout.hint:
            handle.readline()
        return handle

    def rows(self) -> Iterator[RawRow]:
        """The data rows, read from the file as they are asked for."""
        with self._lines() as lines:
            yield from _data_rows(lines, self.layout, [0])


def open_csv_file(path: Path) -> CsvFile:
    """Check a CSV file from end to end; raise FileRejected for a file-level fault."""
    with path.open("rb") as stream:
        encoding = detect_encoding(stream)
    with path.open(encoding=encoding.codec, newline="") as handle:
        layout = _layout(handle.read(_SAMPLE_CHARS))
    unchecked = CsvFile(path, encoding, layout, (), 0, 0)
    with unchecked._lines() as lines:
        header = _header(lines, layout)
    blank = [0]
    with unchecked._lines() as lines:
        row_count = sum(1 for _ in _data_rows(lines, layout, blank))
    return CsvFile(path, encoding, layout, header, row_count, blank[0])


def read_csv_file(path: Path) -> ParsedFile:
    """Read, decode and parse one whole CSV file (for callers that need every row at once)."""
    checked = open_csv_file(path)
    return ParsedFile(checked.format, checked.header, list(checked.rows()), checked.blank_rows)
