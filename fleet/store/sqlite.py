"""The status store on SQLite: one file, safe to share between processes on one machine.

Every write transaction starts with ``BEGIN IMMEDIATE``: it takes the database's single write
lock at once (waiting up to ``BUSY_TIMEOUT`` for another writer), so two runs registering at the
same moment are serialised and a read-then-write transaction never has to upgrade its lock (the
upgrade is where SQLite would fail with "database is locked" instead of waiting). The journal
stays in SQLite's default rollback mode: a process killed in the middle of a commit leaves a hot
journal that the next connection rolls back, and the file works on network filesystems, where
WAL mode does not.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from fleet import errors, redact
from fleet.store import backend, location

BUSY_TIMEOUT = 30.0  # seconds a writer waits for another writer's transaction to end


class SQLite:
    kind = location.Backend.SQLITE

    def __init__(self, where: location.Location) -> None:
        self.location = where
        self.path = Path(where.target)

    def connect(self, *, create: bool) -> Any:
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise errors.InputError(
                "holds no status yet: run `fleet sync` or `fleet diff` first", file=self.location.display
            )
        # isolation_level=None: no implicit BEGIN from the module; the store says BEGIN itself.
        return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)

    def begin(self, conn: Any, *, write: bool) -> None:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def serialise(self, tx: backend.Tx, key: str) -> None:
        """Nothing to do: BEGIN IMMEDIATE already made this the only writer of the file."""

    def tables(self, tx: backend.Tx) -> set[str]:
        return {row[0] for row in tx.all("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def placeholder(self, sql: str) -> str:
        return sql

    def error(self, exc: Exception) -> errors.FleetError | None:
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
            return errors.InputError("is not a SQLite database", file=self.location.display)
        if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
            return backend.StoreUnavailable(f"status store {self.location.display}: {redact.mask(str(exc))}")
        return None


__all__ = ["BUSY_TIMEOUT", "SQLite"]
