"""A real PostgreSQL server for tests, started from Debian's binaries (``initdb``, ``pg_ctl``) in a
temporary directory: a free loopback port and a unix socket in that directory, a random password
(scram-sha-256), fsync off. As root, initdb and postgres refuse to run, so they run as the
``postgres`` user (``runuser``), which then owns the directory. ``stop`` stops exactly this server
(``pg_ctl stop`` on its data directory) and deletes the directory.

Not a stand-in: the status store's tests run against the real server (tests/fixtures/postgres.py).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

PG_USER = "fleet"  # the server's superuser (the tests' role)
RUN_AS = "postgres"  # the system user initdb and postgres run as when the tests run as root


def server_binaries() -> Path | None:
    """The directory of initdb and pg_ctl: on PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return candidates[-1].parent if candidates else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One throw-away PostgreSQL server (see the module docstring)."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        # Under /tmp, not pytest's tmp_path: that one is private to root, and the server may run
        # as another user.
        self.root = Path(tempfile.mkdtemp(prefix="fleet-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.password = os.urandom(16).hex()
        self.port = 0
        self.run_as = RUN_AS if os.geteuid() == 0 else None

    def _command(self, *argv: str) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *argv] if self.run_as else list(argv)

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._command(*argv), cwd=self.root, capture_output=True, text=True, check=False, timeout=120
        )

    def start(self) -> PostgresServer:
        self.socket_dir.mkdir()
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            for path in (self.root, self.socket_dir, password_file):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        init = self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", PG_USER, "--auth=scram-sha-256",
            f"--pwfile={password_file}", "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
        password_file.unlink()
        last = ""
        for _ in range(5):  # a free port can be taken by someone else before the server binds it
            self.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.socket_dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
            )
            started = self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                "-w", "-t", "60", "-o", options, "start",
            )  # fmt: skip
            if started.returncode == 0:
                return self
            last = (self.root / "server.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"postgres did not start: {last}")

    def stop(self) -> None:
        if self.data.exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://{PG_USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def socket_url(self, database: str) -> str:
        """The same database through the unix socket (libpq's ``host=`` a directory)."""
        return f"postgresql://{PG_USER}:{self.password}@/{database}?host={self.socket_dir}&port={self.port}"

    def admin(self) -> Any:
        """A psycopg connection to the server's ``postgres`` database (autocommit)."""
        import psycopg

        return psycopg.connect(self.url("postgres"), autocommit=True)

    def create_database(self) -> str:
        name = f"fleet_{uuid.uuid4().hex[:12]}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
