"""The uvicorn set-up (app/server.py): trusted proxies, header timeouts, workers."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import psutil
import pytest
from browser import free_port, running_server
from fastapi.testclient import TestClient
from pydantic import ValidationError
from test_cli_serve import serve_in_subprocess
from uvicorn.server import ServerState

from app.config import Settings
from app.main import create_app
from app.server import HeaderTimeoutProtocol, server_config

SettingsFactory = Callable[..., Settings]


@contextmanager
def serve(tmp_path: Path, *options: str, **environment: str) -> Iterator[str]:
    """`ess-atlas serve` on an empty database (no default directory), a tight geocode limit."""
    settings = {"ESS_LOAD_DEFAULT_DIRECTORY": "false", "ESS_GEOCODE_API_BURST": "3",
                "ESS_GEOCODE_API_RATE_LIMIT": "0.01", **environment}
    with serve_in_subprocess(tmp_path, *options, **settings) as base:
        yield base


def statuses_with_rotating_forwarded_for(base: str, count: int) -> list[int]:
    with httpx.Client(base_url=base, timeout=60) as client:
        return [
            client.get("/api/geocode", params={"q": "Lyon"},
                       headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code
            for i in range(count)
        ]


@pytest.mark.parametrize(
    ("trusted", "expected"), [("", [200, 200, 200, 429, 429, 429]), ("127.0.0.1", [200] * 6)]
)
def test_forwarded_for_counts_only_from_trusted_proxies(
    make_settings: SettingsFactory, trusted: str, expected: list[int]
) -> None:
    settings = make_settings(forwarded_allow_ips=trusted, geocode_api_burst=3,
                             geocode_api_rate_limit=0.01)
    port = free_port()
    with running_server(create_app(settings), port) as base:
        assert statuses_with_rotating_forwarded_for(base, 6) == expected


def test_serve_forwarded_allow_ips_option_trusts_the_proxy(tmp_path: Path) -> None:
    with serve(tmp_path, "--workers", "1", "--forwarded-allow-ips", "127.0.0.1") as base:
        assert statuses_with_rotating_forwarded_for(base, 6) == [200] * 6


def test_serve_with_two_workers_shares_one_sqlite_file(tmp_path: Path) -> None:
    with serve(tmp_path, "--workers", "2") as base:
        for _ in range(100):
            serving = [line for line in (tmp_path / "serve.log").read_text().splitlines()
                       if "Started server process" in line]
            if len(serving) == 2:
                break
            time.sleep(0.1)
        assert len(serving) == 2
        with httpx.Client(base_url=base, timeout=60) as client:
            answers = [client.get("/api/organisations", headers={"Connection": "close"})
                       for _ in range(10)]
    assert [a.status_code for a in answers] == [200] * 10


def listening_sockets(port: int) -> dict[int, set[int]]:
    """Each process's listening sockets on `port`, by pid: the sockets' inode numbers."""
    sockets: dict[int, set[int]] = {}
    for process in psutil.process_iter():
        for connection in _connections_of(process):
            if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
                try:
                    inode = Path(f"/proc/{process.pid}/fd/{connection.fd}").stat().st_ino
                except FileNotFoundError:  # the process ended meanwhile
                    continue
                sockets.setdefault(process.pid, set()).add(inode)
    return sockets


def workers_of(supervisor: psutil.Process, count: int) -> list[psutil.Process]:
    """The supervisor's `count` worker processes, once each listens on the port."""
    for _ in range(600):
        workers = [child for child in supervisor.children()
                   if "resource_tracker" not in " ".join(child.cmdline())]
        if len(workers) == count:
            return workers
        time.sleep(0.1)
    raise AssertionError(f"{supervisor.pid} has {len(workers)} workers, not {count}")


def connected_workers(base: str, connections: int) -> set[int]:
    """The pids holding the server end of `connections` keep-alive connections, once each
    connection has had an answer."""
    port = int(base.rsplit(":", 1)[1])
    clients = [httpx.Client(base_url=base, timeout=60) for _ in range(connections)]
    try:
        assert [client.get("/healthz").status_code for client in clients] == [200] * connections
        return {process.pid for process in psutil.process_iter()
                for connection in _connections_of(process)
                if connection.status == psutil.CONN_ESTABLISHED and connection.laddr.port == port}
    finally:
        for client in clients:
            client.close()


def _connections_of(process: psutil.Process) -> list[Any]:
    try:
        return list(process.net_connections(kind="tcp"))
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def test_each_worker_listens_on_a_socket_of_its_own(tmp_path: Path) -> None:
    """With one shared listening socket, asyncio's accept loop let one worker take every
    connection of a client; with a socket per worker (SO_REUSEPORT) the kernel spreads them.
    A worker started again after a crash gets a socket of its own too."""
    with serve(tmp_path, "--workers", "2") as base:
        port = int(base.rsplit(":", 1)[1])
        supervisor = next(p for p in psutil.process_iter(["cmdline"])
                          if "serve" in (p.info["cmdline"] or [])
                          and str(port) in (p.info["cmdline"] or []))
        workers = workers_of(supervisor, 2)
        listening = listening_sockets(port)
        assert supervisor.pid not in listening  # it holds the port, but does not listen
        assert sorted(listening) == sorted(w.pid for w in workers)
        assert [len(inodes) for inodes in listening.values()] == [1, 1]
        assert len(set().union(*listening.values())) == 2  # two sockets, not one shared
        # 24 connections all on one worker by chance: 2 ** -23
        assert connected_workers(base, 24) == {w.pid for w in workers}

        workers[0].kill()
        workers[0].wait(timeout=10)
        replaced = [w for w in workers_of(supervisor, 2) if w.pid != workers[1].pid]
        for _ in range(600):
            listening = listening_sockets(port)
            if replaced[0].pid in listening:
                break
            time.sleep(0.1)
        assert sorted(listening) == sorted([workers[1].pid, replaced[0].pid])
        assert len(set().union(*listening.values())) == 2
        with httpx.Client(base_url=base, timeout=60) as client:
            assert [client.get("/healthz", headers={"Connection": "close"}).status_code
                    for _ in range(20)] == [200] * 20


@pytest.fixture
def timeout_server(make_settings: SettingsFactory) -> Iterator[int]:
    settings = make_settings(header_timeout=1.0, keep_alive_timeout=1)
    port = free_port()
    with running_server(create_app(settings), port):
        yield port


def seconds_until_closed(sock: socket.socket) -> float:
    """Read until the server closes the connection; how long that took."""
    start = time.monotonic()
    sock.settimeout(10)
    while sock.recv(4096):
        pass
    return time.monotonic() - start


def test_half_a_request_line_is_closed_after_the_header_timeout(timeout_server: int) -> None:
    with socket.create_connection(("127.0.0.1", timeout_server)) as sock:
        sock.sendall(b"GET /healthz HT")
        assert 0.8 < seconds_until_closed(sock) < 8


def test_headers_trickling_in_are_closed_after_the_header_timeout(timeout_server: int) -> None:
    with socket.create_connection(("127.0.0.1", timeout_server)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        start = time.monotonic()
        sock.settimeout(0.2)
        while time.monotonic() - start < 10:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
                if sock.recv(4096) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        assert 0.8 < time.monotonic() - start < 8


def test_half_a_second_request_on_a_keep_alive_connection_is_closed(timeout_server: int) -> None:
    with socket.create_connection(("127.0.0.1", timeout_server)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /hea")
        assert 0.8 < seconds_until_closed(sock) < 8


def test_an_idle_keep_alive_connection_is_closed(timeout_server: int) -> None:
    with socket.create_connection(("127.0.0.1", timeout_server)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        assert 0.8 < seconds_until_closed(sock) < 4


def read_response(sock: socket.socket) -> bytes:
    """One whole HTTP response with a Content-Length: its status line, headers and body."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        body += sock.recv(4096)
    assert len(body) == length
    return head + b"\r\n\r\n" + body


def test_requests_in_time_are_served_one_after_another(timeout_server: int) -> None:
    with socket.create_connection(("127.0.0.1", timeout_server)) as sock:
        sock.settimeout(10)
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            time.sleep(0.5)
            sock.sendall(b"Host: x\r\n\r\n")
            assert read_response(sock).startswith(b"HTTP/1.1 200")


def test_connections_on_the_workers_socket_send_without_delay(
    make_settings: SettingsFactory,
) -> None:
    """On a listening socket made with protocol 0 (as uvicorn's for several workers was),
    asyncio leaves Nagle on for its connections, so the protocol turns it off itself."""
    config = server_config(create_app(make_settings()), make_settings(), host="127.0.0.1",
                           port=free_port(), workers=2, log_level="warning")
    config.load()
    assert config.http_protocol_class is HeaderTimeoutProtocol
    listener = config.bind_socket()
    listener.listen()
    loop = asyncio.new_event_loop()
    with listener, socket.create_connection(listener.getsockname()):
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            transport, _protocol = loop.run_until_complete(loop.connect_accepted_socket(
                lambda: HeaderTimeoutProtocol(config, ServerState(), {}, _loop=loop),
                accepted))
            try:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
            finally:
                transport.close()
                loop.run_until_complete(asyncio.sleep(0))
                loop.close()


@pytest.mark.parametrize("threads", [1, 3])
def test_a_worker_runs_at_most_request_threads_routes_at_once(
    make_settings: SettingsFactory, threads: int
) -> None:
    with TestClient(create_app(make_settings(request_threads=threads))) as client:
        assert client.portal is not None  # the app's event loop, while the client is open
        tokens = client.portal.call(
            lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
        assert client.get("/api/organisations?limit=1").status_code == 200
    assert tokens == threads


@pytest.mark.parametrize("value", ["0", "65", "many"])
def test_request_threads_out_of_range_are_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ESS_REQUEST_THREADS", value)
    with pytest.raises(ValidationError, match="request_threads"):
        Settings()
