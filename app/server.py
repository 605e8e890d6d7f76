"""How ess-atlas runs under uvicorn: trusted proxies, timeouts, one or several workers.

uvicorn's keep-alive timeout stops as soon as any byte arrives, so a client that sends
half a request line holds its connection for ever. `HeaderTimeoutProtocol` closes a
connection whose request headers are not complete `header_timeout` seconds after the
connection opened or the previous response ended. It also turns Nagle's algorithm off on
every TCP connection, whatever made its listening socket: asyncio does so only for
sockets made with IPPROTO_TCP, and on the protocol-0 socket uvicorn used to share between
workers each answer written in two parts (headers, then body) waited for the client's
delayed ACK, 40 ms on Linux.

With several workers, each listens on a socket of its own (SO_REUSEPORT), and the kernel
spreads new connections over them: see `ReusePortListener`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from typing import Any, cast

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from app.config import Settings
from app.db import create_schema, make_engine
from app.loading import load_default_directory

# The module-level app of app.main, built from the environment in each worker.
APP_IMPORT_STRING = "app.main:app"
DEFAULT_HEADER_TIMEOUT = 10.0


logger = logging.getLogger("uvicorn.error")

# Seconds a new worker has to answer the supervisor's first ping.
WORKER_START_TIMEOUT_S = 60


class AtlasServerConfig(uvicorn.Config):
    """uvicorn's configuration plus the request-header timeout (pickled to the workers)."""

    def __init__(self, app: ASGIApp | str, *, header_timeout: float, **options: Any) -> None:
        super().__init__(app, **options)
        self.header_timeout = header_timeout


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections whose request headers come too slowly.

    httptools (llhttp, in C) rather than h11 (pure Python): parsing a request with h11 cost
    a noticeable share of a small answer's CPU.
    """

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout = getattr(config, "header_timeout", DEFAULT_HEADER_TIMEOUT)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Send each write at once; start counting until the first request's headers are in."""
        _send_without_delay(transport)
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline of a closed connection."""
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        """Stop counting once a request's headers are complete."""
        self._cancel_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        """Count again for the next request, unless one came pipelined (it starts now)."""
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None
                                                 or self.cycle.response_complete):
            self._arm_header_deadline()

    def _arm_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_late)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_late(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def _send_without_delay(transport: asyncio.BaseTransport) -> None:
    """TCP_NODELAY on a TCP connection's socket (a Unix socket has no Nagle to turn off)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def server_config(
    app: ASGIApp | str,
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int = 1,
    forwarded_allow_ips: str | None = None,
    log_level: str = "info",
) -> AtlasServerConfig:
    """The uvicorn configuration of an ess-atlas server.

    X-Forwarded-For/-Proto are read only from the addresses in `forwarded_allow_ips`
    (else ESS_FORWARDED_ALLOW_IPS); when none is given they are ignored.
    """
    trusted = settings.forwarded_allow_ips if forwarded_allow_ips is None else forwarded_allow_ips
    return AtlasServerConfig(
        app,
        header_timeout=settings.header_timeout,
        host=host,
        port=port,
        workers=workers,
        http=HeaderTimeoutProtocol,
        ws="none",
        proxy_headers=bool(trusted.strip()),
        forwarded_allow_ips=trusted.strip() or None,
        timeout_keep_alive=settings.keep_alive_timeout,
        server_header=False,
        log_level=log_level,
        # A worker answers the supervisor's ping only once the app is imported, which takes
        # seconds on a busy machine (GDAL, Arrow); uvicorn's 5 s would kill healthy workers.
        timeout_worker_healthcheck=WORKER_START_TIMEOUT_S,
    )


def prepare_database(settings: Settings) -> None:
    """Create the schema and preload the default directory once, before workers start."""
    engine = make_engine(settings.database_url)
    try:
        create_schema(engine, migrate=settings.migrates_schema)
        if settings.load_default_directory:
            load_default_directory(engine, settings)
    finally:
        engine.dispose()


class ReusePortListener:
    """What the supervisor hands each worker instead of a shared listening socket.

    With one listening socket shared by every worker, the kernel wakes an idle worker and
    asyncio accepts every pending connection at once, so one worker often takes all of a
    client's keep-alive connections while the other idles (8 wrk connections on 2 workers:
    one OGC page 46 req/s with all 8 on one worker, 86-121 with both). Listening sockets of
    their own, bound with SO_REUSEPORT to one port, let the kernel spread new connections
    over the workers by a hash of their addresses.

    uvicorn's supervisor pickles its `sockets` into each worker it starts (at start, after a
    crash, on SIGHUP and SIGTTIN); unpickled there, this object becomes that worker's own
    listening socket. The supervisor itself holds the port bound but not listening
    (`reserve_port`), so the port stays ours while workers come and go.
    """

    def __init__(self, host: str, port: int, backlog: int) -> None:
        self.host, self.port, self.backlog = host, port, backlog

    def __reduce__(self) -> tuple[Any, tuple[str, int, int]]:
        return (listening_socket, (self.host, self.port, self.backlog))


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A worker's own listening socket on the shared port (see `ReusePortListener`)."""
    sock = _reuse_port_socket(host, port)
    sock.listen(backlog)
    return sock


def reserve_port(config: uvicorn.Config) -> socket.socket:
    """The supervisor's hold on the port: bound with SO_REUSEPORT, never listening.

    A socket that does not listen receives no connection; it only keeps the port for the
    workers' sockets (port 0 becomes a free port here, once). A port already taken stops
    the server with uvicorn's message and exit status.
    """
    try:
        sock = _reuse_port_socket(config.host, config.port)
    except OSError as exc:
        logger.error(exc)
        sys.exit(STARTUP_FAILURE)
    address = "[%s]" if ":" in config.host else "%s"
    logger.info(f"Uvicorn running on http://{address}:%d (Press CTRL+C to quit)",
                config.host, sock.getsockname()[1])
    return sock


def run_server(config: AtlasServerConfig) -> None:
    """Serve until stopped: in this process, or in `config.workers` worker processes."""
    if config.workers <= 1:
        uvicorn.Server(config).run()
        return
    with reserve_port(config) as reserved:
        listener = ReusePortListener(config.host, reserved.getsockname()[1], config.backlog)
        Multiprocess(config, sockets=[cast(socket.socket, listener)]).run()
