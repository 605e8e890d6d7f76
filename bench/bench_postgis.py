"""PostGIS benchmark (issue 12): the app against its own SQL, workers, and an open-loop mix.

For each size N (`--sizes`, else BENCH_SIZES, else 100,000; 1,000,000 is the target):

1. a SQLite database of the generated dataset (bench/build_database.py), or `--sqlite
   PATH` (copied first, never written to);
2. a PostgreSQL 15 + PostGIS 3 cluster under var/bench/postgis/N/ tuned as a deployment
   would be (TUNING), the SQLite database copied into it by bench/copy_to_postgres.py and
   compared (counts of every table, sampled rows);
3. app against raw SQL: for nearby, a bbox page, clusters and text search, the statements
   the app sends for one warm request are recorded in-process (SQLAlchemy's
   before_cursor_execute; for clusters, whose answers the app keeps per data version, each
   request asks a view not asked before: `view`), then, alternately, `--repeats` times
   each: the request to `ess-atlas serve` (1 worker) and those statements alone through
   psycopg (fetching every row); p50 of each, target app ≤ 2× raw;
4. items by random id with wrk (8 connections, 15 s after a warm-up): PostGIS with 1 and
   2 workers, SQLite with 1 and 2 workers;
5. a mixed load at 50 req/s for 60 s (bench/open_loop.py: a fixed rate, latency from the
   planned start) against 2 workers on each backend: p95 < 300 ms and 0 errors.

`--keep` keeps var/bench/postgis/N/ (SQLite copy and cluster) and reuses it next time.
Prints the tables and appends them to bench/results.md.

    python bench/bench_postgis.py [--sizes 1000000] [--sqlite /work/bench-run/atlas-1m.sqlite3]
                                  [--keep] [--repeats 100] [--seconds 15] [--mix-seconds 60]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copy_to_postgres
import generate
import httpx
import psycopg
from harness import (
    ATLAS_READY_PATH,
    ESS_ATLAS,
    REPO,
    Server,
    WrkResult,
    append_section,
    free_port,
    server,
    settle,
    sizes_wanted,
    stop_on_sigterm,
    wrk,
)
from open_loop import LoadResult, open_loop
from sqlalchemy import event
from sqlalchemy.engine import Engine

sys.path.insert(0, str(REPO / "tests"))
from postgres_cluster import PostgresCluster

WORK = REPO / "var" / "bench" / "postgis"
DEFAULT_SIZES = "100000"
DATABASE = "atlas"
READY = "ready"  # marker of a kept folder whose two databases are complete
# A deployment's settings for a 1M-structure atlas on a small server (the data, ~1 GB with
# its indexes, fits in shared_buffers); durability left as shipped (fsync, synchronous
# commit). JIT off: it costs tens of ms on the planner's guess of a large query, and these
# queries are short (an OLTP setting most deployments make). No parallel workers either
# (docs/deploy.md): ~10 ms to start one, for plans that stop after a page.
TUNING = {
    "listen_addresses": "127.0.0.1", "max_connections": "100", "shared_buffers": "2GB",
    "effective_cache_size": "8GB", "work_mem": "32MB", "maintenance_work_mem": "1GB",
    "random_page_cost": "1.1", "effective_io_concurrency": "200", "max_wal_size": "4GB",
    "checkpoint_timeout": "15min", "jit": "off", "max_worker_processes": "4",
    "max_parallel_workers_per_gather": "0", "log_min_duration_statement": "1000",
}
PARIS = "lat=48.8566&lon=2.3522"
PARIS_BBOX = "2.25,48.81,2.42,48.90"
FRANCE_BBOX = "-5.5,41.2,9.8,51.2"
COMPARED = (
    ("nearby 10 km around Paris, limit 100", f"/api/nearby?{PARIS}&radius_km=10&limit=100"),
    ("bbox page: Paris, limit 100", f"/api/organisations?bbox={PARIS_BBOX}&limit=100"),
    ("clusters: France, zoom 6", f"/api/clusters?bbox={FRANCE_BBOX}&zoom=6"),
    ("clusters: Paris, zoom 12", f"/api/clusters?bbox={PARIS_BBOX}&zoom=12"),
    ("text search: q=ressourcerie, limit 100", "/api/organisations?q=ressourcerie&limit=100"),
)
# The app keeps each cluster answer per data version: every request of these asks a view
# never asked before (its box moved by a ten-millionth of a degree), so that its SQL runs.
KEPT_ANSWERS = ("/api/clusters",)
ITEM_IDS = 1000
WARM_UP_SECONDS = 2
MIX_RATE = 50.0
SEARCH_WORDS = ("ressourcerie", "epicerie solidaire", "jardin", "colibri", "louise michel",
                "cooperative", "xylophone")
SECTORS = ("alimentation", "habitat", "reemploi", "insertion-emploi", "environnement")


@dataclass(frozen=True)
class Compared:
    """One request: the app's p50 and that of its SQL alone, in ms, and how many statements."""

    name: str
    app_ms: float
    raw_ms: float
    statements: int
    slowest: str

    @property
    def ratio(self) -> float:
        """App over raw SQL."""
        return self.app_ms / self.raw_ms if self.raw_ms else float("inf")


@dataclass(frozen=True)
class SizeResult:
    """Everything measured at one size."""

    rows: int
    copy_seconds: float | None
    copied_rows: int
    compared: list[Compared]
    items: dict[str, WrkResult]
    mixes: dict[str, LoadResult]
    load_average: str


# --- the two databases ----------------------------------------------------------------------


def sqlite_database(rows: int, given: Path | None, folder: Path) -> Path:
    """The SQLite database of N structures in `folder`: copied from `given`, or built."""
    target = folder / "atlas.sqlite3"
    if given:
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{given}{suffix}").exists():
                subprocess.run(["cp", "--reflink=auto", f"{given}{suffix}", f"{target}{suffix}"],
                               check=True)
        return target
    generate.cached_dataset(rows)
    env = {**os.environ, "ESS_DATABASE_URL": f"sqlite:///{target}"}
    subprocess.run([sys.executable, str(REPO / "bench" / "build_database.py"), str(rows)],
                   env=env, check=True)
    return target


def cluster_for(folder: Path) -> PostgresCluster:
    """The benchmark's tuned cluster, its data kept under `folder`."""
    return PostgresCluster(directory=folder / "postgres", port=free_port(), settings=TUNING)


@contextlib.contextmanager
def running(cluster: PostgresCluster, *, remove: bool) -> Iterator[str]:
    """Start the cluster; yield the URL of the benchmark's database; always stop it."""
    cluster.directory.mkdir(parents=True, exist_ok=True)
    try:
        cluster.start_server()
        yield cluster.url(DATABASE)
    finally:
        cluster.stop(remove=remove)


def fill(cluster: PostgresCluster, sqlite_file: Path) -> int:
    """Create the database and copy the SQLite one into it; fails if the two differ."""
    cluster.execute("postgres", f"CREATE DATABASE {DATABASE}")
    url = cluster.url(DATABASE)
    counts = copy_to_postgres.copy_database(sqlite_file, url)
    problems = copy_to_postgres.compare(sqlite_file, url)
    if problems:
        raise SystemExit("the PostGIS copy differs from SQLite:\n" + "\n".join(problems[:20]))
    return sum(counts.values())


# --- the app against its own SQL ------------------------------------------------------------


Statement = tuple[str, Any]


def view(path: str, number: int) -> str:
    """The `number`th variant of a path whose answers the app keeps (else the path itself)."""
    if not path.startswith(KEPT_ANSWERS):
        return path
    query = dict(part.split("=", 1) for part in path.split("?", 1)[1].split("&"))
    box = [float(value) + number * 1e-7 for value in query["bbox"].split(",")]
    query["bbox"] = ",".join(f"{value:.7f}" for value in box)
    return path.split("?", 1)[0] + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def statements_of(database_url: str, paths: Sequence[str]) -> list[list[Statement]]:
    """The SQL the app sends for one warm request of each path (recorded in-process; a
    view never asked before where the app keeps answers)."""
    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    settings = Settings(database_url=database_url, load_default_directory=False)
    recorded: list[Statement] = []

    def record(*args: Any) -> None:
        recorded.append((args[2], args[3]))

    found = []
    with TestClient(create_app(settings)) as client:
        for path in paths:
            for number in range(2):
                client.get(view(path, number)).raise_for_status()
            event.listen(Engine, "before_cursor_execute", record)
            try:
                client.get(view(path, 2)).raise_for_status()
            finally:
                event.remove(Engine, "before_cursor_execute", record)
            found.append(list(recorded))
            recorded.clear()
    return found


def run_raw(connection: psycopg.Connection[Any], statements: Sequence[Statement]) -> float:
    """The statements one after the other, every row fetched, then rolled back; ms."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sql, parameters in statements:
            cursor.execute(sql, parameters)
            if cursor.description is not None:
                cursor.fetchall()
    connection.rollback()
    return (time.perf_counter() - started) * 1000


def run_app(client: httpx.Client, url: str) -> float:
    """One request, its whole answer read; ms."""
    started = time.perf_counter()
    client.get(url, headers={"Accept-Encoding": "gzip"}).raise_for_status()
    return (time.perf_counter() - started) * 1000


def slowest_statement(connection: psycopg.Connection[Any], statements: Sequence[Statement]
                      ) -> str:
    """The first words of the statement that takes longest alone (what the request is)."""
    timed = [(run_raw(connection, [one]), one[0]) for one in statements]
    milliseconds, sql = max(timed)
    return f"{milliseconds:.1f} ms: {' '.join(sql.split())[:70]}…"


def compare_with_raw(database_url: str, repeats: int, env: dict[str, str],
                     folder: Path) -> list[Compared]:
    """Each COMPARED request against its own SQL, alternately, p50 of `repeats` each."""
    recorded = statements_of(database_url, [path for _, path in COMPARED])
    conninfo = copy_to_postgres.libpq_conninfo(database_url)
    port = free_port()
    command = [ESS_ATLAS, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    results = []
    with server(command, port=port, ready_path=ATLAS_READY_PATH, env=env,
                log=folder / "serve-compare.log") as atlas, \
            psycopg.connect(conninfo) as connection, httpx.Client(timeout=60) as client:
        for (name, path), statements in zip(COMPARED, recorded, strict=True):
            asked = (atlas.base_url + view(path, number) for number in range(3, 3 + 3 + repeats))
            for _ in range(3):
                run_app(client, next(asked)), run_raw(connection, statements)
            app_ms, raw_ms = [], []
            for _ in range(repeats):
                app_ms.append(run_app(client, next(asked)))
                raw_ms.append(run_raw(connection, statements))
            results.append(Compared(name, statistics.median(app_ms), statistics.median(raw_ms),
                                    len(statements), slowest_statement(connection, statements)))
            print(f"  {name}: app {results[-1].app_ms:.1f} ms, raw SQL "
                  f"{results[-1].raw_ms:.1f} ms ({len(statements)} statements)", flush=True)
    return results


# --- items and the mixed load ---------------------------------------------------------------


def serve_command(port: int, workers: int) -> list[str]:
    """`ess-atlas serve` on a loopback port with N workers."""
    return [ESS_ATLAS, "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers)]


def backend_env(database_url: str) -> dict[str, str]:
    """Environment of an ess-atlas server on a database, no preloaded directory."""
    return {**os.environ, "ESS_DATABASE_URL": database_url, "ESS_LOAD_DEFAULT_DIRECTORY": "false"}


@contextlib.contextmanager
def serving(database_url: str, workers: int, log: Path) -> Iterator[Server]:
    """An ess-atlas server on the database, ready."""
    port = free_port()
    with server(serve_command(port, workers), port=port, ready_path=ATLAS_READY_PATH,
                env=backend_env(database_url), log=log) as running_server:
        yield running_server


def item_rate(target: Server, ids: Sequence[int], seconds: float) -> WrkResult:
    """wrk over random items (after a warm-up, the server let go idle before and after)."""
    paths = [f"/api/organisations/{number}" for number in ids]
    wrk(target.base_url + paths[0], seconds=WARM_UP_SECONDS, paths=paths)
    settle(target)
    result = wrk(target.base_url + paths[0], seconds=seconds, paths=paths)
    settle(target)
    return result


def read_points(sqlite_file: Path, count: int, seed: int) -> list[tuple[int, float, float]]:
    """`count` random structures (id, lat, lon): where visitors look."""
    with contextlib.closing(sqlite3.connect(f"file:{sqlite_file}?mode=ro", uri=True)) as db:
        largest = db.execute("SELECT max(id) FROM organisation").fetchone()[0]
        wanted = random.Random(seed).sample(range(1, largest + 1), min(count, largest))
        marks = ",".join("?" * len(wanted))
        return db.execute(f"SELECT id, lat, lon FROM organisation WHERE id IN ({marks})",
                          wanted).fetchall()


def mixed_requests(points: Sequence[tuple[int, float, float]], count: int,
                   seed: int) -> list[tuple[str, str]]:
    """`count` requests of a visitor-like mix around real structures (kind, path)."""
    rng = random.Random(seed)
    makers = (
        (20, "item", lambda i, la, lo: f"/api/organisations/{i}"),
        (15, "bbox page", lambda i, la, lo: f"/api/organisations?bbox={_box(la, lo, 0.05)}"
                                            "&limit=100"),
        (20, "clusters", lambda i, la, lo: _clusters(rng, la, lo)),
        (10, "nearby", lambda i, la, lo: f"/api/nearby?lat={la:.4f}&lon={lo:.4f}"
                                         f"&radius_km={rng.choice((2, 5, 10))}&limit=50"),
        (10, "pages", lambda i, la, lo: rng.choice((
            "/api/organisations?limit=100", f"/api/organisations?category="
            f"{rng.choice(SECTORS)}&limit=100", "/ogc/collections/organisations/items?f=json"
            "&limit=50"))),
        (10, "facets", lambda i, la, lo: f"/api/facets?bbox={_box(la, lo, 0.5)}"),
        (15, "text search", lambda i, la, lo: f"/api/organisations?q="
                                              f"{rng.choice(SEARCH_WORDS)}&limit=20"),
    )
    weights = [weight for weight, _, _ in makers]
    requests = []
    for _ in range(count):
        _, kind, make = rng.choices(makers, weights)[0]
        requests.append((kind, make(*rng.choice(points))))
    return requests


def _box(lat: float, lon: float, half: float) -> str:
    """A bbox of ±half degrees around a point."""
    return f"{lon - half:.4f},{lat - half:.4f},{lon + half:.4f},{lat + half:.4f}"


def _clusters(rng: random.Random, lat: float, lon: float) -> str:
    """The map's request at a random zoom: France at 5-6, a region to a town below."""
    zoom = rng.choice((5, 6, 8, 10, 12, 14))
    box = FRANCE_BBOX if zoom <= 6 else _box(lat, lon, 180 / 2 ** zoom * 4)
    return f"/api/clusters?bbox={box}&zoom={zoom}"


# --- one size -------------------------------------------------------------------------------


def run_size(rows: int, args: argparse.Namespace) -> SizeResult:
    """Build (or reuse) both databases, then every measure."""
    folder = WORK / str(rows)
    kept = args.keep and (folder / READY).exists()
    if not kept:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    sqlite_file, cluster = folder / "atlas.sqlite3", cluster_for(folder)
    copy_seconds, copied = None, 0
    if not kept:
        sqlite_database(rows, args.sqlite, folder)
    try:
        with running(cluster, remove=not args.keep) as database_url:
            if not kept:
                started = time.perf_counter()
                copied = fill(cluster, sqlite_file)
                copy_seconds = time.perf_counter() - started
                (folder / READY).touch()
            before = os.getloadavg()[0]
            result = measure(rows, database_url, sqlite_file, folder, args)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return SizeResult(rows, copy_seconds, copied, *result,
                      load_average=f"{before:.1f} → {os.getloadavg()[0]:.1f}")


def measure(rows: int, database_url: str, sqlite_file: Path, folder: Path,
            args: argparse.Namespace) -> tuple[list[Compared], dict[str, WrkResult],
                                               dict[str, LoadResult]]:
    """The three measures on the running cluster and the SQLite file."""
    env = backend_env(database_url)
    compared = compare_with_raw(database_url, args.repeats, env, folder)
    points = read_points(sqlite_file, ITEM_IDS, rows)
    ids = [number for number, _, _ in points]
    sqlite_url = f"sqlite:///{sqlite_file}"
    items: dict[str, WrkResult] = {}
    mixes: dict[str, LoadResult] = {}
    requests = mixed_requests(points, int(MIX_RATE * args.mix_seconds), rows)
    for backend, url in (("PostGIS", database_url), ("SQLite", sqlite_url)):
        for workers in (1, 2):
            with serving(url, workers, folder / f"serve-{backend}-{workers}.log") as target:
                items[f"{backend}, {workers} worker{'s' * (workers > 1)}"] = item_rate(
                    target, ids, args.seconds)
                print(f"  items, {backend}, {workers} worker(s): "
                      f"{items[next(reversed(items))].rate:,.0f} req/s", flush=True)
                if workers == 2:
                    mixes[backend] = mixed_load(target, requests)
    return compared, items, mixes


def mixed_load(target: Server, requests: Sequence[tuple[str, str]]) -> LoadResult:
    """The mix once through at MIX_RATE (a 10 s taste of it first, then the server idle)."""
    open_loop(target.base_url, requests[: int(MIX_RATE * 10)], MIX_RATE)
    settle(target)
    result = open_loop(target.base_url, requests, MIX_RATE)
    print(f"  mixed load: p95 {result.percentile_ms(0.95):.0f} ms, "
          f"{result.errors()} errors", flush=True)
    settle(target)
    return result


# --- tables ---------------------------------------------------------------------------------


def compared_table(results: Sequence[SizeResult]) -> list[str]:
    """App p50 against the p50 of its own SQL alone."""
    lines = ["| request | N | app p50 ms | its SQL alone p50 ms | app / SQL | target | "
             "statements | slowest statement alone |", "|---|---:|---:|---:|---:|---|---:|---|"]
    for result in results:
        for one in result.compared:
            verdict = "≤ 2× ✓" if one.ratio <= 2 else "≤ 2× ✗"
            lines.append(f"| {one.name} | {result.rows:,} | {one.app_ms:.1f} | "
                         f"{one.raw_ms:.1f} | {one.ratio:.2f}× | {verdict} | {one.statements} "
                         f"| {one.slowest.replace('|', '/')} |")
    return lines


def items_table(results: Sequence[SizeResult]) -> list[str]:
    """Random items: req/s per backend and worker count."""
    lines = ["| items by random id | N | req/s | p50 ms | p99 ms | errors |",
             "|---|---:|---:|---:|---:|---:|"]
    for result in results:
        for name, load in result.items.items():
            lines.append(f"| {name} | {result.rows:,} | {load.rate:,.0f} | {load.p50_ms:.1f} "
                         f"| {load.p99_ms:.1f} | {load.errors + load.non_2xx} |")
    return lines


def mix_table(results: Sequence[SizeResult]) -> list[str]:
    """The open-loop mix: latency percentiles overall and per kind, errors."""
    lines = ["| mixed load, 2 workers | N | requests | p50 ms | p95 ms | p99 ms | errors | "
             "target | p95 per kind (ms) | p95 from the actual send ms | "
             "client's worst send lag ms |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|"]
    for result in results:
        for backend, load in result.mixes.items():
            p95 = load.percentile_ms(0.95)
            verdict = "✓" if p95 < 300 and load.errors() == 0 else "✗"
            kinds = ", ".join(f"{kind} {load.percentile_ms(0.95, kind):.0f}"
                              for kind in sorted(load.kinds()))
            lines.append(f"| {backend} | {result.rows:,} | {len(load.sent):,} | "
                         f"{load.percentile_ms(0.5):.0f} | {p95:.0f} | "
                         f"{load.percentile_ms(0.99):.0f} | {load.errors()} | "
                         f"p95 < 300 ms, 0 errors {verdict} | {kinds} | "
                         f"{load.percentile_ms(0.95, from_send=True):.0f} | "
                         f"{load.worst_send_lag_ms:.0f} |")
    return lines


def notes(results: Sequence[SizeResult], args: argparse.Namespace) -> list[str]:
    """How the numbers were taken."""
    tuning = ", ".join(f"{name}={value}" for name, value in TUNING.items())
    lines = [f"PostgreSQL 15 + PostGIS 3, tuned: {tuning}. App against raw SQL: the "
             "statements one warm request sends, recorded in-process, timed alone through "
             "psycopg (every row fetched) alternately with the request to `ess-atlas serve "
             f"--workers 1`, {args.repeats} times each, p50. Items: wrk 8 connections, 2 "
             f"threads, {args.seconds:g} s over {ITEM_IDS} random ids. Mixed load: "
             f"{MIX_RATE:g} req/s for {args.mix_seconds:g} s, open loop (bench/open_loop.py, "
             "latency from the planned start; \"from the actual send\": from when the "
             "client's event loop got to it, which leaves out the client's own lag), the same "
             "requests on both backends, after a 10 s taste of the mix. The app is asked with "
             "`Accept-Encoding: gzip` (a browser's request); its SQL alone is not compressed."]
    for result in results:
        copied = ("reused (--keep)" if result.copy_seconds is None else
                  f"{result.copied_rows:,} rows copied in {result.copy_seconds:.0f} s")
        lines.append(f"N={result.rows:,}: PostGIS copy {copied}; load average "
                     f"{result.load_average} (1 min, before → after the measures).")
    return lines


def main() -> None:
    """Measure every size, print the tables, record them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help=f"comma-separated N (default BENCH_SIZES or "
                        f"{DEFAULT_SIZES})")
    parser.add_argument("--sqlite", type=Path, help="a database of the one size given, "
                        "copied instead of built (never written to)")
    parser.add_argument("--keep", action="store_true", help="keep and reuse var/bench/postgis/N")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=15.0, help="wrk duration")
    parser.add_argument("--mix-seconds", type=float, default=60.0)
    parser.add_argument("--no-record", action="store_true", help="do not touch results.md")
    args = parser.parse_args()
    sizes = sizes_wanted(args.sizes, "BENCH_SIZES", DEFAULT_SIZES)
    if args.sqlite and len(sizes) != 1:
        parser.error("--sqlite goes with one size (--sizes N)")
    stop_on_sigterm()
    results = []
    for rows in sizes:
        print(f"== {rows:,} structures", flush=True)
        results.append(run_size(rows, args))
    lines = [*compared_table(results), "", *items_table(results), "", *mix_table(results),
             "", *notes(results, args)]
    print("\n".join(lines))
    if not args.no_record:
        append_section("PostGIS benchmark: the app against its SQL, workers, a mixed load", lines)


if __name__ == "__main__":
    main()
