"""A killed test process takes its PostgreSQL and Redis servers down with it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# Starts both servers the way the fixtures do, says their pids, then waits to be killed.
CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from postgres_cluster import PostgresCluster
from redis_server import redis_server
cluster = PostgresCluster()
print(json.dumps({{"directory": str(cluster.directory)}}), flush=True)
cluster.start_server()
with redis_server(Path({folder!r})) as url:
    port = url.rsplit(":", 1)[1].split("/")[0]
    print(json.dumps({{"postgres": cluster.pid, "redis_port": port}}), flush=True)
    time.sleep(600)
"""


def is_running(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def listening_pid(port: str) -> int:
    """The pid of the redis-server on a loopback port (its title: …/redis-server 127.0.0.1:N)."""
    title = f"redis-server 127.0.0.1:{port}".encode()
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            command = (entry / "cmdline").read_bytes()
            if entry.name.isdigit() and command.split(b" ")[0].endswith(b"redis-server") \
                    and title in command:
                return int(entry.name)
    raise AssertionError(f"no redis-server on port {port}")


def test_servers_die_when_the_process_that_started_them_is_killed(tmp_path: Path) -> None:
    code = CHILD.format(tests=str(TESTS), folder=str(tmp_path))
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                          text=True) as child:
        assert child.stdout is not None
        cluster_directory = json.loads(child.stdout.readline())["directory"]
        try:
            started = json.loads(child.stdout.readline())
            servers = [started["postgres"], listening_pid(started["redis_port"])]
            assert all(is_running(pid) for pid in servers)
            child.send_signal(signal.SIGKILL)  # no finally, no atexit: only the kernel can help
            child.wait()
            deadline = time.monotonic() + 60
            while any(is_running(pid) for pid in servers) and time.monotonic() < deadline:
                time.sleep(0.1)
            survivors = [pid for pid in servers if is_running(pid)]
            for pid in survivors:
                os.kill(pid, signal.SIGKILL)
            assert survivors == []
        finally:
            child.kill()
            shutil.rmtree(cluster_directory, ignore_errors=True)
