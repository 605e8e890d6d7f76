"""The floor of an import into one SQLite file: what SQLite alone spends on rows already made.

An import writes each structure into the organisation table and its B-tree indexes, the
R*Tree, the FTS5 trigram index, the sector links, the grid and area aggregates and the
duplicate check's filed names (issue #8, items 1, 3 and 4; the import issue's duplicate
check). This copies those rows from a database an import made into a fresh file with the
app's schema, one set-based statement per part, no Python per row, and times each part
(wall, and CPU of this process, where SQLite runs). Their sum is the least time any import
writing that file can take for those rows on this machine, before reading, checking and
placing a single row; the rate it allows is printed beside the issue's target and beside
ogr2ogr loading the same CSV into SQLite (the anchor), run in the same process tree.

SQLite has one writer per file, and a transaction spanning several attached files is not
atomic in WAL mode, so these parts cannot run side by side on the two cores while the
indexes stay in step with the table inside each transaction (item 1).

    python bench/bench_import_floor.py [--sizes 100000] [--database PATH] [--no-record]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import bench_exports
import bench_national
import generate
from harness import append_section, sizes_wanted
from sqlalchemy import Engine

from app import aggregates
from app.config import Settings
from app.db import BULK_WRITE_PRAGMAS, open_database, sqlite_pragmas
from app.dialects import strategy_for
from app.dialects.sqlite import FTS_SETTINGS

DEFAULT_SIZES = "100000"
TARGET_ROWS_PER_SECOND = 25_000
# The tables copied as they are, after the organisation table (their own indexes with them).
COPIED = ("organisation_category", "duplicate_name")
Part = tuple[str, float, float]  # (what, wall s, CPU s)


def _timed(parts: list[Part], name: str, work: Callable[[], object]) -> None:
    """Run `work`, adding (name, wall, CPU) to `parts`."""
    started = _now()
    work()
    _record(parts, name, started)


def _now() -> tuple[float, float]:
    """(wall, CPU of this process) now."""
    return time.perf_counter(), time.process_time()


def _record(parts: list[Part], name: str, started: tuple[float, float]) -> None:
    """Add (name, wall and CPU since `started`) to `parts`, and print it."""
    wall, cpu = _now()
    parts.append((name, wall - started[0], cpu - started[1]))
    print(f"  {name}: {parts[-1][1]:.1f} s wall, {parts[-1][2]:.1f} s CPU", flush=True)


def _columns(connection: sqlite3.Connection, table: str) -> str:
    """The columns of a table of the fresh file, comma-separated."""
    return ", ".join(row[1] for row in connection.execute(f"PRAGMA main.table_info({table})"))


def _at_head(database: Path) -> Engine:
    """The engine of a database at this build's schema (upgraded if older, as `serve` does)."""
    return open_database(Settings(database_url=f"sqlite:///{database}",
                                  load_default_directory=False), migrate=True)


def floor_parts(source: Path, folder: Path) -> tuple[list[Part], int]:
    """Copy the source's rows into a fresh database, part by part; (parts, rows).

    A source made by an older build is upgraded first, so that both have the same columns.
    """
    _at_head(source).dispose()
    engine = _at_head(folder / "floor.sqlite3")
    parts: list[Part] = []
    try:
        with engine.connect() as connection, sqlite_pragmas(connection, BULK_WRITE_PRAGMAS):
            raw = connection.connection.driver_connection
            assert isinstance(raw, sqlite3.Connection)
            raw.execute("ATTACH DATABASE ? AS source", (str(source),))
            rows = int(raw.execute("SELECT count(*) FROM source.organisation").fetchone()[0])

            def copy(table: str) -> Callable[[], object]:
                names = _columns(raw, table)
                return lambda: raw.execute(f"INSERT INTO main.{table} ({names}) "
                                           f"SELECT {names} FROM source.{table}")

            raw.execute("BEGIN")
            # The R*Tree and FTS5 triggers stand aside, as in an import's batch, and the
            # two are filled set-based on the way out of the block, timed apart.
            with strategy_for("sqlite").bulk_indexing(connection, 0):
                _timed(parts, "rows + the organisation table's B-tree indexes",
                       copy("organisation"))
                fills = _now()
            _record(parts, "R*Tree and FTS5 trigram fills", fills)
            for table in COPIED:
                _timed(parts, f"{table} (+ its indexes)", copy(table))
            _timed(parts, "grid and area aggregates (aggregates.rebuild)",
                   lambda: aggregates.rebuild(connection))
            _timed(parts, "commit", raw.commit)
            _timed(parts, "checkpoint", lambda: raw.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
            raw.execute("DETACH DATABASE source")
    finally:
        engine.dispose()
    return parts, rows


def _fts_alone(folder: Path) -> list[Part]:
    """FTS5's own share: the same documents indexed again, alone, with full and no detail.

    With the app's FTS5 settings. detail=none is the cheapest trigram index FTS5 makes (no
    positions: it refuses phrase queries, so a substring would need checking against
    every candidate row).
    """
    parts: list[Part] = []
    with sqlite3.connect(folder / "floor.sqlite3") as connection:
        connection.execute(f"PRAGMA cache_size = {BULK_WRITE_PRAGMAS['cache_size']}")
        for detail in ("full", "none"):
            name = f"fts_{detail}"
            connection.execute(f"CREATE VIRTUAL TABLE {name} USING fts5(document, "
                               f"content='organisation_document', content_rowid='id', "
                               f"tokenize='trigram', detail={detail})")
            for setting, value in FTS_SETTINGS.items():
                connection.execute(f"INSERT INTO {name}({name}, rank) VALUES (?, ?)",
                                   (setting, value))
            started = _now()
            connection.execute(f"INSERT INTO {name}({name}) VALUES ('rebuild')")
            connection.commit()
            _record(parts, f"for comparison: FTS5 trigram alone, detail={detail}", started)
    return parts


def _rows(parts: list[Part]) -> list[str]:
    """Table rows of timed parts."""
    return [f"| {name} | {wall:.1f} | {cpu:.1f} |" for name, wall, cpu in parts]


def table(parts: list[Part], rows: int, anchor: bench_national.Loaded,
          fts: list[Part]) -> list[str]:
    """The parts, their sum and the rates they allow, beside the target and ogr2ogr."""
    wall = sum(part[1] for part in parts)
    target_seconds = rows / TARGET_ROWS_PER_SECOND
    anchor_seconds = anchor.run.seconds
    lines = [f"| part (N = {rows:,}) | wall s | CPU s |", "|---|---:|---:|",
             *_rows(parts),
             f"| **sum: the floor** | **{wall:.1f}** | **{sum(p[2] for p in parts):.1f}** |",
             *_rows(fts), "",
             "| | seconds for N rows | rows/s |", "|---|---:|---:|",
             f"| the floor (SQLite alone, rows made) | {wall:.1f} | {rows / wall:,.0f} |",
             f"| the issue's import target | {target_seconds:.1f} | "
             f"{TARGET_ROWS_PER_SECOND:,} |",
             f"| {anchor.name} (no index but its own) | {anchor_seconds:.1f} | "
             f"{rows / anchor_seconds:,.0f} |"]
    return lines


def measure(source: Path, csv: Path, work: Path) -> list[str]:
    """The floor of `source`'s rows and ogr2ogr's load of `csv`, in one run."""
    with tempfile.TemporaryDirectory(dir=work) as name:
        folder = Path(name)
        print(f"floor of {source} ...", flush=True)
        parts, rows = floor_parts(source, folder)
        fts = _fts_alone(folder)
        anchor = bench_national.ogr2ogr_load(csv, folder / "ogr.sqlite", "SQLite", folder, rows)
        print(f"  {bench_national.describe_load(anchor)}", flush=True)
    return table(parts, rows, anchor, fts)


def main() -> None:
    """Measure the floor at each size (or of a given database), print it, record it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help=f"comma-separated N (default BENCH_FLOOR_SIZES or "
                        f"{DEFAULT_SIZES})")
    parser.add_argument("--database", type=Path, help="a database bench/build_database.py "
                        "made of the generated CSV of --sizes N (instead of importing it)")
    parser.add_argument("--no-record", action="store_true", help="do not touch results.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    work = bench_exports.WORK
    work.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    for size in sizes_wanted(args.sizes, "BENCH_FLOOR_SIZES", DEFAULT_SIZES):
        source = args.database.resolve() if args.database else bench_exports.database_for(size)
        lines += [*measure(source, generate.cached_dataset(size).csv, work), ""]
    lines.append(f"Parts run one after the other in one transaction, as an import's batch; "
                 f"cache and WAL settings of an import (db.BULK_WRITE_PRAGMAS); 1-minute load "
                 f"average {load:.1f} before → {os.getloadavg()[0]:.1f} after.")
    print("\n".join(lines))
    if not args.no_record:
        append_section("Import floor: SQLite alone on rows already made, beside ogr2ogr", lines)


if __name__ == "__main__":
    main()
