"""The status store on PostgreSQL, through psycopg 3: one database shared by every host that runs
fleet (CronJobs, CI, laptops, ``fleet serve``).

Transactions run at READ COMMITTED. Writers that must not interleave (two runs of one fleet
registering, two processes migrating the schema) first take a transaction-scoped advisory lock
on a key (``pg_advisory_xact_lock``): it is released by COMMIT or ROLLBACK, and by the server
when the connection dies, so a killed process never leaves it behind. Row updates of a run by
its own heartbeat touch one row and take no advisory lock, so they cannot deadlock with them.

A connection per transaction keeps each call independent of the last (a restarted server costs
one failed call, not a broken process); a long-lived service may add a pool later.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fleet import errors, redact
from fleet.store import backend, location

CONNECT_TIMEOUT = 10  # seconds; libpq's connect_timeout
APPLICATION_NAME = "fleet"  # shown in pg_stat_activity


class PostgreSQL:
    kind = location.Backend.POSTGRESQL

    def __init__(self, where: location.Location) -> None:
        self.location = where

    def connect(self, *, create: bool) -> Any:
        import psycopg  # imported here: SQLite users never load the driver

        return psycopg.connect(
            self.location.target,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name=APPLICATION_NAME,
        )

    def begin(self, conn: Any, *, write: bool) -> None:
        conn.execute("BEGIN")

    def serialise(self, tx: backend.Tx, key: str) -> None:
        tx.execute("SELECT pg_advisory_xact_lock(?)", (advisory_key(key),))

    def tables(self, tx: backend.Tx) -> set[str]:
        rows = tx.all(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {row[0] for row in rows}

    def placeholder(self, sql: str) -> str:
        # The store's SQL holds no literal '%' and no '?' outside placeholders.
        return sql.replace("?", "%s")

    def error(self, exc: Exception) -> errors.FleetError | None:
        import psycopg

        if isinstance(exc, psycopg.OperationalError):
            # libpq's first line says what failed (refused, timeout, authentication) and names the
            # host, never the password; mask anyway, as every message is.
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            return backend.StoreUnavailable(f"status store {self.location.display}: {redact.mask(first)}")
        if isinstance(exc, psycopg.Error):
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            return errors.FleetError(f"status store {self.location.display}: {redact.mask(first)}")
        return None


def advisory_key(key: str) -> int:
    """A stable signed 64-bit number for ``key`` (advisory locks are keyed by bigint)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


__all__ = ["APPLICATION_NAME", "CONNECT_TIMEOUT", "PostgreSQL", "advisory_key"]
