"""The import's preparing side alone: CPU µs per row of each part, in one process.

Reads a generated CSV the way the pipeline does (a check pass, then chunks of CHUNK_ROWS
rows, each pickled there and back as it crosses to the worker), prepares every chunk with
a `Preparer` (what the forked worker does), pickles each result there and back (crossing
back) and turns it into `Prepared` records (what the writer does with it). The collector
is paused while preparing, as in the worker, and on while reading and making records, as
in the importing process. The parts are timed in CPU time of this process, so a loaded
machine changes the figures less; `--profile` prints the top of a cProfile instead.

    python bench/bench_prepare.py [--rows 100000] [--coordinates] [--profile] [--no-record]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import os
import pickle
import pstats
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import generate
from harness import REPO, append_section
from harness import timed as harness_timed

sys.path.insert(0, str(REPO))

from app.config import Settings
from app.importer import prepare
from app.importer.columns import plan_columns
from app.importer.context import close_context, import_context
from app.importer.pipeline import CHUNK_ROWS, ImportContext, ImportOptions
from app.importer.place import PlaceIndexes, Placer
from app.importer.reader import RawRow, open_csv_file

SPENT: Counter[str] = Counter()
PARTS = ("decode (CSV rows)", "chunk to the worker (pickle)", "columns (cell_values)",
         "validate (clean_row)", "place (place_rows)", "key, row, hash (_ready)", "rest of prepare",
         "pickle there and back", "records in the writer (.prepared)",
         "check pass of the whole file (open_csv_file)")


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function`, adding the CPU seconds it takes to SPENT[name] (process_time)."""
    return harness_timed(SPENT, name, function, time.process_time)


def instrument() -> None:
    """Wrap the parts the preparer calls through module attributes."""
    prepare.cell_values = timed(PARTS[2], prepare.cell_values)
    prepare.clean_row = timed(PARTS[3], prepare.clean_row)
    Placer.place_rows = timed(PARTS[4], Placer.place_rows)  # type: ignore[method-assign]
    prepare._ready = timed(PARTS[5], prepare._ready)


@contextlib.contextmanager
def as_the_main_process() -> Iterator[None]:
    """The collector as the importing process has it (on, over all objects), for a while."""
    gc.unfreeze()
    gc.enable()
    try:
        yield
    finally:
        prepare.pause_collector()


def chunks_of(path: Path) -> Iterator[prepare.Chunk]:
    """The file's chunks as the pipeline cuts them, reading timed as the decoding part."""
    started = time.process_time()
    with as_the_main_process():
        checked = open_csv_file(path)
    SPENT[PARTS[9]] += time.process_time() - started
    plan = plan_columns(checked.header, ImportOptions().mapping)
    rows = checked.rows()
    while True:
        started = time.process_time()
        with as_the_main_process():
            chunk: list[RawRow] = list(islice(rows, CHUNK_ROWS))
        SPENT[PARTS[0]] += time.process_time() - started
        if not chunk:
            return
        started = time.process_time()
        with as_the_main_process():
            sent = pickle.loads(pickle.dumps(prepare.Chunk(path.name, chunk, plan)))
        SPENT[PARTS[1]] += time.process_time() - started
        yield sent


def run(path: Path, context: ImportContext) -> int:
    """Prepare every chunk of the file; return the number of rows read."""
    indexes = PlaceIndexes(context.geocoder, context.gazetteer, context.reverse)
    preparer = prepare.Preparer(context.taxonomy, indexes, ImportOptions().mapping)
    prepare.pause_collector()  # as the worker does (reading and pickling are then paused too)
    rows = 0
    for chunk in chunks_of(path):
        rows += len(chunk.rows)
        started = time.process_time()
        result = prepare.collect_and_prepare(preparer, chunk)  # as the worker does
        SPENT["prepare (all of it)"] += time.process_time() - started
        started = time.process_time()
        result = pickle.loads(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        SPENT[PARTS[7]] += time.process_time() - started
        started = time.process_time()
        with as_the_main_process():
            _ = result.prepared
        SPENT[PARTS[8]] += time.process_time() - started
    return rows


def table(rows: int) -> list[str]:
    """The parts in µs per row, the worker's rows/s, and what the importing process pays."""
    parts = dict(SPENT)
    inner = sum(parts.get(name, 0.0) for name in PARTS[2:6])
    parts[PARTS[6]] = parts.pop("prepare (all of it)") - inner
    worker = sum(parts.get(name, 0.0) for name in PARTS[2:8])
    main_side = sum(parts.get(name, 0.0) for name in (*PARTS[:2], *PARTS[8:]))
    lines = ["| part | CPU µs/row | CPU s |", "|---|---:|---:|"]
    lines += [f"| {name} | {parts.get(name, 0.0) / rows * 1e6:.1f} | {parts.get(name, 0.0):.2f} |"
              for name in PARTS]
    lines += [f"| **worker's share (columns … pickle there and back)** | "
              f"{worker / rows * 1e6:.1f} | {worker:.2f} |",
              f"| **importing process's share (the rest)** | {main_side / rows * 1e6:.1f} | "
              f"{main_side:.2f} |"]
    lines += ["", f"Worker alone: {rows / worker:,.0f} rows/s of CPU."]
    return lines


def main() -> None:
    """Prepare the generated CSV once, timed by part or profiled, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--coordinates", action="store_true", help="the CSV with lat/lon")
    parser.add_argument("--profile", action="store_true", help="print a cProfile instead")
    parser.add_argument("--no-record", action="store_true", help="do not touch results.md")
    args = parser.parse_args()
    dataset = generate.cached_dataset(args.rows)
    path = dataset.csv if args.coordinates or dataset.bare_csv is None else dataset.bare_csv
    context = import_context(Settings(load_default_directory=False))
    try:
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(run, path, context)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
            return
        instrument()
        rows = run(path, context)
    finally:
        close_context(context)
    lines = [f"{path.name}: {rows:,} rows in chunks of {CHUNK_ROWS:,}, one process, load "
             f"average {os.getloadavg()[0]:.1f}", "", *table(rows)]
    print("\n".join(lines))
    if not args.no_record:
        append_section("Import preparing side alone (bench_prepare.py)", lines)


if __name__ == "__main__":
    main()
