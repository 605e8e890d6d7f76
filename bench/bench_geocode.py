"""Benchmark the address geocoding path: batch CSV through a local addok, and cache hits.

Starts the same loopback addok + Redis as the tests (tests/geocode/addok_service.py),
indexed with tests/fixtures/addok/addresses.ndjson, then:

- pushes 10,000 addresses through BanGeocoder.geocode_many (/search/csv, 1,000 a chunk);
- sends 500 single /search requests (rate limit lifted: it is our own server);
- reads 10,000 answers back from a GeocodeCache (SQLite file) and through a
  GeocoderChain whose every precise answer is a cache hit.

Prints a table and appends its rows to bench/results.md.

    .venv/bin/python bench/bench_geocode.py [--rows 10000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests" / "geocode"))

from addok_service import FIXTURE_NDJSON, AddokService  # noqa: E402

from geocode.ban import BanGeocoder, BanOptions  # noqa: E402
from geocode.base import AddressQuery, GeocodeError, GeocodeResult  # noqa: E402
from geocode.cache import CachedAnswer, GeocodeCache  # noqa: E402
from geocode.chain import GeocoderChain  # noqa: E402
from geocode.gazetteer import default_gazetteer  # noqa: E402
from geocode.reverse import default_reverse_index  # noqa: E402

RESULTS = REPO_ROOT / "bench" / "results.md"
HEADER = "| benchmark | value | unit | date |\n|---|---|---|---|\n"
SINGLE_REQUESTS = 500


@dataclass(frozen=True)
class Measure:
    benchmark: str
    value: float
    unit: str


def fixture_addresses(ndjson: Path) -> list[AddressQuery]:
    """Every housenumber of the fixture as a directory row would spell it."""
    queries: list[AddressQuery] = []
    for line in ndjson.read_text(encoding="utf-8").splitlines():
        doc = json.loads(line)
        for number in doc.get("housenumbers", {}):
            street = f"{number} {doc['name']}"
            queries.append(AddressQuery(street=street, postcode=doc["postcode"], city=doc["city"]))
            queries.append(
                AddressQuery(street=street.lower(), city=doc["city"], citycode=doc["citycode"])
            )
    return queries


def workload(rows: int) -> list[AddressQuery]:
    """`rows` queries cycling through the fixture addresses."""
    return list(itertools.islice(itertools.cycle(fixture_addresses(FIXTURE_NDJSON)), rows))


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def bench_batch(
    base_url: str, queries: Sequence[AddressQuery]
) -> tuple[list[Measure], list[GeocodeResult | GeocodeError]]:
    answers: list[GeocodeResult | GeocodeError] = []
    with BanGeocoder(base_url) as ban:
        seconds = timed(lambda: answers.extend(ban.geocode_many(queries)))
    found = sum(isinstance(answer, GeocodeResult) for answer in answers)
    measures = [
        Measure(f"addok /search/csv batch, {len(queries)} rows", len(queries) / seconds, "rows/s"),
        Measure("addok /search/csv batch, rows found", 100.0 * found / len(queries), "%"),
    ]
    return measures, answers


def bench_single(base_url: str, queries: Sequence[AddressQuery]) -> list[Measure]:
    sample = queries[:SINGLE_REQUESTS]
    with BanGeocoder(base_url, BanOptions(requests_per_second=100_000)) as ban:
        seconds = timed(lambda: [ban.geocode(query) for query in sample])
    return [
        Measure(f"addok /search single, {len(sample)} requests", len(sample) / seconds, "req/s")
    ]


def bench_cache(
    workdir: Path, answers: Sequence[tuple[AddressQuery, CachedAnswer]]
) -> list[Measure]:
    with GeocodeCache(workdir / "bench-cache.sqlite3") as cache:
        write = timed(lambda: cache.put_many("ban:bench", answers))
        read = timed(lambda: [cache.get(query, "ban:bench") for query, _ in answers])
        chain = bench_chain_hits(cache, [query for query, _ in answers])
    return [
        Measure(f"cache put_many, {len(answers)} answers", len(answers) / write, "rows/s"),
        Measure(f"cache get hits, {len(answers)} lookups", len(answers) / read, "lookups/s"),
        *chain,
    ]


def bench_chain_hits(cache: GeocodeCache, queries: Sequence[AddressQuery]) -> list[Measure]:
    """GeocoderChain.geocode when every precise answer is already cached."""
    gazetteer = default_gazetteer()
    measures: list[Measure] = []
    for label, reverse in (("", None), (" + reverse check", default_reverse_index())):
        chain = GeocoderChain(cache, CacheOnly(), gazetteer, reverse)
        seconds = timed(partial(geocode_all, chain, queries))
        benchmark = f"chain geocode, cache hits{label}, {len(queries)} lookups"
        measures.append(Measure(benchmark, len(queries) / seconds, "lookups/s"))
    return measures


def geocode_all(chain: GeocoderChain, queries: Sequence[AddressQuery]) -> None:
    for query in queries:
        chain.geocode(query)


class CacheOnly:
    """Stands where BAN would be; never asked, since every answer is cached under its name."""

    identity = "ban:bench"
    source = "ban"

    def geocode(self, query: AddressQuery) -> GeocodeResult:
        raise AssertionError(f"cache miss for {query}")


def distinct_cached_answers(
    queries: Sequence[AddressQuery], answers: Sequence[GeocodeResult | GeocodeError], rows: int
) -> list[tuple[AddressQuery, CachedAnswer]]:
    """`rows` distinct queries, each with its own address's answer (repeats fold into one key)."""
    found = [
        (query, answer)
        for query, answer in zip(queries, answers, strict=True)
        if isinstance(answer, GeocodeResult)
    ]
    return [
        (replace(query, street=f"{query.street} #{index}"), answer)
        for index, (query, answer) in zip(range(rows), itertools.cycle(found))
    ]


def report(measures: Sequence[Measure]) -> None:
    today = date.today().isoformat()
    width = max(len(measure.benchmark) for measure in measures)
    for measure in measures:
        print(f"{measure.benchmark:<{width}}  {measure.value:>12,.1f}  {measure.unit}")
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\n" + HEADER, encoding="utf-8")
    with RESULTS.open("a", encoding="utf-8") as results:
        for measure in measures:
            results.write(
                f"| {measure.benchmark} | {measure.value:.1f} | {measure.unit} | {today} |\n"
            )


def set_up_timings(service: AddokService) -> Iterator[Measure]:
    timings = service.timings
    if timings.venv_install:
        yield Measure("addok venv install (pip)", timings.venv_install, "s")
    yield Measure("addok batch import of the fixture", timings.batch_import, "s")
    yield Measure("addok ngrams", timings.ngrams, "s")
    yield Measure("addok serve start-up", timings.startup, "s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="addresses per benchmark")
    args = parser.parse_args()
    queries = workload(args.rows)
    with (
        tempfile.TemporaryDirectory(prefix="bench-geocode-") as tmp,
        AddokService(FIXTURE_NDJSON, Path(tmp) / "addok") as service,
    ):
        measures = [*set_up_timings(service)]
        batch_measures, answers = bench_batch(service.base_url, queries)
        measures += batch_measures
        measures += bench_single(service.base_url, queries)
        measures += bench_cache(Path(tmp), distinct_cached_answers(queries, answers, args.rows))
    report(measures)


if __name__ == "__main__":
    main()
