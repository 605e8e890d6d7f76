"""Wrong-token flood (issue 7): do public reads keep at least half their req/s?

Starts `ess-atlas serve` (the default directory preloaded, an admin token configured
through ESS_ADMIN_TOKEN_HASH from `ess-atlas hash-token --generate`) on a free loopback
port, then measures with wrk:

1. public reads alone: `/api/organisations/1`, 8 connections, 15 s;
2. the same reads while a second wrk floods `/api/imports` with
   `Authorization: Bearer wrong…` on 32 connections.

Prints both rates, their ratio (target ≥ 0.5), the flood's own rate and answers, and the
server's peak memory in each phase; appends them to bench/results.md.

    python bench/bench_auth_flood.py [--seconds 15] [--no-record]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import threading
import time

import httpx
from harness import (
    ESS_ATLAS,
    REPO,
    Server,
    TreeMemory,
    WrkResult,
    append_section,
    ess_atlas_env,
    free_port,
    human_bytes,
    serve_options,
    server,
    stop_on_sigterm,
    wrk,
)

WORK = REPO / "var" / "bench" / "auth-flood"
READ_PATH = "/api/organisations/1"
FLOOD_PATH = "/api/imports"
WRONG_TOKEN = "wrong-" + "x" * 37
FLOOD_CONNECTIONS = 32
FLOOD_HEAD_START = 2.0
TARGET_RATIO = 0.5


def admin_token() -> tuple[str, str]:
    """(token, ESS_ADMIN_TOKEN_HASH value) from `ess-atlas hash-token --generate`."""
    output = subprocess.run([ESS_ATLAS, "hash-token", "--generate"], capture_output=True,
                            text=True, check=True).stdout.splitlines()
    token = next(line for line in output if line.startswith("token")).rsplit(": ", 1)[1]
    hashed = next(line for line in output if line.startswith("ESS_ADMIN_TOKEN_HASH="))
    return token.strip(), hashed.split("=", 1)[1].strip()


def status_with(base_url: str, token: str) -> int:
    """The status of GET /api/imports with this bearer token."""
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(base_url + FLOOD_PATH, headers=headers, timeout=60).status_code


def reads(base_url: str, seconds: float, memory: TreeMemory) -> tuple[WrkResult, int]:
    """wrk on the public read; the server's peak tree RSS over the run."""
    memory.peak = 0
    result = wrk(base_url + READ_PATH, seconds=seconds)
    return result, memory.peak


def reads_under_flood(atlas: Server, seconds: float,
                      memory: TreeMemory) -> tuple[WrkResult, int, WrkResult, list[int]]:
    """The reads while a second wrk floods the admin route with a wrong token."""
    flood: list[WrkResult] = []
    flooder = threading.Thread(target=lambda: flood.append(wrk(
        atlas.base_url + FLOOD_PATH, seconds=seconds + 2 * FLOOD_HEAD_START,
        connections=FLOOD_CONNECTIONS, headers=[f"Authorization: Bearer {WRONG_TOKEN}"])))
    flooder.start()
    time.sleep(FLOOD_HEAD_START)
    statuses = [status_with(atlas.base_url, WRONG_TOKEN)]
    result, peak = reads(atlas.base_url, seconds, memory)
    statuses.append(status_with(atlas.base_url, WRONG_TOKEN))
    flooder.join()
    return result, peak, flood[0], statuses


def lines_for(alone: tuple[WrkResult, int], flooded: tuple[WrkResult, int, WrkResult, list[int]],
              workers: str, seconds: float) -> list[str]:
    """The result table and the notes under it."""
    (quiet, quiet_rss), (loud, loud_rss, flood, statuses) = alone, flooded
    ratio = loud.rate / quiet.rate if quiet.rate else 0.0
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    return [
        "| phase | req/s | p50 ms | p99 ms | errors | server peak RSS |",
        "|---|---:|---:|---:|---:|---:|",
        f"| `{READ_PATH}` alone | {quiet.rate:,.1f} | {quiet.p50_ms:,.1f} | "
        f"{quiet.p99_ms:,.1f} | {quiet.errors + quiet.non_2xx} | {human_bytes(quiet_rss)} |",
        f"| `{READ_PATH}` under the flood | {loud.rate:,.1f} | {loud.p50_ms:,.1f} | "
        f"{loud.p99_ms:,.1f} | {loud.errors + loud.non_2xx} | {human_bytes(loud_rss)} |",
        f"| the flood: `{FLOOD_PATH}`, wrong token, {FLOOD_CONNECTIONS} connections | "
        f"{flood.rate:,.1f} | {flood.p50_ms:,.1f} | {flood.p99_ms:,.1f} | "
        f"{flood.errors} socket errors | |",
        "",
        f"Reads under the flood / reads alone: **{ratio:.2f}** (target ≥ {TARGET_RATIO}: "
        f"{verdict}). A wrong token was answered {statuses[0]} as the reads started and "
        f"{statuses[1]} as they ended. wrk: reads 8 connections, 2 threads, {seconds:g} s; "
        f"ess-atlas serve {workers}; server RSS summed over its process tree, sampled.",
    ]


def main() -> None:
    """Serve, measure both phases, print, record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="wrk duration of the reads")
    parser.add_argument("--no-record", action="store_true", help="do not touch results.md")
    args = parser.parse_args()
    stop_on_sigterm()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    token, token_hash = admin_token()
    port, options = free_port(), serve_options()
    env = ess_atlas_env(WORK / "atlas.sqlite3", ESS_LOAD_DEFAULT_DIRECTORY="true",
                        ESS_ADMIN_TOKEN_HASH=token_hash)
    command = [ESS_ATLAS, "serve", "--host", "127.0.0.1", "--port", str(port), *options]
    try:
        with server(command, port=port, ready_path=READ_PATH, env=env,
                    log=WORK / "serve.log") as atlas:
            if status_with(atlas.base_url, token) != 200:
                raise SystemExit("the right admin token is refused: the set-up is wrong")
            memory = TreeMemory(atlas.process.pid)
            memory.start()
            alone = reads(atlas.base_url, args.seconds, memory)
            flooded = reads_under_flood(atlas, args.seconds, memory)
            memory.finished.set()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    lines = lines_for(alone, flooded, " ".join(options) or "1 process", args.seconds)
    print("\n".join(lines))
    if not args.no_record:
        append_section("Wrong-token flood: public reads with and without it", lines)


if __name__ == "__main__":
    main()

