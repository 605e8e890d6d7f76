"""Cluster and facet views of a built database, in-process: wall and CPU ms per call.

Calls `summaries.clusters` and `summaries.facets` as the routers do, on a SQLite file
opened read-only, a first call then `--repeat` more; prints the median wall and CPU
(process_time: SQLite runs in-process) milliseconds of the repeated calls. `--answers
FILE` writes every answer as JSON, so that two builds of the code can be compared on the
same data (run with PYTHONPATH set to another checkout to measure its code).

    python bench/bench_summaries.py DATABASE [--repeat 7] [--answers FILE] [--no-record]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session

from app import summaries
from app.config import Settings
from app.db import make_engine
from app.queries import BBox, OrganisationFilter
from app.taxonomy import load_taxonomy

PARIS_ZOOM_12 = BBox(2.1723, 48.6600, 2.5239, 49.0115)
FACETS_BOX = BBox(2.2345, 48.8098, 3.2345, 49.8098)
Call = Callable[[Session], Any]


def _cluster_answer(view: summaries.ClusterView) -> dict[str, Any]:
    """A cluster view as plain values: level, total, each cluster's tally, the singles' ids."""
    return {"level": view.level, "number_matched": view.number_matched,
            "singles": [row["id"] for row in view.singles],
            "clusters": [[c.cx, c.cy, c.tally.n, c.tally.sum_id, c.tally.sum_lat_e6,
                          c.tally.sum_lon_e6, c.tally.min_lat, c.tally.min_lon, c.tally.max_lat,
                          c.tally.max_lon, dict(sorted(c.tally.sectors.items()))]
                         for c in view.clusters]}


def _queries(sectors: list[str]) -> dict[str, Call]:
    """The views measured, by name."""
    def clusters(filters: OrganisationFilter, zoom: int) -> Call:
        return lambda session: _cluster_answer(summaries.clusters(
            session=session, filters=filters, zoom=zoom))

    def facets(filters: OrganisationFilter) -> Call:
        return lambda session: vars(summaries.facets(session=session, filters=filters,
                                                     sectors=sectors))

    return {
        "clusters Paris zoom 12, no filter": clusters(OrganisationFilter(bbox=PARIS_ZOOM_12), 12),
        "clusters Paris zoom 12, category=alimentation": clusters(
            OrganisationFilter(bbox=PARIS_ZOOM_12, categories=("alimentation",)), 12),
        "facets 2.2345,48.8098,3.2345,49.8098": facets(OrganisationFilter(bbox=FACETS_BOX)),
    }


def _measure(session: Session, call: Call, repeat: int) -> tuple[Any, float, float, float]:
    """The answer, the first call's wall ms, median wall and CPU ms of `repeat` more."""
    started = time.perf_counter()
    answer = call(session)
    first = (time.perf_counter() - started) * 1000
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        call(session)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return answer, first, statistics.median(walls), statistics.median(cpus)


def main() -> None:
    """Measure each view once per run and print (and record) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--answers", type=Path, help="write the answers here as JSON")
    parser.add_argument("--label", default="", help="what this run measures (code, data)")
    parser.add_argument("--no-record", action="store_true", help="do not touch results.md")
    args = parser.parse_args()
    engine = make_engine(f"sqlite:///file:{args.database.resolve()}?mode=ro&uri=true")
    sectors = [category.slug for category in load_taxonomy(Settings().categories_yaml).categories]
    answers: dict[str, Any] = {}
    lines = [f"{args.label} ({summaries.__file__}), load average {os.getloadavg()[0]:.1f}", "",
             "| view | answer | first ms | p50 wall ms | p50 CPU ms |", "|---|---:|---:|---:|---:|"]
    with Session(engine) as session:
        for name, call in _queries(sectors).items():
            answer, first, wall, cpu = _measure(session, call, args.repeat)
            answers[name] = answer
            lines.append(f"| {name} | {answer['number_matched']:,} | {first:.1f} | {wall:.1f} "
                         f"| {cpu:.1f} |")
    engine.dispose()
    print("\n".join(lines))
    if args.answers:
        args.answers.write_text(json.dumps(answers, default=str))
    if not args.no_record:
        from harness import append_section  # psutil: installed with the bench tools only

        append_section("Cluster and facet views in-process (bench_summaries.py)", lines)


if __name__ == "__main__":
    main()
