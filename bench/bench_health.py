"""Health check cost: SQLite quick_check and GET /healthz's work over a large directory.

Fills a fresh SQLite file with N synthetic structures (as bench_api.py does), then times
`PRAGMA quick_check(1)` on a fresh connection (median of 3), the schema check, and the
calls of DatabaseHealth.problems() while a background integrity check runs. Prints a
table and appends its rows to bench/results.md.

    python bench/bench_health.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_api import fill, print_and_record  # noqa: E402

from app.db import make_engine  # noqa: E402
from app.health import DatabaseHealth, integrity_problem, schema_problems  # noqa: E402


def timed_ms(action: object) -> float:
    """Milliseconds one call of `action` takes."""
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite3"
        url = f"sqlite:///{path}"
        fill(url, args.rows)
        checker = create_engine(url, poolclass=NullPool)
        quick = statistics.median(timed_ms(lambda: integrity_problem(checker)) for _ in range(3))
        engine = make_engine(url)
        schema = statistics.median(timed_ms(lambda: schema_problems(engine)) for _ in range(5))
        health = DatabaseHealth(engine, integrity_interval=60)
        first = timed_ms(health.problems)
        later = statistics.median(timed_ms(health.problems) for _ in range(20))
        size = path.stat().st_size / 2**20
    rows = [(f"PRAGMA quick_check, {args.rows} rows ({size:.0f} MiB), median", quick, "ms"),
            (f"health schema check, {args.rows} rows, median", schema, "ms"),
            (f"/healthz work, call starting the integrity check, {args.rows} rows", first, "ms"),
            (f"/healthz work, later calls, {args.rows} rows, median", later, "ms")]
    print_and_record(rows, no_record=args.no_record)


if __name__ == "__main__":
    main()
