"""National benchmark (issue 8): ess-atlas against pygeoapi 0.21 on the same synthetic data.

For each size N (default 100,000 and 1,000,000; `BENCH_SIZES=100000` or `--sizes` for a
quick run):

1. the dataset of bench/generate.py, cached under var/bench/data/ (by N, seed, version);
2. `ess-atlas import` of the CSV with lat/lon, then of the same rows without lat/lon
   (commune-level geocoding), each into an empty SQLite file: rows/s, peak RSS of the
   largest process (exact, wait4) and of the whole process tree (sampled every 50 ms);
3. the anchor: `ogr2ogr` loading the same CSV (points from lat/lon) into SQLite and into a
   GeoPackage (with its R-tree), same measures;
4. pygeoapi (own venv, OGR provider on the GeoPackage, gunicorn -w 2) and `ess-atlas serve`
   (`--workers N` when the command has it) on free loopback ports, then the same wrk
   queries against both (8 connections, 2 threads, 15 s each, after a 2 s warm-up, in 3
   runs of 5 s, the servers taking turns; wrk sends `Accept-Encoding: gzip` like a
   browser). ess-atlas-only queries follow. A route that does not answer 200 (e.g.
   /api/clusters before it exists) shows "n/a (HTTP 404)".

`--import-only` (or `BENCH_IMPORT_ONLY=1`) stops after step 3: the import table alone, with
the 1-minute load average before and after each load beside its figures. `--database PATH`
skips steps 2-3 and runs the query part on a database already built from the same dataset
(one size; bench/build_database.py builds it); the database is kept.

Prints the tables and appends them to bench/results.md with the date, machine and commit.
The databases are deleted after each size; the servers' logs stay in var/bench/logs/N/.

    python bench/bench_national.py [--sizes 100000,1000000] [--seconds 15] [--rounds 3]
                                   [--no-record] [--import-only] [--queries item,page]

`--queries` keeps the queries whose name contains one of the comma-separated words
(case ignored; "item" keeps "item by random id" and both "OGC items" queries).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import generate
import httpx
import pygeoapi_anchor
from harness import (
    ATLAS_READY_PATH,
    ESS_ATLAS,
    REPO,
    Measured,
    Server,
    WrkResult,
    append_section,
    combined,
    ess_atlas_env,
    free_port,
    human_bytes,
    run_measured,
    serve_options,
    server,
    settle,
    sizes_wanted,
    stop_on_sigterm,
    wrk,
)

WORK = REPO / "var" / "bench" / "national"
LOGS = REPO / "var" / "bench" / "logs"
DEFAULT_SIZES = "100000,1000000"
# The item query samples this many ids.
MIN_SIZE = 1000
FRANCE_BBOX = "-5.5,41.2,9.8,51.2"
PARIS_BBOX = "2.25,48.81,2.42,48.90"
PARIS = "lat=48.8566&lon=2.3522"
SECTOR = "alimentation"
SEARCH_HIT, SEARCH_MISS = "ressourcerie", "xylophone"
ROTATED_IDS = 1000
WARM_UP_SECONDS = 2
# A query's seconds are split into this many runs per server, the two servers taking
# turns (ours first in the odd rounds, theirs in the even ones): on a shared machine whose speed
# drifts over minutes, both then meet the same drift, and the rounds show the spread.
DEFAULT_ROUNDS = 3
GZIP = "Accept-Encoding: gzip"
ITEMS = f"/collections/{pygeoapi_anchor.COLLECTION}/items"


@dataclass(frozen=True)
class Query:
    """One wrk query: its ess-atlas path, its pygeoapi path (None: no anchor), a target."""

    name: str
    ess_atlas: str
    pygeoapi: str | None = None
    target: str = ""


QUERIES = (
    Query("first page, limit 100", "/api/organisations?limit=100",
          f"{ITEMS}?f=json&limit=100", "≥ 5× pygeoapi"),
    Query("Paris bbox, limit 100", f"/api/organisations?bbox={PARIS_BBOX}&limit=100",
          f"{ITEMS}?f=json&bbox={PARIS_BBOX}&limit=100", "≥ 5× pygeoapi"),
    Query(f"one category ({SECTOR}), limit 100", f"/api/organisations?category={SECTOR}&limit=100",
          f"{ITEMS}?f=json&sector={SECTOR}&limit=100", "≥ 5× pygeoapi"),
    Query("item by random id", "/api/organisations/{id}", ITEMS + "/{id}?f=json",
          "≥ 5× pygeoapi"),
    Query("OGC items, first page, limit 100", f"/ogc{ITEMS}?f=json&limit=100",
          f"{ITEMS}?f=json&limit=100", "≥ 5× pygeoapi"),
    Query("OGC items, Paris bbox, limit 100", f"/ogc{ITEMS}?f=json&bbox={PARIS_BBOX}&limit=100",
          f"{ITEMS}?f=json&bbox={PARIS_BBOX}&limit=100", "≥ 5× pygeoapi"),
    Query("France viewport, limit 5000", f"/api/organisations?bbox={FRANCE_BBOX}&limit=5000",
          f"{ITEMS}?f=json&bbox={FRANCE_BBOX}&limit=5000"),
    Query("nearby 10 km around Paris, limit 100", f"/api/nearby?{PARIS}&radius_km=10&limit=100",
          target="p50 < 10 ms"),
    Query("clusters, France, no filter", f"/api/clusters?bbox={FRANCE_BBOX}&zoom=6",
          target="p50 < 50 ms, < 100 KB raw"),
    Query(f"clusters, France, category={SECTOR}",
          f"/api/clusters?bbox={FRANCE_BBOX}&zoom=6&category={SECTOR}",
          target="p50 < 50 ms, < 100 KB raw"),
    Query(f"text search, hit (q={SEARCH_HIT}), limit 100",
          f"/api/organisations?q={SEARCH_HIT}&limit=100", target="p50 < 20 ms"),
    Query(f"text search, no hit (q={SEARCH_MISS}), limit 100",
          f"/api/organisations?q={SEARCH_MISS}&limit=100", target="p50 < 20 ms"),
    Query("facets, France", f"/api/facets?bbox={FRANCE_BBOX}"),
)


@dataclass(frozen=True)
class Outcome:
    """One query against one server: the probe's answer, then wrk's figures if it was 200."""

    status: int
    raw_bytes: int
    wire_bytes: int
    load: WrkResult | None
    alone_ms: float
    refusal: str = ""
    first_ms: float = 0.0  # the very first request (cold: nothing kept yet)
    load_average: float | None = None  # 1-minute load average as wrk started
    rounds: tuple[WrkResult, ...] = ()  # the runs `load` is made of, in order


@dataclass(frozen=True)
class Loaded:
    """One load of the dataset (an import or an ogr2ogr run)."""

    name: str
    rows: int
    run: Measured
    rejected: int | None = None
    duplicates: int | None = None
    load_average: str = ""


def queries_wanted(argument: str | None) -> tuple[Query, ...]:
    """The queries whose name contains one of the comma-separated words (all without any)."""
    words = [word.strip().lower() for word in (argument or "").split(",") if word.strip()]
    chosen = tuple(query for query in QUERIES
                   if not words or any(word in query.name.lower() for word in words))
    if not chosen:
        raise SystemExit(f"no query name contains any of {words}; names: "
                         + "; ".join(query.name for query in QUERIES))
    return chosen


# --- loading ------------------------------------------------------------------------


def ess_atlas_import(csv: Path, database: Path, folder: Path, name: str, rows: int) -> Loaded:
    """`ess-atlas import --json` into `database` (deleted first), measured."""
    database.unlink(missing_ok=True)
    command = [ESS_ATLAS, "import", str(csv), "--json", "--report-dir", str(folder / "reports")]
    before = os.getloadavg()[0]
    run = run_measured(command, env=ess_atlas_env(database), folder=folder, name=name)
    if run.returncode not in (0, 1):
        raise RuntimeError(f"{name} failed ({run.returncode}): {run.stderr.read_text()[-3000:]}")
    report = json.loads(run.stdout.read_text())
    queued = report.get("duplicates_queued")
    duplicates = len(queued) if isinstance(queued, list) else queued
    return Loaded(name, rows, run, int(report["rejected"]), duplicates,
                  load_average_since(before))


def load_average_since(before: float) -> str:
    """The 1-minute load average before a load and now."""
    return f"{before:.1f} → {os.getloadavg()[0]:.1f}"


def ogr2ogr_load(csv: Path, target: Path, driver: str, folder: Path, rows: int) -> Loaded:
    """ogr2ogr: the CSV into SQLite or GeoPackage, points built from lat/lon, no validation."""
    target.unlink(missing_ok=True)
    command = ["ogr2ogr", "-f", driver, str(target), str(csv), "-nln", "organisations",
               "-oo", "X_POSSIBLE_NAMES=lon", "-oo", "Y_POSSIBLE_NAMES=lat",
               "-oo", "KEEP_GEOM_COLUMNS=NO", "-a_srs", "EPSG:4326"]
    name = f"ogr2ogr -f {driver}"
    before = os.getloadavg()[0]
    run = run_measured(command, env=dict(os.environ), folder=folder, name=name)
    if run.returncode != 0:
        raise RuntimeError(f"{name} failed: {run.stderr.read_text()[-3000:]}")
    return Loaded(name, rows, run, load_average=load_average_since(before))


def load_all(dataset: generate.Dataset, folder: Path) -> tuple[list[Loaded], Path]:
    """Every load of one dataset; returns them and the ess-atlas database to serve."""
    database = folder / "atlas.sqlite3"
    if dataset.bare_csv is None or dataset.gpkg is None:
        raise ValueError("the national benchmark needs the CSV without lat/lon and the GeoPackage")
    loads = [ess_atlas_import(dataset.csv, database, folder, "ess-atlas import (lat/lon given)",
                              dataset.rows)]
    print(f"  {describe_load(loads[-1])}", flush=True)
    bare = folder / "atlas-geocoded.sqlite3"
    loads.append(ess_atlas_import(dataset.bare_csv, bare, folder,
                                  "ess-atlas import (commune geocoding)", dataset.rows))
    print(f"  {describe_load(loads[-1])}", flush=True)
    bare.unlink()
    for driver, suffix in (("SQLite", "sqlite"), ("GPKG", "gpkg")):
        target = folder / f"ogr.{suffix}"
        loads.append(ogr2ogr_load(dataset.csv, target, driver, folder, dataset.rows))
        print(f"  {describe_load(loads[-1])}", flush=True)
        target.unlink()
    return loads, database


def describe_load(load: Loaded) -> str:
    """One line for the progress output."""
    return (f"{load.name}: {load.rows / load.run.seconds:,.0f} rows/s, "
            f"{load.run.seconds:.1f} s, peak RSS {human_bytes(load.run.max_rss_bytes)}, "
            f"process tree {human_bytes(load.run.tree_rss_bytes)}, load {load.load_average}")


# --- querying -----------------------------------------------------------------------


def probe(client: httpx.Client, url: str) -> tuple[httpx.Response, int, float, float]:
    """The uncompressed answer; bytes on the wire and ms taken by one request accepting gzip;
    ms taken by the first (uncompressed) request."""
    started = time.perf_counter()
    raw = client.get(url, headers={"Accept-Encoding": "identity"})
    first_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as response:
        wire = sum(len(chunk) for chunk in response.iter_raw())
    return raw, wire, (time.perf_counter() - started) * 1000, first_ms


def measure(client: httpx.Client, servers: Sequence[Server], templates: Sequence[str],
            ids: Sequence[int], seconds: float, rounds: int) -> list[Outcome]:
    """Probe one query on each server, then load it with wrk in turns, `rounds` runs each.

    `templates`: the query's path on each server; an `{id}` in one rotates over `ids`.
    A server that does not answer the probe with 200 is not loaded. Each server is
    let go idle after its warm-up and after each run: requests wrk abandons at the end of
    a run may still be served, and must not weigh on the next figure.
    """
    probes, targets = [], []
    for target, template in zip(servers, templates, strict=True):
        paths = [template.format(id=i) for i in ids] if "{id}" in template else [template]
        answer, wire_bytes, alone_ms, first_ms = probe(client, target.base_url + paths[0])
        probes.append((answer, wire_bytes, alone_ms, first_ms))
        if answer.status_code == 200:
            rotation = paths if len(paths) > 1 else []
            targets.append((target, target.base_url + paths[0], rotation))
    for target, url, rotation in targets:
        wrk(url, seconds=WARM_UP_SECONDS, paths=rotation, headers=[GZIP])
        settle(target)
    runs: dict[str, list[WrkResult]] = {target.base_url: [] for target, _, _ in targets}
    load_averages: dict[str, float] = {}
    for round_number in range(rounds):
        for target, url, rotation in targets[::1 if round_number % 2 == 0 else -1]:
            load_averages.setdefault(target.base_url, os.getloadavg()[0])
            runs[target.base_url].append(wrk(url, seconds=seconds / rounds, paths=rotation,
                                             headers=[GZIP]))
            settle(target)
    outcomes = []
    for target, (answer, wire_bytes, alone_ms, first_ms) in zip(servers, probes, strict=True):
        if answer.status_code != 200:
            outcomes.append(Outcome(answer.status_code, len(answer.content), wire_bytes, None,
                                    alone_ms, answer.text[:200], first_ms))
            continue
        done = runs[target.base_url]
        outcomes.append(Outcome(answer.status_code, len(answer.content), wire_bytes,
                                combined(done), alone_ms, first_ms=first_ms,
                                load_average=load_averages[target.base_url],
                                rounds=tuple(done)))
    return outcomes


def same_rows(client: httpx.Client, atlas: Server, anchor: Server, ids: Sequence[int]) -> bool:
    """True when both servers give the same name for the same ids (same data, same ids)."""
    for number in ids:
        ours = client.get(f"{atlas.base_url}/api/organisations/{number}").json()
        theirs = client.get(f"{anchor.base_url}{ITEMS}/{number}?f=json").json()
        if ours["properties"]["name"] != theirs["properties"]["name"]:
            return False
    return True


@dataclass(frozen=True)
class SizeResult:
    """Everything measured at one size."""

    rows: int
    loads: list[Loaded]
    outcomes: dict[str, tuple[Outcome, Outcome | None]]
    workers: str
    load_average: str
    consistent: bool


def read_through(path: Path) -> float:
    """Read a file to its end in 8 MiB blocks (it lands in the page cache); the seconds taken."""
    started = time.perf_counter()
    with path.open("rb") as stream:
        while stream.read(8 << 20):
            pass
    return time.perf_counter() - started


def query_all(dataset: generate.Dataset, database: Path, folder: Path, seconds: float,
              rounds: int) -> tuple[dict[str, tuple[Outcome, Outcome | None]], str, bool]:
    """Start both servers, run every query against each, stop them."""
    ids = random.Random(dataset.rows).sample(range(1, dataset.rows + 1), ROTATED_IDS)
    atlas_port, anchor_port = free_port(), free_port()
    options = serve_options()
    atlas_command = [ESS_ATLAS, "serve", "--host", "127.0.0.1", "--port", str(atlas_port),
                     *options]
    anchor_command, anchor_env = pygeoapi_anchor.prepare(dataset.gpkg, anchor_port, folder)
    # Both files read once, so that neither side pays for pages the disk has to give back.
    for served in (database, dataset.gpkg):
        print(f"  reading {served.name} into the page cache: {read_through(served):.0f} s",
              flush=True)
    outcomes: dict[str, tuple[Outcome, Outcome | None]] = {}
    with server(atlas_command, port=atlas_port, ready_path=ATLAS_READY_PATH,
                env=ess_atlas_env(database), log=folder / "ess-atlas-serve.log") as atlas, \
            server(anchor_command, port=anchor_port, env=anchor_env,
                   ready_path=f"/collections/{pygeoapi_anchor.COLLECTION}?f=json",
                   log=folder / "pygeoapi.log") as anchor, \
            httpx.Client(timeout=120) as client:
        consistent = same_rows(client, atlas, anchor, ids[:5])
        for query in QUERIES:
            if query.pygeoapi:
                ours, theirs = measure(client, [atlas, anchor],
                                       [query.ess_atlas, query.pygeoapi], ids, seconds, rounds)
            else:
                [ours], theirs = measure(client, [atlas], [query.ess_atlas], ids, seconds,
                                         rounds), None
            outcomes[query.name] = (ours, theirs)
            print(f"  {query.name}: {cell_rate(ours)} req/s {ours.refusal}"
                  + (f" (pygeoapi {cell_rate(theirs)} {theirs.refusal})" if theirs else ""),
                  flush=True)
    return outcomes, " ".join(options) or "1 process", consistent


def keep_logs(folder: Path, rows: int) -> None:
    """Move the servers' and commands' logs to var/bench/logs/N/ (the databases go)."""
    logs = LOGS / str(rows)
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    for path in folder.iterdir():
        if path.suffix in (".log", ".err", ".maxrss", ".yml"):
            shutil.move(path, logs / path.name)


def run_size(rows: int, seconds: float, import_only: bool = False,
             built: Path | None = None, rounds: int = DEFAULT_ROUNDS) -> SizeResult:
    """Generate (or reuse), load and query one size (or only load); only the logs are kept.

    `built`: query this database (made from the same dataset) instead of loading one.
    """
    dataset = generate.cached_dataset(rows)
    folder = WORK / str(rows)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        loads, database = ([], built) if built else load_all(dataset, folder)
        if import_only:
            return SizeResult(rows, loads, {}, "", "", True)
        before = os.getloadavg()[0]
        outcomes, workers, consistent = query_all(dataset, database, folder, seconds,
                                                  rounds)
        load_average = f"{before:.1f} → {os.getloadavg()[0]:.1f}"
    finally:
        keep_logs(folder, rows)
        shutil.rmtree(folder, ignore_errors=True)
    return SizeResult(rows, loads, outcomes, workers, load_average, consistent)


# --- reporting ----------------------------------------------------------------------


def cell_rate(outcome: Outcome | None) -> str:
    """req/s, or why there is none."""
    if outcome is None:
        return "—"
    if outcome.load is None:
        return f"n/a (HTTP {outcome.status})"
    if outcome.load.requests == 0:
        return "0 (none completed)"
    return f"{outcome.load.rate:,.1f}"


def cell_ms(outcome: Outcome | None, attribute: str) -> str:
    """A latency percentile in ms, or a dash."""
    if outcome is None or outcome.load is None or outcome.load.requests == 0:
        return "—"
    return f"{getattr(outcome.load, attribute):,.1f}"


def cell_alone(outcome: Outcome | None) -> str:
    """Latency of the one probe request sent before the load, in ms."""
    return "—" if outcome is None or outcome.status != 200 else f"{outcome.alone_ms:,.1f}"


def cell_first(outcome: Outcome) -> str:
    """Latency of the very first request of the query, in ms (before anything is kept)."""
    return "—" if outcome.status != 200 else f"{outcome.first_ms:,.1f}"


def cell_ratio(ours: Outcome, theirs: Outcome | None) -> str:
    """ess-atlas req/s over pygeoapi req/s (the lowest and highest of the rounds)."""
    if not (theirs and ours.load and theirs.load and theirs.load.rate):
        return "—"
    overall = f"{ours.load.rate / theirs.load.rate:.2f}×"
    each = [a.rate / b.rate for a, b in zip(ours.rounds, theirs.rounds, strict=True) if b.rate]
    return f"{overall} ({min(each):.2f}-{max(each):.2f})" if len(each) > 1 else overall


def cell_load(*outcomes: Outcome | None) -> str:
    """The machine's 1-minute load average as each wrk run started."""
    return " / ".join("—" if o is None or o.load_average is None else f"{o.load_average:.1f}"
                      for o in outcomes)


def cell_errors(*outcomes: Outcome | None) -> str:
    """Socket errors + non-2xx answers under load, per server."""
    counts = [f"{o.load.errors + o.load.non_2xx}" if o and o.load else "—" for o in outcomes]
    return " / ".join(counts)


def cell_size(outcome: Outcome | None) -> str:
    """Uncompressed size (and on the wire with gzip accepted, when it differs)."""
    if outcome is None or outcome.status != 200:
        return "—"
    raw = human_bytes(outcome.raw_bytes)
    return raw if outcome.wire_bytes == outcome.raw_bytes else (
        f"{raw} ({human_bytes(outcome.wire_bytes)} gzip)")


def query_table(results: Sequence[SizeResult]) -> list[str]:
    """The wrk table, one row per query and size."""
    lines = ["| query | N | ess-atlas req/s | p50 ms | p99 ms | first ms | alone ms | "
             "pygeoapi req/s | p50 ms | p99 ms | alone ms | ess-atlas / pygeoapi | "
             "errors (ours / theirs) | size ess-atlas | size pygeoapi | target (at 1M) | "
             "load avg (ours / theirs) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|"]
    for query in QUERIES:
        for result in results:
            ours, theirs = result.outcomes[query.name]
            lines.append(
                f"| {query.name} | {result.rows:,} | {cell_rate(ours)} | "
                f"{cell_ms(ours, 'p50_ms')} | {cell_ms(ours, 'p99_ms')} | {cell_first(ours)} | "
                f"{cell_alone(ours)} | "
                f"{cell_rate(theirs)} | {cell_ms(theirs, 'p50_ms')} | "
                f"{cell_ms(theirs, 'p99_ms')} | {cell_alone(theirs)} | "
                f"{cell_ratio(ours, theirs)} | {cell_errors(ours, theirs)} | {cell_size(ours)} | "
                f"{cell_size(theirs)} | {query.target} | {cell_load(ours, theirs)} |")
    return lines


def load_table(results: Sequence[SizeResult]) -> list[str]:
    """The import table: ess-atlas against ogr2ogr at each size."""
    lines = ["| load | N | rows/s | wall s | peak RSS, largest process | peak RSS, process tree "
             "(sampled) | rejected | duplicates queued | load average (1 min, before → after) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for result in results:
        for load in result.loads:
            run = load.run
            lines.append(
                f"| {load.name} | {load.rows:,} | {load.rows / run.seconds:,.0f} | "
                f"{run.seconds:.1f} | {human_bytes(run.max_rss_bytes)} | "
                f"{human_bytes(run.tree_rss_bytes)} | "
                f"{'—' if load.rejected is None else load.rejected} | "
                f"{'—' if load.duplicates is None else load.duplicates} | {load.load_average} |")
    return lines


IMPORT_NOTE = ("Import target at 1M: ≥ 25,000 rows/s, peak RSS < 500 MB (process tree: the "
               "sum of the RSS of the command and its worker, sampled every 50 ms; pages "
               "shared after the fork count twice).")


def notes(results: Sequence[SizeResult], seconds: float, rounds: int) -> list[str]:
    """How the numbers were taken, so the table reads on its own."""
    lines = [f"wrk: 8 connections, 2 threads, {seconds:g} s per query and server after a "
             f"{WARM_UP_SECONDS} s warm-up, in {rounds} runs of {seconds / rounds:g} s, the "
             "two servers taking turns (ess-atlas first in the odd rounds, pygeoapi in the "
             "even ones), so that both meet the shared machine's drift; req/s is all the "
             "requests over all the runs' seconds, p50 the median of the runs' p50, p99 the "
             "highest run's, and the ratio's bracket the lowest and highest of the rounds' "
             f"ratios. `{GZIP}`, timeout 30 s; the server is let go "
             "idle (< 10 % CPU) after the warm-up and after each run. \"first\": the "
             "query's very first request (cold: a count kept per data version is made "
             "then); \"alone\": the next one, nothing else in flight. pygeoapi "
             f"{pygeoapi_anchor.REQUIREMENTS[0]}, OGR provider on the GeoPackage, gunicorn "
             f"-w {pygeoapi_anchor.WORKERS} (sync workers). The pygeoapi category query "
             "filters `sector` (the first of 1-3 sectors) by equality; ess-atlas's matches "
             "any of a structure's sectors. Import target at 1M: ≥ 25,000 rows/s, peak RSS "
             "< 500 MB."]
    for result in results:
        check = "same names for the same ids" if result.consistent else (
            "**ids differ between the two servers: the item query is not like for like**")
        lines.append(f"N={result.rows:,}: ess-atlas serve {result.workers}; load average "
                     f"{result.load_average} (1 min, before → after the queries); {check}.")
    return lines


def main() -> None:
    """Measure every size, print the tables, record them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help=f"comma-separated N (default BENCH_SIZES or "
                        f"{DEFAULT_SIZES})")
    parser.add_argument("--seconds", type=float, default=15.0,
                        help="wrk duration per query and server, all rounds together")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS,
                        help="runs per query and server, the servers taking turns")
    parser.add_argument("--no-record", action="store_true", help="do not touch results.md")
    parser.add_argument("--import-only", action="store_true",
                        default=os.environ.get("BENCH_IMPORT_ONLY", "") not in ("", "0"),
                        help="only the loads: no servers, no queries (or BENCH_IMPORT_ONLY=1)")
    parser.add_argument("--queries", help="only the queries whose name contains one of these "
                        "comma-separated words (e.g. item,page,bbox)")
    parser.add_argument("--database", type=Path,
                        help="query part only, on this database built from the dataset of the "
                        "one size given (kept)")
    args = parser.parse_args()
    sizes = sizes_wanted(args.sizes, "BENCH_SIZES", DEFAULT_SIZES, minimum=MIN_SIZE)
    if args.database and (args.import_only or len(sizes) != 1):
        parser.error("--database queries one size (--sizes N) and is no import run")
    global QUERIES  # the one selection every run and table reads
    QUERIES = queries_wanted(args.queries)
    stop_on_sigterm()
    generate.check_columns()
    results = []
    for rows in sizes:
        print(f"== {rows:,} structures", flush=True)
        results.append(run_size(rows, args.seconds, args.import_only, args.database,
                                args.rounds))
    if args.import_only:
        lines = [*load_table(results), "", IMPORT_NOTE]
        title = "National benchmark, imports only: ess-atlas and ogr2ogr on the same data"
    else:
        loads = [*load_table(results), ""] if any(r.loads for r in results) else []
        lines = [*loads, *query_table(results), "", *notes(results, args.seconds, args.rounds)]
        title = "National benchmark: ess-atlas and pygeoapi on the same data" + (
            ", query part only (database built by bench/build_database.py)"
            if args.database else "")
    print("\n".join(lines))
    if not args.no_record:
        append_section(title, lines)


if __name__ == "__main__":
    main()
