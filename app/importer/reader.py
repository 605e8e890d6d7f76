"""Read a CSV file into rows that remember their line: encoding, delimiter and line ends detected.

The whole file is parsed before any of its rows is used, so a fault found at its end
(an unbalanced quote) still aborts the file before anything from it is written.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from app.importer.decoding import decode_csv_bytes
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


def _records(text: str, delimiter: str) -> Iterator[RawRow]:
    """Every record with the line it starts on; a malformed one carries its problem."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
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


def parse_csv_text(text: str, encoding: str) -> ParsedFile:
    """Detect the delimiter and line ends of decoded text and split it into rows."""
    hint = _EXCEL_SEPARATOR_HINT.match(text)
    delimiter = hint.group(1) if hint and hint.group(1) in DELIMITERS else None
    body = text[hint.end():] if hint else text
    delimiter = delimiter or detect_delimiter(body)
    records = _records(body, delimiter)
    header, blank = _split_header(records)
    rows: list[RawRow] = []
    for record in records:
        if record.problem or "".join(record.cells).strip():
            rows.append(_shift(record, 1) if hint else record)
        else:
            blank += 1
    file_format = FileFormat(encoding, delimiter, _line_endings(text))
    return ParsedFile(file_format, header, rows, blank)


def _shift(record: RawRow, lines: int) -> RawRow:
    """The same record, its line number moved past an Excel `sep=` line."""
    return RawRow(record.line + lines, record.cells, record.problem)


def read_csv_file(path: Path) -> ParsedFile:
    """Read, decode and parse one CSV file; raise FileRejected for a file-level fault."""
    decoded = decode_csv_bytes(path.read_bytes())
    return parse_csv_text(decoded.text, decoded.encoding)
