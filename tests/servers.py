"""`ess-atlas serve` processes for tests: started on a free loopback port, stopped after."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
from browser import free_port


def environment_without_settings(**settings: str) -> dict[str, str]:
    """This process's environment without any ESS_ variable or PYTHONPATH, plus `settings`."""
    kept = {k: v for k, v in os.environ.items()
            if not k.startswith("ESS_") and k != "PYTHONPATH"}
    return kept | settings


def wait_until_up(base: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    """Wait for GET /healthz to answer 200; fail at once if the server exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"ess-atlas serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"ess-atlas serve did not answer within {seconds:.0f} s")


@contextmanager
def serving(
    command: Sequence[str], environment: dict[str, str], log: Path, cwd: Path | None = None
) -> Iterator[str]:
    """Run `command ... serve` with `--port` appended; yield its base URL, then stop it."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen([*command, "--port", str(port)], env=environment, cwd=cwd,
                                   stdout=output, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base, process)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)
