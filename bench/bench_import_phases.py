"""Where an import's writer spends its time: CPU seconds of each write phase, one run.

Runs the real import (`import_paths`, preparing in a worker process like the CLI) of a
generated CSV into a fresh SQLite file, with the writer's phases wrapped in timers.
CPU time of the writing thread is counted (not wall time), so a loaded machine changes
the figures less; the wall time and rows/s of the whole run are printed too.

    python bench/bench_import_phases.py [--rows 100000] [--coordinates] [--csv FILE] [--no-record]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import generate
from harness import REPO, append_section
from harness import timed as harness_timed

sys.path.insert(0, str(REPO))

from app import aggregates, duplicates, storage
from app.config import Settings
from app.db import open_database
from app.dialects import sqlite as sqlite_dialect
from app.importer import pipeline
from app.importer.context import close_context, import_context

SPENT: Counter[str] = Counter()


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function`, adding the CPU seconds it takes to SPENT[name] (thread_time)."""
    return harness_timed(SPENT, name, function, time.thread_time)


def instrument() -> None:
    """Wrap the writer's phases (module attributes the pipeline calls through)."""
    storage._insert_rows = timed("insert organisation rows (+ R*Tree, FTS)", storage._insert_rows)
    strategy = sqlite_dialect.SqliteStrategy
    strategy.bulk_indexing = _timed_context("  of which R*Tree + FTS fill", strategy.bulk_indexing)
    aggregates.add = timed("aggregates.add", aggregates.add)
    pipeline.write_batch = timed("write_batch (all of it)", storage.write_batch)
    pipeline.duplicates.check_written = timed("duplicates.check_written",
                                               duplicates.check_written)
    pipeline.Importer._write = timed("batch, with commit", pipeline.Importer._write)


def _timed_context(name: str, method: Any) -> Any:
    """A context-manager method whose exit (the set-based fill) is timed."""
    @contextlib.contextmanager
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        manager = method(*args, **kwargs)
        manager.__enter__()
        try:
            yield
        finally:
            started = time.thread_time()
            manager.__exit__(None, None, None)
            SPENT[name] += time.thread_time() - started
    return wrapper


def _generated_csv(rows: int, *, coordinates: bool) -> Path:
    """The generated dataset's CSV (made if missing), with or without lat/lon."""
    dataset = generate.cached_dataset(rows)
    return dataset.csv if coordinates or dataset.bare_csv is None else dataset.bare_csv


def main() -> None:
    """Import the generated CSV once with timers and print the phases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--coordinates", action="store_true", help="the CSV with lat/lon")
    parser.add_argument("--csv", type=Path, help="import this file (of --rows rows) instead")
    parser.add_argument("--no-record", action="store_true", help="do not touch results.md")
    args = parser.parse_args()
    csv = args.csv or _generated_csv(args.rows, coordinates=args.coordinates)
    instrument()
    generate.CACHE_DIR.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=generate.CACHE_DIR.parent) as folder:
        settings = Settings(database_url=f"sqlite:///{folder}/atlas.sqlite3",
                            load_default_directory=False)
        engine, context = open_database(settings), import_context(settings)
        options = pipeline.ImportOptions(prepare_in_worker=True)
        started, cpu = time.perf_counter(), time.process_time()
        try:
            report = pipeline.import_paths([csv], engine=engine, context=context, options=options)
        finally:
            close_context(context)
            engine.dispose()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [
        f"{csv.name}: {args.rows:,} rows, {wall:.1f} s wall ({args.rows / wall:,.0f} rows/s), "
        f"load average {os.getloadavg()[0]:.1f}; main process CPU {cpu:.1f} s, worker CPU "
        f"{children.ru_utime + children.ru_stime:.1f} s; peak RSS main "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, worker "
        f"{children.ru_maxrss / 1024:.0f} MB; outcomes {dict(report.outcomes)}", "",
        "| writer phase | CPU s |", "|---|---:|",
        *(f"| {name.strip()} | {seconds:.2f} |"
          for name, seconds in sorted(SPENT.items(), key=lambda item: -item[1]))]
    print("\n".join(lines))
    if not args.no_record:
        append_section("Import writer, CPU per phase", lines)


if __name__ == "__main__":
    main()
