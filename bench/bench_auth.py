"""Wrong-token flood: public reads per second alone and beside a flood on /api/imports.

Starts the real app under uvicorn on a loopback port with a scrypt admin hash (the slow
case), then runs wrk on /api/organisations/1 alone, and again beside a wrk flood of wrong
Bearer tokens on /api/imports: once with the default per-client failure limit, once with
the limit lifted (every wrong token then reaches scrypt, at most two at a time). For a
yardstick, the same reads beside a flood of requests for a path that does not exist (404):
on a shared machine any closed-loop flood takes its share. Prints a table and appends its
rows to bench/results.md.

    python bench/bench_auth.py [--rows 10000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_api import fill, free_port, record, serve  # noqa: E402

from app.auth import hash_token  # noqa: E402
from app.config import Settings  # noqa: E402

TOKEN = "a-chosen-admin-token-of-some-length"
WRONG = "Authorization: Bearer a-wrong-admin-token-of-some-length"


def wrk(url: str, seconds: int, connections: int, *headers: str) -> subprocess.Popen[str]:
    """Start wrk; its report comes on stdout."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    for header in headers:
        command += ["-H", header]
    return subprocess.Popen([*command, url], stdout=subprocess.PIPE, text=True)


def requests_per_second(process: subprocess.Popen[str]) -> float:
    """The Requests/sec line of a finished wrk."""
    output, _ = process.communicate()
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if found is None:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    return float(found.group(1))


def rss_mib() -> float:
    """Resident memory of this process (the server runs in it), in MiB."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def reads(
    base: str, seconds: int, flood_headers: list[str] | None, flood_path: str = "/api/imports"
) -> tuple[float, float]:
    """Public reads per second, and flood requests per second (0 without a flood)."""
    flood = wrk(f"{base}{flood_path}", seconds, 32, *flood_headers) if flood_headers is not None \
        else None
    public = requests_per_second(wrk(f"{base}/api/organisations/1", seconds, 8))
    return public, requests_per_second(flood) if flood else 0.0


def scenario(url: str, seconds: int, burst: int) -> tuple[float, float, float, float, float]:
    """Reads alone, beside the flood, beside a 404 flood; flood req/s; memory growth MiB."""
    settings = Settings(database_url=url, load_default_directory=False,
                        admin_token_hash=hash_token(TOKEN), admin_failure_burst=burst)
    port = free_port()
    server = serve(settings, port)
    base = f"http://127.0.0.1:{port}"
    alone, _ = reads(base, seconds, None)
    before = rss_mib()
    flooded, flood = reads(base, seconds, [WRONG])
    grown = rss_mib() - before
    beside_404, _ = reads(base, seconds, [], "/no-such-page")
    server.should_exit = True
    return alone, flooded, beside_404, flood, grown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    results: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        fill(url, args.rows)
        for label, burst in (("failure limit on", 5), ("failure limit off", 10**9)):
            alone, flooded, beside_404, flood, grown = scenario(url, args.seconds, burst)
            print(f"{label}: reads alone {alone:.0f}/s, beside the flood {flooded:.0f}/s "
                  f"({flooded / alone:.0%}), beside a 404 flood {beside_404:.0f}/s "
                  f"({beside_404 / alone:.0%}), flood {flood:.0f} wrong tokens/s, "
                  f"memory +{grown:.0f} MiB")
            results += [(f"public reads beside a wrong-token flood, {label}", flooded / alone
                         * 100, "% of alone"),
                        (f"public reads alone ({label} run)", alone, "req/s"),
                        (f"public reads beside a 404 flood ({label} run)", beside_404 / alone
                         * 100, "% of alone"),
                        (f"wrong-token flood answered, {label}", flood, "req/s"),
                        (f"server memory growth under the flood, {label}", grown, "MiB")]
    if not args.no_record:
        record(results)


if __name__ == "__main__":
    main()
