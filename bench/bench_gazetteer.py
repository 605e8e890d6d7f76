"""Benchmark the offline gazetteer and reverse index; print a table, append to results.md.

Run from the repository root:  .venv/bin/python bench/bench_gazetteer.py
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from geocode.base import GeocodeError
from geocode.gazetteer import Commune, Gazetteer
from geocode.normalize import fold
from geocode.reverse import ReverseIndex

RESULTS = Path(__file__).resolve().parent / "results.md"
HEADER = "| benchmark | value | unit | date |\n|---|---|---|---|\n"
SEED = 20240209
SAMPLE = 3000
Query = tuple[str | None, str | None]
Row = tuple[str, float, str]


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def variants(commune: Commune) -> list[Query]:
    """The ways a commune is written in real CSV files."""
    postcode = commune.postcodes[0] if commune.postcodes else None
    abbreviated = commune.name.replace("Saint-", "St ").replace("Sainte-", "Ste ")
    return [
        (postcode, commune.name),
        (postcode, fold(commune.name).upper()),
        (postcode, abbreviated.lower()),
        (postcode.lstrip("0") if postcode else None, commune.name.replace("-", " ")),
        (postcode, None),
        (None, commune.name),
    ]


def find_queries(gazetteer: Gazetteer) -> list[Query]:
    """A shuffled mix of variants of sampled communes, arrondissements and CEDEX codes."""
    chooser = random.Random(SEED)
    queries = [q for c in chooser.sample(list(gazetteer), SAMPLE) for q in variants(c)]
    queries += [(None, "Paris 19e"), ("75019", "Paris"), (None, "Paris XIXe"),
                ("13001", "Marseille"), (None, "Lyon 8e"), ("75700", "Paris Cedex 07")] * 50
    chooser.shuffle(queries)
    return queries


def find_all(gazetteer: Gazetteer, queries: Sequence[Query]) -> int:
    """Run every query; return how many were refused (ambiguous or unknown)."""
    refused = 0
    for postcode, city in queries:
        try:
            gazetteer.find(postcode, city)
        except GeocodeError:
            refused += 1
    return refused


def reverse_points(gazetteer: Gazetteer) -> list[tuple[float, float]]:
    """Commune points jittered by up to ~1 km, plus one in ten out at sea."""
    chooser = random.Random(SEED)
    points = [(c.lat + chooser.uniform(-0.01, 0.01), c.lon + chooser.uniform(-0.01, 0.01))
              for c in chooser.sample(list(gazetteer), 20_000)]
    points += [(chooser.uniform(44.0, 47.0), chooser.uniform(-6.0, -3.0)) for _ in range(2_000)]
    return points


def measure() -> list[Row]:
    """Every benchmark row: (name, value, unit)."""
    rows: list[Row] = []
    gazetteer: list[Gazetteer] = []
    rows.append(("gazetteer load", timed(lambda: gazetteer.append(Gazetteer.load())) * 1000, "ms"))
    index: list[ReverseIndex] = []
    load = timed(lambda: index.append(ReverseIndex.load(gazetteer=gazetteer[0])))
    rows.append(("reverse index load (polygons + STRtree)", load * 1000, "ms"))
    rows += measure_find(gazetteer[0])
    points = reverse_points(gazetteer[0])
    elapsed = timed(lambda: [index[0].locate(lat, lon) for lat, lon in points])
    rows.append(("ReverseIndex.locate", len(points) / elapsed, "points/s"))
    searches = ["Montreuil", "93100", "saint etienne", "Paris 19", "bor", "Lyon"] * 200
    elapsed = timed(lambda: [gazetteer[0].search(text) for text in searches])
    rows.append(("Gazetteer.search (10 results)", len(searches) / elapsed, "searches/s"))
    return rows


def measure_find(gazetteer: Gazetteer) -> list[Row]:
    """find() over the mix once, then five times more (names cached, as in a real import)."""
    queries = find_queries(gazetteer)
    refused: list[int] = []
    cold = timed(lambda: refused.append(find_all(gazetteer, queries)))
    warm = timed(lambda: [find_all(gazetteer, queries) for _ in range(5)])
    return [
        ("Gazetteer.find, each query once", len(queries) / cold, "lookups/s"),
        ("Gazetteer.find, repeated names", 5 * len(queries) / warm, "lookups/s"),
        ("Gazetteer.find refused (ambiguous/unknown) in the mix", 100 * refused[0] / len(queries),
         "%"),
    ]


def report(rows: list[Row]) -> None:
    """Print the table and append its rows to results.md."""
    table = Table(title="gazetteer and reverse index")
    for column in ("benchmark", "value", "unit"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for name, value, unit in rows:
        table.add_row(name, f"{value:,.1f}", unit)
    Console().print(table)
    today = datetime.date.today().isoformat()
    if not RESULTS.exists():
        RESULTS.write_text(HEADER, encoding="utf-8")
    with RESULTS.open("a", encoding="utf-8") as results:
        results.writelines(f"| {name} | {value:.1f} | {unit} | {today} |\n"
                           for name, value, unit in rows)


if __name__ == "__main__":
    report(measure())
