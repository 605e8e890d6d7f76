"""What the HTTP benchmarks share: loopback servers, wrk runs, peak memory, results.md.

Every server is a subprocess in its own process group on a free loopback port, stopped
(SIGTERM, then SIGKILL) when its `with` block ends, also on an error or Ctrl-C; a SIGTERM
sent to the benchmark itself unwinds the same way.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results.md"
VENV_BIN = Path(sys.executable).parent
ESS_ATLAS = str(VENV_BIN / "ess-atlas")
LOOPBACK = "127.0.0.1"
# How a benchmark knows an ess-atlas server is up: a read of the database, not /healthz,
# whose first call starts SQLite's quick_check in the background (it reads the whole file:
# 5.4 s of CPU at 1,000,000 structures, 44 s of reads when the file is not cached), which
# would run beside the first figures.
ATLAS_READY_PATH = "/api/organisations?limit=1"
STOP_GRACE_SECONDS = 10
GNU_TIME = "/usr/bin/time"  # Debian package `time`
WRK_SCRIPT = """
local paths = {}
local counter = 0
function init(args)
  if args[1] then
    for line in io.lines(args[1]) do paths[#paths + 1] = line end
  end
end
function request()
  if #paths == 0 then return wrk.request() end
  counter = counter + 1
  return wrk.format(nil, paths[(counter % #paths) + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, '
    .. '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks stop the servers."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def timed(spent: Counter[str], name: str, function: Callable[..., Any],
          clock: Callable[[], float] = time.process_time) -> Callable[..., Any]:
    """`function`, adding the seconds of `clock` it takes to `spent[name]`."""
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += clock() - started
    return wrapper


def sizes_wanted(argument: str | None, variable: str, default: str, minimum: int = 1) -> list[int]:
    """The sizes (N) to run: from --sizes, else the environment variable, else the default."""
    text = argument or os.environ.get(variable) or default
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"sizes must be comma-separated whole numbers, got {text!r}") from None
    if not sizes or min(sizes) < minimum:
        raise SystemExit(f"sizes must be at least {minimum:,}: {text!r}")
    return sizes


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_GRACE_SECONDS)


def _wait_ready(process: subprocess.Popen[bytes], url: str, timeout: float, log: Path) -> None:
    """Poll `url` until it answers 200; fail with the log's tail if the server dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@dataclass(frozen=True)
class Server:
    """A running server: where it listens and its process (the group leader)."""

    base_url: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def server(command: Sequence[str], *, port: int, ready_path: str, env: dict[str, str],
           log: Path, timeout: float = 120) -> Iterator[Server]:
    """Start `command` (already told to listen on `port`), yield once ready, always stop it."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        base_url = f"http://{LOOPBACK}:{port}"
        _wait_ready(process, base_url + ready_path, timeout, log)
        yield Server(base_url, process)
    finally:
        _stop_group(process)


def _cpu_seconds(root: psutil.Process) -> float:
    """CPU time used so far by a process and its descendants."""
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def settle(running: Server, *, idle_share: float = 0.1, window: float = 0.5,
           timeout: float = 90) -> float:
    """Wait until the server is idle (it may still be working on requests wrk gave up on).

    Returns the seconds waited; gives up after `timeout` (the next figure is then pessimistic).
    """
    root, started = psutil.Process(running.process.pid), time.monotonic()
    while time.monotonic() - started < timeout:
        before = _cpu_seconds(root)
        time.sleep(window)
        if (_cpu_seconds(root) - before) / window < idle_share:
            break
    return time.monotonic() - started


def serve_options() -> list[str]:
    """Extra `ess-atlas serve` options this checkout supports (`--workers 2` once it exists)."""
    help_text = subprocess.run([ESS_ATLAS, "serve", "--help"], capture_output=True, text=True,
                               check=True, env={**os.environ, "COLUMNS": "200"}).stdout
    return ["--workers", str(os.cpu_count() or 2)] if "--workers" in help_text else []


def ess_atlas_env(database: Path, **extra: str) -> dict[str, str]:
    """Environment for an ess-atlas subprocess on `database`, no preloaded directory."""
    return {**os.environ, "ESS_DATABASE_URL": f"sqlite:///{database}",
            "ESS_LOAD_DEFAULT_DIRECTORY": "false", **extra}


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles, failures."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_2xx: int

    @property
    def rate(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def combined(runs: Sequence[WrkResult]) -> WrkResult:
    """Several wrk runs of one query as one: all their requests over all their seconds, the
    median of their p50s, the highest of their p99s, every failure."""
    return WrkResult(sum(r.requests for r in runs), sum(r.seconds for r in runs),
                     statistics.median(r.p50_ms for r in runs), max(r.p99_ms for r in runs),
                     sum(r.errors for r in runs), sum(r.non_2xx for r in runs))


def wrk(url: str, *, seconds: float, connections: int = 8, threads: int = 2,
        paths: Sequence[str] = (), headers: Sequence[str] = ()) -> WrkResult:
    """Run wrk against `url` (or rotate over `paths` on its host) and read its JSON summary."""
    with tempfile.TemporaryDirectory(prefix="ess-wrk-") as folder:
        script, path_file = Path(folder) / "bench.lua", Path(folder) / "paths.txt"
        script.write_text(WRK_SCRIPT)
        path_file.write_text("".join(f"{path}\n" for path in paths))
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout",
                   "30s", "-s", str(script)]
        for header in headers:
            command += ["-H", header]
        command += [url, "--", str(path_file)] if paths else [url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60,
                              check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH-JSON "))
    summary = json.loads(line.removeprefix("BENCH-JSON "))
    socket_errors = sum(summary[key] for key in ("connect", "read", "write", "timeout"))
    return WrkResult(summary["requests"], summary["duration_us"] / 1e6, summary["p50_us"] / 1e3,
                     summary["p99_us"] / 1e3, socket_errors, summary["status"])


@dataclass(frozen=True)
class Measured:
    """A finished command: wall time, exit status, memory peaks, output files."""

    seconds: float
    returncode: int
    max_rss_bytes: int
    tree_rss_bytes: int
    stdout: Path
    stderr: Path


class TreeMemory(threading.Thread):
    """Polls the summed RSS of a process and its descendants; keeps the peak."""

    INTERVAL = 0.05

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak, self.finished = psutil.Process(pid), 0, threading.Event()

    def run(self) -> None:
        """Sample until told to stop or the process is gone."""
        while not self.finished.wait(self.INTERVAL):
            with contextlib.suppress(psutil.Error):
                family = [self.root, *self.root.children(recursive=True)]
                self.peak = max(self.peak, sum(_rss(p) for p in family))


def _rss(process: psutil.Process) -> int:
    try:
        return int(process.memory_info().rss)
    except psutil.Error:
        return 0


def run_measured(command: Sequence[str], *, env: dict[str, str], folder: Path, name: str,
                 timeout: float = 3600) -> Measured:
    """Run a command to completion: wall time, largest-process peak RSS, sampled tree RSS.

    The command runs under GNU time, whose report of the largest RSS is exact; the wait4
    figure of a child forked straight from this (large) Python process would include the
    pages it had before exec. Killed with its process group after `timeout` seconds.
    """
    stem = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
    stdout, stderr, peak = (folder / f"{stem}.{suffix}" for suffix in ("out", "err", "maxrss"))
    timed = [GNU_TIME, "--format", "%M", "--output", str(peak), *command]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(timed, env=env, stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        poller, killer = TreeMemory(process.pid), threading.Timer(timeout, _kill_group, [process])
        poller.start()
        killer.start()
        try:
            process.wait()
        except BaseException:
            _stop_group(process)
            raise
        finally:
            poller.finished.set()
            killer.cancel()
        seconds = time.perf_counter() - started
    # GNU time reports KiB (and says "Command exited with non-zero status" first when it did).
    max_rss_kib = int(peak.read_text().split()[-1])
    return Measured(seconds, process.returncode, max_rss_kib * 1024, poller.peak, stdout,
                    stderr)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def machine() -> str:
    """CPU model, cores, memory, OS: the line that says where numbers were measured."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = psutil.virtual_memory().total / 2**30
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB, {platform.platform()}"


def git_revision() -> str:
    """The checkout's commit (and `+dirty` when it has changes)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=False).stdout.strip()
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain")
                                                  else "")


def append_section(title: str, lines: Sequence[str]) -> None:
    """Append a dated section (title, machine, commit, then `lines`) to bench/results.md."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(f"\n## {title}, {stamp}\n\n")
        out.write(f"Machine: {machine()}. Commit: {git_revision()}.\n\n")
        out.write("".join(f"{line}\n" for line in lines))
        # The other benchmarks append `| name | value | unit | date |` rows at the end of the
        # file: give them their table header again so they do not run into this section.
        out.write("\n| benchmark | value | unit | date |\n|---|---|---|---|\n")


def human_bytes(count: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, as sizes on the wire are quoted)."""
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"
