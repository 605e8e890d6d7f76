"""Counts per région / département: the kept-in-step table against the full GROUP BY.

Fills a fresh SQLite file with N synthetic structures (bench_api's rows), lets the app
build its aggregates, then times, in one process on the same file:

- before: the GROUP BY region / departement over the organisation table (/api/regions
  before organisation_area), the anchor;
- after: `area_totals.area_counts` for the same filters (no filter, one sector, a legal
  form) and for a text (counted live, as before);
- the write cost: the area upkeep of one 5,000-row batch, beside the whole grid upkeep.

    python bench/bench_choropleth.py [--rows 100000] [--repeat 20] [--no-record]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_api import fill  # noqa: E402

from app import aggregates, area_counts  # noqa: E402
from app.area_totals import area_counts as counts_per_area  # noqa: E402
from app.db import create_schema, make_engine  # noqa: E402
from app.models import Organisation  # noqa: E402
from app.queries import OrganisationFilter  # noqa: E402

RESULTS = REPO / "bench" / "results.md"
BATCH = 5000
FILTERS = {
    "no filter": OrganisationFilter(),
    "one sector (habitat)": OrganisationFilter(categories=("habitat",)),
    "two sectors": OrganisationFilter(categories=("habitat", "alimentation")),
    "text q=solidaire 42 (live)": OrganisationFilter(text="solidaire 42"),
}


def timed(action: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of `action`."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def group_by_scan(session: Session) -> dict[str, int]:
    """The anchor: /api/regions' counts before organisation_area (two GROUP BY scans)."""
    found = {}
    for column in (Organisation.region, Organisation.departement):
        query = select(column, func.count()).where(column.is_not(None)).group_by(column)
        found.update({str(v): int(n) for v, n in session.exec(query).all()})  # type: ignore[call-overload]
    return found


def upkeep_ms(engine: object, repeat: int) -> tuple[float, float]:
    """Median ms to add one batch to the area counts, and to the whole grid + areas."""
    ids = list(range(1, BATCH + 1))
    condition = Organisation.__table__.c.id.between(1, BATCH)  # type: ignore[attr-defined]
    areas, whole = [], []
    for _ in range(repeat):
        with (engine.connect() as connection,  # type: ignore[attr-defined]
              connection.begin() as transaction):
            started = time.perf_counter()
            area_counts.apply(connection, condition, 1, aggregates._area_dimensions())
            areas.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            aggregates.add(connection, ids)
            whole.append((time.perf_counter() - started) * 1000)
            transaction.rollback()
    return statistics.median(areas), statistics.median(whole)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        fill(url, args.rows)
        engine = make_engine(url)
        create_schema(engine)
        aggregates.ensure(engine)
        with Session(engine) as session:
            anchor = timed(lambda: group_by_scan(session), args.repeat)
            lines.append(("GROUP BY region, departement (before)", anchor))
            for name, filters in FILTERS.items():
                lines.append((f"area_counts, {name}", timed(
                    lambda f=filters: counts_per_area(session=session, filters=f), args.repeat)))
        area_ms, whole_ms = upkeep_ms(engine, max(3, args.repeat // 4))
        lines.append((f"upkeep of one {BATCH}-row batch: area counts", area_ms))
        lines.append((f"upkeep of one {BATCH}-row batch: grid + area counts", whole_ms))
        engine.dispose()
    report(lines, args.rows, no_record=args.no_record)


def report(lines: list[tuple[str, float]], rows: int, *, no_record: bool) -> None:
    """Print the table; append it to results.md unless told not to."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    table = [f"## Counts per région / département (bench_choropleth.py), {stamp}", "",
             f"{rows:,} structures, median of repeated runs in one process; shared 2-core "
             "machine, numbers noisy.", "", "| what | median ms |", "|---|---:|"]
    table += [f"| {name} | {ms:,.1f} |" for name, ms in lines]
    print("\n".join(table))
    if not no_record:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write("\n" + "\n".join(table) + "\n")


if __name__ == "__main__":
    main()
