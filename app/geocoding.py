"""Address-level geocoding for the app: the geocoder chain, place search, CSV geocoding.

The chain is cache → BAN/addok (when `ESS_GEOCODER_URL` is set) → offline gazetteer.
Place search answers the map's search box: communes and postcodes offline, addresses from
BAN/addok when configured; when BAN cannot answer, the offline hits still come, with a
warning. CSV geocoding adds a point, and how precise it is, to every row of a file.
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import IO

from app.config import DEFAULT_VAR_DIR, Settings
from app.importer.columns import ColumnMapping, normalise_header
from app.importer.faults import FileRejected
from app.importer.reader import RawRow, read_csv_file
from app.safecsv import SafeCsvWriter
from geocode.ban import ARRONDISSEMENT_CODES, QUERY_MIN_LENGTH, BanGeocoder, BanOptions
from geocode.base import AddressQuery, GeocodeError, GeocodeResult
from geocode.cache import GeocodeCache
from geocode.chain import Answer, GeocoderChain, describe_error
from geocode.gazetteer import Commune, Gazetteer, default_gazetteer
from geocode.normalize import normalize_place_name, normalize_postcode
from geocode.reverse import default_reverse_index

logger = logging.getLogger(__name__)

DEFAULT_CACHE_PATH = DEFAULT_VAR_DIR / "geocode-cache.sqlite3"
# The search box waits for nobody: one quick attempt, then the offline answers alone.
INTERACTIVE_ATTEMPTS = 1
INTERACTIVE_CONNECT_TIMEOUT = 2.0
INTERACTIVE_READ_TIMEOUT = 5.0

BBox = tuple[float, float, float, float]

# --------------------------------------------------------------------------- the chain


def geocoder_cache_path(settings: Settings) -> Path:
    """Where the geocoding cache lives: `ESS_GEOCODER_CACHE_PATH`, or var/geocode-cache.sqlite3."""
    return settings.geocoder_cache_path or DEFAULT_CACHE_PATH


def ban_geocoder(settings: Settings, *, interactive: bool = False) -> BanGeocoder | None:
    """A BAN/addok client for `ESS_GEOCODER_URL` (None when unset); `interactive` fails fast."""
    if not settings.geocoder_url:
        return None
    options = BanOptions(requests_per_second=settings.geocoder_rate_limit)
    if interactive:
        options = replace(
            options,
            max_attempts=INTERACTIVE_ATTEMPTS,
            connect_timeout=INTERACTIVE_CONNECT_TIMEOUT,
            read_timeout=INTERACTIVE_READ_TIMEOUT,
        )
    return BanGeocoder(settings.geocoder_url, options)


def open_cache(settings: Settings) -> GeocodeCache:
    """Open (creating its folder) the persistent cache of BAN/addok answers."""
    path = geocoder_cache_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    return GeocodeCache(path)


def build_geocoder(settings: Settings) -> GeocoderChain:
    """Cache → BAN/addok → gazetteer; without a geocoder URL, the gazetteer alone (no cache)."""
    precise = ban_geocoder(settings)
    if precise is None:
        return GeocoderChain(None, None, default_gazetteer())
    return GeocoderChain(
        open_cache(settings), precise, default_gazetteer(), default_reverse_index()
    )


def close_geocoder(chain: GeocoderChain) -> None:
    """Close the cache and the HTTP connections of a chain from `build_geocoder`."""
    if chain.cache is not None:
        chain.cache.close()
    if isinstance(chain.precise, BanGeocoder):
        chain.precise.close()


def commune_level_only(geocoder: object) -> bool:
    """True when `geocoder` answers at commune level only, so the street never matters."""
    if isinstance(geocoder, GeocoderChain):
        return geocoder.precise is None
    return isinstance(geocoder, Gazetteer)


# --------------------------------------------------------------------------- place search


@dataclass(frozen=True)
class PlaceHit:
    """One answer of the place search; `bbox` is [minLon, minLat, maxLon, maxLat] or None."""

    label: str
    kind: str
    lat: float
    lon: float
    citycode: str | None
    postcode: str | None
    departement: str | None
    bbox: BBox | None
    source: str


@dataclass(frozen=True)
class PlaceResults:
    """The hits of a place search, best first, and what could not be searched."""

    hits: tuple[PlaceHit, ...]
    warnings: tuple[str, ...] = ()


COMMUNE_KINDS = frozenset({"municipality", "postcode"})
_HOUSENUMBER = re.compile(r"\d{1,4}[a-z]?")
# Words that name a French street ("3 rue …", "quai de la Loire"), accents folded.
_STREET_TYPE = re.compile(
    r"\b(?:allee|av|avenue|bd|boulevard|chaussee|chemin|cite|cours|esplanade|faubourg|impasse"
    r"|lotissement|passage|place|promenade|quai|residence|route|rte|rue|sentier|square|voie)\b"
)
_NAME_AND_POSTCODE = re.compile(r"(?P<name>\D+?)\s*,?\s+(?P<postcode>\d{5})")
_POSTCODE_AND_NAME = re.compile(r"(?P<postcode>\d{5})\s*,?\s+(?P<name>\D+)")


def looks_like_address(text: str) -> bool:
    """True for "3 rue Albert Marquet" or "quai de la Loire"; False for a town or a postcode."""
    name = normalize_place_name(text)
    words = name.split()
    numbered = len(words) > 1 and _HOUSENUMBER.fullmatch(words[0]) is not None
    return numbered or _STREET_TYPE.search(name) is not None


@cache
def commune_bounds() -> dict[str, BBox]:
    """Bounding boxes of the shipped commune polygons by INSEE code (Paris, Lyon, Marseille too)."""
    bounds = {code: _rounded_box(box) for code, box in default_reverse_index().bounds()}
    for city, arrondissements in ARRONDISSEMENT_CODES.items():
        parts = [bounds[code] for code in arrondissements if code in bounds]
        if parts:
            bounds[city] = _union(parts)
    return bounds


def _rounded_box(row: Sequence[float]) -> BBox:
    return (round(row[0], 6), round(row[1], 6), round(row[2], 6), round(row[3], 6))


def _union(boxes: Sequence[BBox]) -> BBox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def commune_hit(commune: Commune, postcode: str | None = None) -> PlaceHit:
    """A commune as a search hit, labelled with its département ("Montreuil (93)")."""
    only = commune.postcodes[0] if len(commune.postcodes) == 1 else None
    return PlaceHit(
        label=f"{commune.name} ({commune.departement})",
        kind="municipality",
        lat=round(commune.lat, 6),
        lon=round(commune.lon, 6),
        citycode=commune.code,
        postcode=postcode or only,
        departement=commune.departement,
        bbox=commune_bounds().get(commune.code),
        source="gazetteer",
    )


def postcode_hit(commune: Commune, prefix: str) -> PlaceHit:
    """A commune found by (the start of) its postcode: "93100 Montreuil"."""
    postcode = next(code for code in commune.postcodes if code.startswith(prefix))
    hit = commune_hit(commune, postcode)
    return replace(hit, label=f"{postcode} {commune.name}", kind="postcode")


class PlaceSearch:
    """The search box's places: offline communes and postcodes, BAN/addok addresses if any."""

    def __init__(self, gazetteer: Gazetteer, ban: BanGeocoder | None = None) -> None:
        self.gazetteer = gazetteer
        self.ban = ban

    def close(self) -> None:
        """Close the BAN/addok connections."""
        if self.ban is not None:
            self.ban.close()

    def search(self, text: str, limit: int) -> PlaceResults:
        """Up to `limit` places: communes first unless `text` looks like an address."""
        text = " ".join(text.split())
        communes = self._communes(text, limit)
        addresses, warnings = self._addresses(text, limit)
        if looks_like_address(text):
            return PlaceResults(_merged(addresses, communes, limit), warnings)
        return PlaceResults(_merged(communes, addresses, limit), warnings)

    def _communes(self, text: str, limit: int) -> list[PlaceHit]:
        compact = "".join(text.split())
        if compact.isdigit():
            return [postcode_hit(c, compact) for c in self.gazetteer.search(compact, limit)]
        found = [commune_hit(commune) for commune in self.gazetteer.search(text, limit)]
        named = self._named_with_postcode(text)
        return [named, *found] if named is not None else found

    def _named_with_postcode(self, text: str) -> PlaceHit | None:
        """The commune of "Montreuil 93100" or "93100 Montreuil", when exactly one fits."""
        parts = _NAME_AND_POSTCODE.fullmatch(text) or _POSTCODE_AND_NAME.fullmatch(text)
        if parts is None:
            return None
        try:
            commune = self.gazetteer.find(parts["postcode"], parts["name"])
        except GeocodeError:
            return None
        return commune_hit(commune, normalize_postcode(parts["postcode"]))

    def _addresses(self, text: str, limit: int) -> tuple[list[PlaceHit], tuple[str, ...]]:
        if self.ban is None or len(text) < QUERY_MIN_LENGTH:
            return [], ()
        try:
            results = self.ban.search(text, limit=limit)
        except GeocodeError as error:
            logger.warning("address search failed for %r: %s", text, error)
            return [], (
                f"address search is unavailable ({describe_error(error)}): only "
                "communes and postcodes are listed",
            )
        return [self._address_hit(result) for result in results], ()

    def _address_hit(self, result: GeocodeResult) -> PlaceHit:
        commune = self.gazetteer.by_code(result.citycode) if result.citycode else None
        kind = str(result.precision)
        bbox = commune_bounds().get(commune.code) if commune and kind == "municipality" else None
        return PlaceHit(
            label=result.label,
            kind=kind,
            lat=round(result.lat, 6),
            lon=round(result.lon, 6),
            citycode=result.citycode,
            postcode=result.postcode,
            departement=commune.departement if commune else None,
            bbox=bbox,
            source=result.source,
        )


def _merged(first: list[PlaceHit], second: list[PlaceHit], limit: int) -> tuple[PlaceHit, ...]:
    """`first` then `second`, each place once; `second` keeps half the room if it needs it."""
    kept_first = _distinct(first, [])
    kept_second = _distinct(second, kept_first)
    room = max(limit - len(kept_second), (limit + 1) // 2)
    return tuple([*kept_first[:room], *kept_second][:limit])


def _distinct(hits: Iterable[PlaceHit], before: Sequence[PlaceHit]) -> list[PlaceHit]:
    """`hits` without a label twice nor a commune already listed (here or in `before`)."""
    labels = {hit.label for hit in before}
    communes = {hit.citycode for hit in before if hit.kind in COMMUNE_KINDS}
    kept: list[PlaceHit] = []
    for hit in hits:
        if hit.label in labels or (hit.kind == "municipality" and hit.citycode in communes):
            continue
        kept.append(hit)
        labels.add(hit.label)
        if hit.kind in COMMUNE_KINDS:
            communes.add(hit.citycode)
    return kept


def place_search(settings: Settings) -> PlaceSearch:
    """The place search for these settings (BAN/addok addresses when a URL is configured)."""
    return PlaceSearch(default_gazetteer(), ban_geocoder(settings, interactive=True))


def search_places(q: str, *, settings: Settings, limit: int) -> list[PlaceHit]:
    """Places for `q` under `settings` (a one-off search; the API keeps a PlaceSearch open)."""
    search = place_search(settings)
    try:
        return list(search.search(q, limit).hits)
    finally:
        search.close()


# --------------------------------------------------------------------------- CSV files

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
