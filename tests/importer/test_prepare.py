"""The preparing worker's memory: the collector paused, cycles freed every COLLECT_EVERY chunks."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from app.importer.columns import ColumnMapping, plan_columns
from app.importer.pipeline import ImportContext
from app.importer.place import PlaceIndexes
from app.importer.prepare import (
    COLLECT_EVERY,
    Chunk,
    Preparer,
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
