"""A real PostgreSQL 15 + PostGIS 3 cluster for the tests, one per session.

`initdb` runs in a temporary directory (as the `postgres` system user when the tests run
as root: PostgreSQL refuses root), the server listens on a free loopback port and on a
unix socket in that directory, and is stopped and removed at the end. The server is this
process's child, started through `setpriv --pdeathsig` (tests/orphans.py): a killed pytest
takes it down (immediate shutdown) instead of leaving it running. A template database
holds the extensions and the schema at head; each test gets its own copy of it
(`CREATE DATABASE … TEMPLATE`), dropped after the test.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from browser import free_port
from orphans import dies_with_parent

from app.db import create_schema, make_engine

SQLITE, POSTGIS = "sqlite", "postgis"
# A test module that sets `BACKENDS = BOTH_BACKENDS` runs its tests on each (tests/conftest.py).
BOTH_BACKENDS = (SQLITE, POSTGIS)
# Makes a new database of a module's backend in a folder; returns its URL (tests/conftest.py).
DatabaseUrls = Callable[[Path], str]
BIN = Path("/usr/lib/postgresql/15/bin")
USER = "ess"
TEMPLATE = "ess_template"
EXTENSIONS = ("postgis", "pg_trgm", "unaccent")
# Speed over durability: the cluster is thrown away after the session.
SETTINGS = {
    "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
    "max_connections": "300", "shared_buffers": "128MB", "listen_addresses": "127.0.0.1",
}


class PostgresSetupError(RuntimeError):
    """The cluster could not be made or started."""


def _as_server_user() -> list[str]:
    """The command prefix that runs a server program as a user PostgreSQL accepts."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(command: list[str]) -> None:
    """Run a server program; PostgresSetupError with its output if it fails."""
    done = subprocess.run([*_as_server_user(), *command], capture_output=True, text=True,
                          check=False, timeout=120)
    if done.returncode != 0:
        raise PostgresSetupError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")


@dataclass
class PostgresCluster:
    """A running cluster: its directory, port and the URLs of its databases."""

    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ess-pg-")))
    port: int = field(default_factory=free_port)
    settings: dict[str, str] = field(default_factory=lambda: dict(SETTINGS))
    _names: itertools.count[int] = field(default_factory=itertools.count)
    _server: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        """The cluster's data directory."""
        return self.directory / "data"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of a database of the cluster (through the unix socket)."""
        return f"postgresql+psycopg://{USER}@/{database}?host={self.directory}&port={self.port}"

    def start(self) -> None:
        """initdb, start the server, create the template database."""
        self.start_server()
        self.execute("postgres", f"CREATE DATABASE {TEMPLATE}")
        self.execute(TEMPLATE, *(f"CREATE EXTENSION IF NOT EXISTS {name}" for name in EXTENSIONS))
        engine = make_engine(self.url(TEMPLATE))
        try:
            create_schema(engine)
        finally:
            engine.dispose()

    def start_server(self) -> None:
        """initdb (unless the data directory is already made), then start the server."""
        if not (BIN / "initdb").exists():
            raise PostgresSetupError(f"{BIN / 'initdb'} is missing: install the Debian packages "
                                     "postgresql and postgresql-15-postgis-3 (make test does)")
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        if not (self.data / "PG_VERSION").exists():
            _run([str(BIN / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"])
        options = [f"--{name}={value}" for name, value in self.settings.items()]
        command = [str(BIN / "postgres"), "-D", str(self.data), "-p", str(self.port),
                   "-k", str(self.directory), *options]
        # SIGQUIT is the postmaster's immediate shutdown: its backends end with it.
        user = "postgres" if os.geteuid() == 0 else None
        with (self.directory / "log").open("ab") as log:
            self._server = subprocess.Popen(
                dies_with_parent(command, signal.SIGQUIT, user=user), stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 120) -> None:
        """Wait until the server accepts connections; PostgresSetupError if it exits first."""
        deadline = time.monotonic() + timeout
        while not self._accepts_connections():
            if self._server is not None and self._server.poll() is not None:
                log = (self.directory / "log").read_text(errors="replace")[-3000:]
                raise PostgresSetupError(f"postgres exited ({self._server.returncode}): {log}")
            if time.monotonic() > deadline:
                raise PostgresSetupError(f"postgres did not accept connections in {timeout} s")
            time.sleep(0.1)

    def _accepts_connections(self) -> bool:
        """pg_isready's answer for the server's socket."""
        command = [str(BIN / "pg_isready"), "-q", "-h", str(self.directory), "-p", str(self.port)]
        return subprocess.run(command, check=False).returncode == 0

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        return self._server.pid if self._server is not None else None

    def stop(self, *, remove: bool = True) -> None:
        """Stop the server (fast shutdown when its data is kept) and remove its directory."""
        if (self.data / "postmaster.pid").exists():
            mode = "immediate" if remove else "fast"
            _run([str(BIN / "pg_ctl"), "-D", str(self.data), "-w", "-m", mode, "stop"])
        if self._server is not None:
            self._server.wait(timeout=60)
            self._server = None
        if remove:
            shutil.rmtree(self.directory, ignore_errors=True)

    def execute(self, database: str, *statements: str) -> None:
        """Run statements outside a transaction (CREATE / DROP DATABASE)."""
        import psycopg

        with psycopg.connect(host=str(self.directory), port=self.port, user=USER,
                             dbname=database, autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement.encode())

    def new_database(self) -> str:
        """A new database copied from the template (schema at head); its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self.execute("postgres", f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")
        return name

    def drop_database(self, name: str) -> None:
        """Drop a test's database, ending the connections left to it."""
        self.execute("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
