"""Raw rows -> records ready to write, chunk by chunk, with the rejections and warnings.

Preparing touches no database and keeps no state a run depends on (only caches), so it
can run in a second process: the CLI prepares chunks in a forked worker while the main
process writes the previous ones, which puts both cores of a small machine to work.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import pickle
import signal
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from app.duplicates import Entry, name_skeleton
from app.importer.columns import ColumnMapping, ColumnPlan
from app.importer.faults import RowInvalid
from app.importer.place import PlaceIndexes, Placer
from app.importer.reader import RawRow
from app.importer.report import Notice, Rejection
from app.importer.validate import CategoryMatcher, CleanRow, cell_values, clean_row
from app.storage import (
    STORED_COLUMNS,
    Placement,
    StoredRecord,
    content_hash,
    key_for,
    normalise_folded_name,
    organisation_row,
)
from app.taxonomy import Taxonomy
from geocode.normalize import fold

WORKERS = 1
COLLECT_EVERY = 20  # chunks (see collect_and_prepare)
_PR_SET_PDEATHSIG = 1
_NAME, _CITYCODE = STORED_COLUMNS.index("name"), STORED_COLUMNS.index("citycode")
_LAT, _LON = STORED_COLUMNS.index("lat"), STORED_COLUMNS.index("lon")


class Prepared(NamedTuple):
    """A row ready to write: its line, stored form, geocoding precision, detection entry."""

    line: int
    record: StoredRecord
    precision: str | None
    entry: Entry


# A prepared row as plain tuples, which cross between processes twice as fast:
# (line, key, row, categories, digest, precision, name key, name skeleton).
PreparedTuple = tuple[int, str, tuple[Any, ...], tuple[str, ...], str, str | None, str, str]


def _from_tuple(prepared: PreparedTuple) -> Prepared:
    line, key, row, categories, digest, precision, name_key, skeleton = prepared
    entry = Entry(key, row[_NAME], row[_CITYCODE], row[_LAT], row[_LON], name_key, skeleton)
    return Prepared(line, StoredRecord(key, row, categories, digest), precision, entry)


@dataclass
class ChunkResult:
    """What preparing a chunk of one file gave."""

    file: str
    size: int
    starts_batch: bool = True
    ready: list[PreparedTuple] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    unknown_sectors: Counter[str] = field(default_factory=Counter)

    @property
    def prepared(self) -> list[Prepared]:
        """The rows ready to write."""
        return [_from_tuple(prepared) for prepared in self.ready]


class Chunk(NamedTuple):
    """Rows of one file to prepare, with the plan of that file's columns."""

    file: str
    rows: Sequence[RawRow]
    plan: ColumnPlan
    starts_batch: bool = True  # the first chunk of a transaction


class Preparer:
    """Validates, places and keys the rows of a run (caches are per preparer)."""

    def __init__(self, taxonomy: Taxonomy, indexes: PlaceIndexes, mapping: ColumnMapping, *,
                 strict_sectors: bool = False) -> None:
        self.matcher = CategoryMatcher(taxonomy, mapping, strict=strict_sectors)
        self.placer = Placer(indexes)
        self.source = mapping.source
        self.chunks_since_collection = 0

    def prepare(self, chunk: Chunk) -> ChunkResult:
        """Prepare a chunk: ready rows, rejected rows, and warnings, in row order."""
        result = ChunkResult(chunk.file, len(chunk.rows), chunk.starts_batch)
        clean: list[tuple[CleanRow, RawRow]] = []
        for raw in chunk.rows:
            try:
                clean.append((self._clean(raw, chunk), raw))
            except RowInvalid as invalid:
                result.rejections.append(self._rejection(chunk, raw, invalid))
        placements = self.placer.place_rows([row for row, _ in clean])
        for (row, raw), placement in zip(clean, placements, strict=True):
            result.notices.extend(Notice(row.file, row.line, code, message)
                                  for code, message in row.warnings)
            result.unknown_sectors.update(row.unknown_sectors)
            if isinstance(placement, RowInvalid):
                result.rejections.append(self._rejection(chunk, raw, placement))
            else:
                result.ready.append(_ready(row, placement))
        result.rejections.sort(key=lambda rejection: rejection.line)
        return result

    def _clean(self, raw: RawRow, chunk: Chunk) -> CleanRow:
        if raw.problem:
            raise RowInvalid(raw.problem, code="malformed_quoting")
        width = len(chunk.plan.headers)
        if any(cell.strip() for cell in raw.cells[width:]):
            raise RowInvalid(f"the row has {len(raw.cells)} fields, the header {width} "
                             "(a delimiter inside a value needs quotes)", code="too_many_fields")
        values = cell_values(raw.cells, chunk.plan)
        if self.source:
            values.setdefault("source", self.source)
        return clean_row(values, self.matcher, file=chunk.file, line=raw.line)

    def _rejection(self, chunk: Chunk, raw: RawRow, invalid: RowInvalid) -> Rejection:
        """A rejected row with its cells by field name (ignored columns by header)."""
        plan, cells = chunk.plan, raw.cells
        values = {name: cells[i] for i, name in plan.positions if i < len(cells)}
        for index, header in enumerate(plan.headers):
            if header in plan.ignored and index < len(cells):
                values.setdefault(header, cells[index])
        if self.source and not values.get("source"):
            values["source"] = self.source
        problems = tuple((p.field, p.code, p.reason) for p in invalid.problems)
        return Rejection(chunk.file, raw.line, invalid.reason, invalid.field, invalid.code, values,
                         problems)


def _ready(row: CleanRow, placement: Placement) -> PreparedTuple:
    """A clean, placed row in its stored form."""
    folded_name = fold(row.values["name"])
    stored = organisation_row(row.values, row.categories, placement, folded_name=folded_name)
    name_key = normalise_folded_name(folded_name)
    key = key_for(row.values, placement.citycode, name_key)
    categories = tuple(dict.fromkeys(row.categories))
    return (row.line, key, stored, categories, content_hash(stored), placement.precision,
            name_key, name_skeleton(name_key))


# --- a second process ---------------------------------------------------------------

_worker_preparer: Preparer | None = None


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this worker when the importing process dies (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the request was made
        os._exit(1)


def _start_worker(preparer: Preparer, parent: int) -> None:
    global _worker_preparer
    _die_with_parent(parent)
    _worker_preparer = preparer
    pause_collector()


def pause_collector() -> None:
    """Leave a worker's memory to reference counting; `collect_and_prepare` collects.

    A chunk's rows, cells and records are many young containers that live until the chunk
    is done and form no cycles: the collector's passes over them, every few hundred
    allocations, and over the inherited taxonomy and gazetteer, cost a quarter of the
    preparing and free nothing. Frozen, the inherited objects are not scanned (nor their
    pages copied by the collector's writes).
    """
    gc.freeze()
    gc.disable()


def collect_and_prepare(preparer: Preparer, chunk: Chunk) -> ChunkResult:
    """Prepare `chunk`; every COLLECT_EVERY chunks first free the few cycles left behind.

    The caches (addresses geocoded, sector cells) are scanned by each collection: often
    enough to bound memory, seldom enough to cost nothing per row.
    """
    preparer.chunks_since_collection += 1
    if preparer.chunks_since_collection >= COLLECT_EVERY:
        preparer.chunks_since_collection = 0
        gc.collect()
    return preparer.prepare(chunk)


def _prepare_in_worker(chunk: Chunk) -> bytes:
    """A prepared chunk, pickled by the worker: the parent unpickles it on its turn.

    Results wait in the parent as compact bytes rather than as thousands of rows of small
    objects each, and are unpickled by the writing thread, not by the pool's result
    thread (whose own C heap arena would keep what they leave behind).
    """
    assert _worker_preparer is not None  # noqa: S101  (set by the initializer)
    result = collect_and_prepare(_worker_preparer, chunk)
    return pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)


def prepare_in_order(
    preparer: Preparer, chunks: Iterable[Chunk], *, in_worker: bool, ahead: int = 1
) -> Iterator[ChunkResult]:
    """Prepare chunks in order, in this process or in one forked worker running ahead.

    The worker prepares at most `ahead` chunks beyond the one handed out, which bounds the
    memory it can fill; a transaction's worth keeps it busy while the writer writes one.
    """
    if not in_worker:
        yield from (preparer.prepare(chunk) for chunk in chunks)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(WORKERS, mp_context=context, initializer=_start_worker,
                             initargs=(preparer, os.getpid())) as pool:
        queued: deque[Future[bytes]] = deque()
        for chunk in chunks:
            queued.append(pool.submit(_prepare_in_worker, chunk))
            if len(queued) > max(1, ahead):
                yield _unpickled(queued.popleft())
        while queued:
            yield _unpickled(queued.popleft())


def _unpickled(prepared: Future[bytes]) -> ChunkResult:
    """The chunk a worker prepared and pickled (see `_prepare_in_worker`)."""
    result: ChunkResult = pickle.loads(prepared.result())  # noqa: S301  (our own worker's)
    return result
