"""CSV geocoding for `ess-atlas geocode`: a point, and how precise it is, for every row."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from app.importer.columns import ColumnMapping, normalise_header
from app.importer.faults import FileRejected
from app.importer.reader import RawRow, read_csv_file
from app.safecsv import SafeCsvWriter
from geocode.base import AddressQuery, GeocodeError, GeocodeResult
from geocode.chain import Answer, GeocoderChain, describe_error

OUTPUT_COLUMNS = (
    "latitude",
    "longitude",
    "geocode_label",
    "geocode_score",
    "geocode_precision",
    "geocode_source",
    "geocode_citycode",
    "geocode_note",
)
ADDRESS_PARTS = ("street", "postcode", "city")
CHUNK_ROWS = 250


class UnusableInput(Exception):
    """The CSV file cannot be geocoded: unreadable, or no address column."""


@dataclass(frozen=True)
class AddressColumns:
    """Positions of the address columns in a row (None when the file has no such column)."""

    street: int | None = None
    postcode: int | None = None
    city: int | None = None
    citycode: int | None = None

    def query(self, cells: Sequence[str]) -> AddressQuery:
        """The address query of one row's cells."""
        return AddressQuery(
            street=_cell(cells, self.street),
            postcode=_cell(cells, self.postcode),
            city=_cell(cells, self.city),
            citycode=_cell(cells, self.citycode),
        )


def _cell(cells: Sequence[str], index: int | None) -> str | None:
    if index is None or index >= len(cells):
        return None
    return cells[index].strip() or None


def _column_index(header: Sequence[str], name: str, option: str) -> int:
    """The position of column `name` (exact, else ignoring case and accents)."""
    if name in header:
        return header.index(name)
    wanted = normalise_header(name)
    for index, title in enumerate(header):
        if normalise_header(title) == wanted:
            return index
    raise UnusableInput(f"{option}: no column named {name!r}; the columns are: {', '.join(header)}")


def _named_columns(
    header: Sequence[str], address_cols: Sequence[str], citycode_col: str | None
) -> AddressColumns:
    if not 1 <= len(address_cols) <= len(ADDRESS_PARTS):
        raise UnusableInput(
            "--address-cols: give 1 to 3 column names, in the order "
            "street,postcode,city (leave one empty to skip it)"
        )
    found = {
        part: _column_index(header, name.strip(), "--address-cols")
        for part, name in zip(ADDRESS_PARTS, address_cols, strict=False)
        if name.strip()
    }
    if citycode_col:
        found["citycode"] = _column_index(header, citycode_col, "--citycode-col")
    return AddressColumns(**found)


def _detected_columns(header: Sequence[str], citycode_col: str | None) -> AddressColumns:
    """Address columns recognised by their usual names (adresse, code postal, commune…)."""
    mapping = ColumnMapping()
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        part = mapping.field_for(title)
        if part in (*ADDRESS_PARTS, "citycode"):
            found.setdefault(part, index)
    if citycode_col:
        found["citycode"] = _column_index(header, citycode_col, "--citycode-col")
    return AddressColumns(**found)


def address_columns(
    header: Sequence[str], address_cols: Sequence[str] | None, citycode_col: str | None
) -> AddressColumns:
    """The address columns named on the command line, else recognised by their names."""
    if address_cols:
        columns = _named_columns(header, address_cols, citycode_col)
    else:
        columns = _detected_columns(header, citycode_col)
    if columns == AddressColumns():
        raise UnusableInput(
            "no address column found (street, postcode, city or INSEE code); "
            "name them with --address-cols street,postcode,city"
        )
    return columns


@dataclass(frozen=True)
class CsvSource:
    """A CSV file read for geocoding: format, header, rows and its address columns."""

    delimiter: str
    with_bom: bool
    header: tuple[str, ...]
    rows: list[RawRow]
    columns: AddressColumns


def read_address_csv(
    path: Path, address_cols: Sequence[str] | None = None, citycode_col: str | None = None
) -> CsvSource:
    """Read a CSV file (UTF-8/BOM/Windows-1252; `;`, `,` or tab) and find its address columns."""
    try:
        parsed = read_csv_file(path)
    except FileRejected as fault:
        raise UnusableInput(f"{path}: {fault.message}") from None
    except OSError as error:
        raise UnusableInput(f"{path}: cannot read: {error.strerror}") from None
    columns = address_columns(parsed.header, address_cols, citycode_col)
    return CsvSource(
        parsed.format.delimiter,
        parsed.format.encoding == "UTF-8 with BOM",
        parsed.header,
        parsed.rows,
        columns,
    )


class MalformedRow(GeocodeError):
    """A row whose quoting the CSV reader could not make sense of."""


def failure_reason(error: GeocodeError) -> str:
    """Say in a few words why a row has no point ("no match", "ambiguous"…)."""
    return "malformed row" if isinstance(error, MalformedRow) else describe_error(error)


@dataclass
class GeocodeSummary:
    """What geocoding a file gave: rows, rows per precision, failures by reason."""

    rows: int = 0
    precisions: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def failed(self) -> int:
        """Rows left without a point."""
        return sum(self.failures.values())

    def count(self, answer: Answer) -> None:
        """Count one row's answer."""
        self.rows += 1
        if isinstance(answer, GeocodeResult):
            self.precisions[str(answer.precision)] += 1
        else:
            self.failures[failure_reason(answer)] += 1


def answer_cells(answer: Answer) -> list[str]:
    """The OUTPUT_COLUMNS cells of an answer; a failure has no point, only a note."""
    if isinstance(answer, GeocodeError):
        return ["", "", "", "", "", "", "", f"{failure_reason(answer)}: {answer}"]
    return [
        str(round(answer.lat, 6)),
        str(round(answer.lon, 6)),
        answer.label,
        str(round(answer.score, 4)),
        str(answer.precision),
        answer.source,
        answer.citycode or "",
        "; ".join(answer.notes),
    ]


def _kept_columns(header: Sequence[str]) -> list[int]:
    """Input columns copied to the output (not those the output fills again)."""
    return [index for index, title in enumerate(header) if title not in OUTPUT_COLUMNS]


def _chunks(rows: Sequence[RawRow], size: int) -> Iterator[Sequence[RawRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _answers(
    chunk: Sequence[RawRow], columns: AddressColumns, chain: GeocoderChain
) -> list[Answer]:
    """One answer per row; each distinct address is asked once, in one batch."""
    queries = [columns.query(row.cells) for row in chunk]
    distinct = list(
        dict.fromkeys(query for row, query in zip(chunk, queries, strict=True) if not row.problem)
    )
    by_query = dict(zip(distinct, chain.geocode_many(distinct), strict=True))
    return [
        MalformedRow(row.problem) if row.problem else by_query[query]
        for row, query in zip(chunk, queries, strict=True)
    ]


def geocode_csv(
    source: CsvSource,
    output: Path,
    chain: GeocoderChain,
    on_rows: Callable[[int], None] = lambda count: None,
) -> GeocodeSummary:
    """Write `output`: the input columns plus OUTPUT_COLUMNS for every row; return the counts."""
    summary = GeocodeSummary()
    kept = _kept_columns(source.header)
    with _replacing(output, "utf-8-sig" if source.with_bom else "utf-8") as stream:
        writer = SafeCsvWriter(stream, delimiter=source.delimiter)
        writer.writerow([*(source.header[i] for i in kept), *OUTPUT_COLUMNS])
        for chunk in _chunks(source.rows, CHUNK_ROWS):
            answers = _answers(chunk, source.columns, chain)
            writer.writerows(_output_rows(chunk, answers, kept, summary))
            on_rows(len(chunk))
    return summary


def _output_rows(
    chunk: Sequence[RawRow], answers: Iterable[Answer], kept: list[int], summary: GeocodeSummary
) -> Iterator[list[str]]:
    for row, answer in zip(chunk, answers, strict=True):
        summary.count(answer)
        yield [*(row.cells[i] if i < len(row.cells) else "" for i in kept), *answer_cells(answer)]


@contextmanager
def _replacing(path: Path, encoding: str) -> Iterator[IO[str]]:
    """Write beside `path`, then move the file over it: never a half-written `path`."""
    partial = path.with_name(f".{path.name}.part")
    try:
        with partial.open("w", encoding=encoding, newline="") as stream:
            yield stream
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
