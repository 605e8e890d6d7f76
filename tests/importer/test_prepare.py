"""The preparing worker's memory: the collector paused, cycles freed every COLLECT_EVERY chunks;
what it sends back, bytes until the parent's turn."""

from __future__ import annotations

import gc
import multiprocessing
import os
import weakref
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import pytest

from app.importer.columns import ColumnMapping, plan_columns
from app.importer.pipeline import ImportContext
from app.importer.place import PlaceIndexes
from app.importer.prepare import (
    COLLECT_EVERY,
    Chunk,
    Preparer,
    _prepare_in_worker,
    _start_worker,
    _unpickled,
    collect_and_prepare,
    pause_collector,
)
from app.importer.reader import RawRow


class Node:
    """Something that can refer to itself (a cycle only the collector frees)."""

    partner: Node | None = None


@pytest.fixture
def paused() -> Iterator[None]:
    """The collector as a worker has it, given back to the test process afterwards."""
    pause_collector()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_worker_frees_a_cycle_once_every_collect_every_chunks(
    context: ImportContext, paused: None
) -> None:
    indexes = PlaceIndexes(context.geocoder, context.gazetteer, context.reverse)
    preparer = Preparer(context.taxonomy, indexes, ColumnMapping())
    plan = plan_columns(("nom", "ville"), ColumnMapping())
    chunk = Chunk("f.csv", [RawRow(2, ["Atelier", "Lyon"])], plan)
    node = Node()
    node.partner = node
    freed = weakref.ref(node)
    del node
    for _ in range(COLLECT_EVERY - 1):
        assert len(collect_and_prepare(preparer, chunk).ready) == 1
    assert freed() is not None
    collect_and_prepare(preparer, chunk)
    assert freed() is None


def test_a_prepared_chunk_waits_in_the_parent_as_bytes_until_its_turn(
    context: ImportContext,
) -> None:
    # Issue 8: the parent holds a transaction's worth of chunks prepared ahead; as rows of
    # small objects they made the writer's largest allocation, and what they left behind
    # in the C heap grew with the file.
    indexes = PlaceIndexes(context.geocoder, context.gazetteer, context.reverse)
    preparer = Preparer(context.taxonomy, indexes, ColumnMapping())
    plan = plan_columns(("nom", "ville"), ColumnMapping())
    chunks = [Chunk("f.csv", [RawRow(line, [f"Atelier {line}", "Lyon"])], plan)
              for line in range(2, 9)]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"),
                             initializer=_start_worker, initargs=(preparer, os.getpid())) as pool:
        waiting = [pool.submit(_prepare_in_worker, chunk) for chunk in chunks]
        assert {type(future.result()) for future in waiting} == {bytes}
        from_worker = [_unpickled(future) for future in waiting]
    assert from_worker == [preparer.prepare(chunk) for chunk in chunks]
    assert [ready[0] for result in from_worker for ready in result.ready] == list(range(2, 9))
