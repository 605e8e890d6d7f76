"""A database of the national benchmark's dataset for its query part, built faster.

`ess-atlas import` of the generated CSV (lat/lon given) with the grid aggregates left out
of every batch, then rebuilt once from the table (`aggregates.rebuild`): the same rows,
indexes and aggregates as a plain import, without keeping the aggregates in step per batch.

    ESS_DATABASE_URL=sqlite:////path/atlas.sqlite3 python bench/build_database.py 1000000
"""

from __future__ import annotations

import sys
import time

import generate

from app import aggregates
from app.cli import cli
from app.config import Settings
from app.db import make_engine


def main() -> None:
    """Import the cached dataset of N rows, then rebuild the aggregates."""
    dataset = generate.cached_dataset(int(sys.argv[1]))
    started = time.perf_counter()
    kept = aggregates.add, aggregates.subtract
    aggregates.add = aggregates.subtract = lambda connection, ids: None  # type: ignore[assignment]
    try:
        # The report goes beside the dataset, not into whatever folder this runs from.
        cli(["import", str(dataset.csv), "--report-dir", str(dataset.folder / "import-reports")],
            standalone_mode=False)
    finally:
        aggregates.add, aggregates.subtract = kept
    print(f"imported in {time.perf_counter() - started:.0f} s", flush=True)
    with make_engine(Settings().database_url).begin() as connection:
        aggregates.rebuild(connection)
    print(f"aggregates rebuilt, {time.perf_counter() - started:.0f} s in all", flush=True)


if __name__ == "__main__":
    main()
