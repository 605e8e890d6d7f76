"""A real addok (+ Redis) on loopback, built from a BAN-format NDJSON file.

addok pins its dependencies exactly and ships a pytest plugin that flushes Redis, so it
lives in its own virtualenv under var/ (git-ignored), created once and reused. Redis is
Debian's `redis-server`, started on a free loopback port with persistence off.

Used by tests/geocode/conftest.py (session fixture) and bench/bench_geocode.py.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from redis_server import answers_ping

REPO_ROOT = Path(__file__).resolve().parents[2]
ADDOK_VENV = REPO_ROOT / "var" / "addok-venv"
ADDOK_PACKAGES = ("addok", "addok-fr", "addok-france", "addok-csv")
FIXTURE_NDJSON = REPO_ROOT / "tests" / "fixtures" / "addok" / "addresses.ndjson"
INSTALL_STAMP = ".ess-atlas-packages"
STARTUP_TIMEOUT = 60.0

# The configuration the BAN runs (addok-fr phonetics, addok-france address parsing and
# labels), with citycode indexed and usable as a filter like on the public API.
CONFIG_TEMPLATE = """\
REDIS = {{
    "host": "127.0.0.1",
    "port": {redis_port},
    "indexes": {{"db": 0}},
    "documents": {{"db": 1}},
}}
LOG_DIR = {log_dir!r}
ATTRIBUTION = "BAN"
LICENCE = "ETALAB-2.0"
BATCH_WORKERS = 1
EXTRA_FIELDS = [{{"key": "citycode"}}, {{"key": "district"}}]
FILTERS = ["type", "citycode", "postcode"]
QUERY_PROCESSORS_PYPATHS = [
    "addok.helpers.text.check_query_length",
    "addok_france.extract_address",
    "addok_france.clean_query",
    "addok_france.remove_leading_zeros",
]
SEARCH_RESULT_PROCESSORS_PYPATHS = [
    "addok.helpers.results.match_housenumber",
    "addok_france.make_labels",
    "addok.helpers.results.score_by_importance",
    "addok.helpers.results.score_by_autocomplete_distance",
    "addok.helpers.results.score_by_ngram_distance",
    "addok.helpers.results.score_by_geo_distance",
]
PROCESSORS_PYPATHS = [
    "addok.helpers.text.tokenize",
    "addok.helpers.text.normalize",
    "addok_france.glue_ordinal",
    "addok_france.fold_ordinal",
    "addok_france.flag_housenumber",
    "addok.helpers.text.synonymize",
    "addok_fr.phonemicize",
]
"""


class AddokSetupError(RuntimeError):
    """Redis or addok could not be installed, indexed or started."""


@dataclass
class AddokTimings:
    """How long each set-up step took, in seconds (0.0 when the step was reused)."""

    venv_install: float = 0.0
    batch_import: float = 0.0
    ngrams: float = 0.0
    startup: float = 0.0


def free_port() -> int:
    """Return a TCP port nobody listens on right now, on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def ensure_addok_venv(venv: Path = ADDOK_VENV) -> tuple[Path, float]:
    """Create the addok virtualenv once; return its `addok` executable and the install time."""
    addok = venv / "bin" / "addok"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / "addok-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed_packages(venv) == list(ADDOK_PACKAGES) and addok.exists():
            return addok, 0.0
        started = time.perf_counter()
        _install_addok(venv)
        return addok, time.perf_counter() - started


def _installed_packages(venv: Path) -> list[str]:
    stamp = venv / INSTALL_STAMP
    return stamp.read_text().split() if stamp.exists() else []


def _install_addok(venv: Path) -> None:
    if venv.exists():
        shutil.rmtree(venv)
    _run_step([sys.executable, "-m", "venv", str(venv)], "create the addok virtualenv")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    # python-geohash (an addok dependency) has no wheel: it compiles with gcc + Python.h.
    what = f"pip install {' '.join(ADDOK_PACKAGES)} (needs PyPI, gcc and python3-dev)"
    _run_step([*pip, *ADDOK_PACKAGES], what)
    (venv / INSTALL_STAMP).write_text("\n".join(ADDOK_PACKAGES) + "\n")


def _run_step(
    command: list[str], what: str, env: dict[str, str] | None = None, timeout: float = 900.0
) -> None:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AddokSetupError(f"could not {what}: {exc}") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-3000:]
        raise AddokSetupError(f"could not {what} (exit {done.returncode}):\n{output}")


def redis_server_path() -> str:
    """Return the redis-server executable, or raise AddokSetupError naming the package."""
    found = shutil.which("redis-server")
    if found is None:
        raise AddokSetupError(
            "redis-server is not installed: the addok tests need Debian's redis-server "
            "(apt-get install -y redis-server)"
        )
    return found


@dataclass
class AddokService:
    """Redis + addok serving `ndjson` on loopback; use as a context manager."""

    ndjson: Path
    workdir: Path
    venv: Path = ADDOK_VENV
    timings: AddokTimings = field(default_factory=AddokTimings)
    base_url: str = ""
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Install (once), start Redis, index the NDJSON, serve; sets `base_url`."""
        redis_server = redis_server_path()
        addok, self.timings.venv_install = ensure_addok_venv(self.venv)
        self.workdir.mkdir(parents=True, exist_ok=True)
        redis_port = self._start_redis(redis_server)
        env = self._addok_env(redis_port)
        self.timings.batch_import = self._timed_step([str(addok), "batch", str(self.ndjson)], env)
        self.timings.ngrams = self._timed_step([str(addok), "ngrams"], env)
        self._serve(addok, env)

    def stop(self) -> None:
        """Stop addok then Redis (processes this service started), close the logs."""
        for process in reversed(self._processes):
            _terminate(process)
        self._processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def _start_redis(self, redis_server: str) -> int:
        port = free_port()
        command = [redis_server, "--port", str(port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self._spawn(command, "redis.log", env=None)
        _wait_for(lambda: answers_ping(port), "redis-server", self._processes[-1])
        return port

    def _addok_env(self, redis_port: int) -> dict[str, str]:
        config = self.workdir / "addok.conf"
        config.write_text(CONFIG_TEMPLATE.format(redis_port=redis_port, log_dir=str(self.workdir)))
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "ADDOK_CONFIG_MODULE": str(config),
        }

    def _timed_step(self, command: list[str], env: dict[str, str]) -> float:
        started = time.perf_counter()
        _run_step(command, " ".join(command[1:]), env=env)
        return time.perf_counter() - started

    def _serve(self, addok: Path, env: dict[str, str]) -> None:
        started = time.perf_counter()
        port = free_port()
        command = [str(addok), "serve", "--host", "127.0.0.1", "--port", str(port)]
        self._spawn(command, "addok-serve.log", env=env)
        self.base_url = f"http://127.0.0.1:{port}"
        _wait_for(lambda: _addok_answers(self.base_url), "addok serve", self._processes[-1])
        self.timings.startup = time.perf_counter() - started

    def _spawn(self, command: list[str], log_name: str, env: dict[str, str] | None) -> None:
        log = open(self.workdir / log_name, "wb")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        try:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        except OSError as exc:
            raise AddokSetupError(f"could not start {command[0]}: {exc}") from exc
        self._processes.append(process)


def _wait_for(
    ready: Callable[[], bool],
    what: str,
    process: subprocess.Popen[bytes],
    timeout: float = STARTUP_TIMEOUT,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AddokSetupError(f"{what} exited with {process.returncode} before answering")
        if ready():
            return
        time.sleep(0.05)
    raise AddokSetupError(f"{what} did not answer within {timeout:.0f} s")


def _addok_answers(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/health", timeout=2.0) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
