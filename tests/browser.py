"""Real-browser helpers: a uvicorn server in a thread and Debian's headless Chromium."""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from playwright.sync_api import BrowserContext, Playwright, expect, sync_playwright

from app.server import server_config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 30.0
# The machines running the suite are shared: a page may take longer than Playwright's 5 s.
expect.set_options(timeout=15_000)


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_server(app: FastAPI, port: int) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1:`port` in a thread; yield its base URL."""
    config = server_config(app, app.state.settings, host="127.0.0.1", port=port,
                           log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        _wait_until_started(server, thread)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    """Block until uvicorn accepts connections, or fail if it died or never did."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the uvicorn server stopped before it started listening")
        if time.monotonic() > deadline:
            raise RuntimeError("the uvicorn server did not start listening in time")
        time.sleep(0.02)


def launch_chromium(
    playwright: Playwright, user_data_dir: Path, **context_options: object
) -> BrowserContext:
    """Debian's Chromium, headless, in a fresh profile (fails if Chromium is missing)."""
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: install Debian's chromium package")
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=CHROMIUM,
        headless=False,  # --headless=new in CHROMIUM_ARGS makes it headless
        args=CHROMIUM_ARGS,
        **context_options,  # type: ignore[arg-type]
    )


@contextmanager
def desktop_chromium(profile: Path) -> Iterator[BrowserContext]:
    """A 1280×800 French-speaking headless Chromium, closed after use."""
    with sync_playwright() as playwright:
        context = desktop_context(playwright, profile, "fr-FR")
        yield context
        context.close()


def desktop_context(playwright: Playwright, profile: Path, locale: str) -> BrowserContext:
    """A 1280×800 headless Chromium whose language (Accept-Language too) is `locale`."""
    return launch_chromium(
        playwright, profile, viewport={"width": 1280, "height": 800}, locale=locale
    )


def solid_png(red: int, green: int, blue: int) -> bytes:
    """A 1×1 PNG of one colour, to answer tile requests without any network."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes([0, red, green, blue]))
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks
