"""The national benchmark's read queries one at a time: server CPU and wall time per request.

`ess-atlas serve --workers 1` on a database built beforehand (bench/build_database.py),
then each query of bench_national.py that has a latency target (nearby, clusters, text
search) and the facets, `--requests` times in a row with nothing else in flight. The
figure compared is the server's CPU time per request (its process tree, psutil), steady
on a loaded machine where wall time is not; the median wall time of one request is given
beside it. The very first request of each query is left out (a count kept per data
version is made then). What CPU time a request costs is what bounds the p50 under wrk's
8 connections on 2 workers.

    python bench/bench_reads.py DATABASE [--requests 40] [--no-record]

Without DATABASE (as `make bench` runs it), BENCH_READS_DATABASE names it; with neither,
it says so and measures nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import httpx
import psutil
from bench_national import FRANCE_BBOX, PARIS, SEARCH_HIT, SEARCH_MISS, SECTOR
from harness import (
    ATLAS_READY_PATH,
    ESS_ATLAS,
    REPO,
    _cpu_seconds,
    append_section,
    ess_atlas_env,
    free_port,
    human_bytes,
    server,
    settle,
    stop_on_sigterm,
)

QUERIES = (
    ("nearby 10 km around Paris, limit 100", f"/api/nearby?{PARIS}&radius_km=10&limit=100"),
    ("clusters, France, zoom 6", f"/api/clusters?bbox={FRANCE_BBOX}&zoom=6"),
    (f"clusters, France, zoom 6, {SECTOR}",
     f"/api/clusters?bbox={FRANCE_BBOX}&zoom=6&category={SECTOR}"),
    (f"text search, hit (q={SEARCH_HIT}), limit 100",
     f"/api/organisations?q={SEARCH_HIT}&limit=100"),
    (f"text search, no hit (q={SEARCH_MISS}), limit 100",
     f"/api/organisations?q={SEARCH_MISS}&limit=100"),
    ("facets, France", f"/api/facets?bbox={FRANCE_BBOX}"),
    ("item by id (the app's own overhead)", "/api/organisations/12345"),
)


def per_request(client: httpx.Client, url: str, process: psutil.Process, requests: int
                ) -> tuple[float, float, int]:
    """Server CPU ms per request, median wall ms, answer bytes (after a first request)."""
    first = client.get(url)
    first.raise_for_status()
    walls = []
    before = _cpu_seconds(process)
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url).raise_for_status()
        walls.append(time.perf_counter() - started)
    cpu = _cpu_seconds(process) - before
    return cpu / requests * 1000, statistics.median(walls) * 1000, len(first.content)


def main() -> None:
    """Serve the database, measure each query, print and record the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path, nargs="?",
                        default=os.environ.get("BENCH_READS_DATABASE") or None)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--no-record", action="store_true", help="do not touch results.md")
    args = parser.parse_args()
    if args.database is None:
        print("bench_reads: no database given (DATABASE or BENCH_READS_DATABASE): skipped")
        return
    stop_on_sigterm()
    port, log = free_port(), REPO / "var" / "bench" / "bench-reads-serve.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [ESS_ATLAS, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    lines = ["| query | server CPU ms / request | wall ms (median, alone) | answer |",
             "|---|---:|---:|---:|"]
    load = os.getloadavg()[0]
    with server(command, port=port, ready_path=ATLAS_READY_PATH, env=ess_atlas_env(args.database),
                log=log) as served, httpx.Client(timeout=120) as client:
        process = psutil.Process(served.process.pid)
        for name, path in QUERIES:
            settle(served)
            cpu, wall, size = per_request(client, served.base_url + path, process, args.requests)
            lines.append(f"| {name} | {cpu:.1f} | {wall:.1f} | {human_bytes(size)} |")
            print(lines[-1], flush=True)
    lines += ["", f"Database: {args.database.name}; `ess-atlas serve --workers 1`; "
              f"{args.requests} requests in a row per query after a first one; 1-minute load "
              f"average {load:.1f} → {os.getloadavg()[0]:.1f} (the machine's other work)."]
    print("\n".join(lines))
    if not args.no_record:
        append_section("Read queries one at a time: server CPU per request", lines)


if __name__ == "__main__":
    main()
