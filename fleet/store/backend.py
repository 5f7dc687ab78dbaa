"""What the status store needs from a database, and one transaction over it.

The store's SQL is written once, with ``?`` placeholders, in the subset SQLite and PostgreSQL
share (``INSERT ... ON CONFLICT ... DO UPDATE``, ``ALTER TABLE ... ADD COLUMN``, ``TEXT``,
``INTEGER``, ``DOUBLE PRECISION``). A backend (``sqlite.py``, ``postgres.py``) supplies what
differs: connecting, how a write transaction starts, how writers of one fleet are serialised,
its placeholder, and how its errors read.

Why not SQLAlchemy Core: the statements are a dozen and already portable; what differs between
the two databases here is transaction start and locking (``BEGIN IMMEDIATE`` against an advisory
lock), which SQLAlchemy leaves to the dialect-specific code anyway. It would add a dependency and
a pool layer without removing any of that code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from fleet import errors
from fleet.store import location


class StoreUnavailable(errors.TemporaryError):
    """The store did not answer: unreachable, refused the connection, or locked past the timeout.
    Nothing was written; the same call may pass later."""


class Backend(Protocol):
    """One database the store can run on."""

    kind: location.Backend
    location: location.Location

    def connect(self, *, create: bool) -> Any:
        """A DB-API connection in autocommit mode (the store issues BEGIN and COMMIT itself).
        ``create=False``: raise ``InputError`` when the store does not exist yet."""
        ...

    def begin(self, conn: Any, *, write: bool) -> None:
        """Start a transaction; a write transaction that cannot deadlock with another writer."""
        ...

    def serialise(self, tx: Tx, key: str) -> None:
        """Within a write transaction: wait until no other transaction holds ``key`` (until commit)."""
        ...

    def tables(self, tx: Tx) -> set[str]: ...

    def placeholder(self, sql: str) -> str:
        """``sql`` with this driver's placeholders for ``?``."""
        ...

    def error(self, exc: Exception) -> errors.FleetError | None:
        """The FleetError an exception of this driver means (None: not the driver's)."""
        ...


class Tx:
    """One transaction: ``execute`` / ``one`` / ``all`` with ``?`` placeholders."""

    def __init__(self, conn: Any, backend: Backend) -> None:
        self.conn = conn
        self.backend = backend

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(self.backend.placeholder(sql), tuple(params))

    def one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self.execute(sql, params).fetchall())

    def changed(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a write; how many rows it changed."""
        return int(self.execute(sql, params).rowcount)


@contextlib.contextmanager
def transaction(backend: Backend, *, write: bool, create: bool = True) -> Iterator[Tx]:
    """A transaction on a fresh connection: committed when the block ends, rolled back when it
    raises. Driver errors become FleetErrors naming the store (never its password)."""
    try:
        conn = backend.connect(create=create)
    except errors.FleetError:
        raise
    except Exception as exc:
        known = backend.error(exc)
        if known is None:
            raise
        raise known from None
    try:
        backend.begin(conn, write=write)
        tx = Tx(conn, backend)
        try:
            yield tx
        except BaseException:
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except errors.FleetError:
        raise
    except Exception as exc:
        known = backend.error(exc)
        if known is None:
            raise
        raise known from None
    finally:
        with contextlib.suppress(Exception):
            conn.close()


__all__ = ["Backend", "StoreUnavailable", "Tx", "transaction"]
