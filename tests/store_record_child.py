"""A process that registers run r1 in a status store and records it when told to; run by
test_store_killed_mid_record.py, which kills it with SIGKILL while it records.

Usage: python -m tests.store_record_child STORE_URL REVISION [--pause-sqlite-at-last-good]
Prints "registered" once the run is registered; reads a line from stdin, then records. With
``--pause-sqlite-at-last-good``, every SQLite connection of this process stops before its first
statement that writes ``last_good`` (the last table a record writes), prints "paused", and waits
there to be killed: the run's row and the latest states are written by then, uncommitted.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from typing import Any

from fleet import store
from fleet.store import lease
from tests import store_helpers as h


def pause_sqlite_at_last_good() -> None:
    """At the driver's edge: sqlite3's statement trace callback, on every connection."""
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)

        def trace(statement: str) -> None:
            if statement.lstrip().upper().startswith("INSERT INTO LAST_GOOD"):
                print("paused", flush=True)
                threading.Event().wait()  # until SIGKILL

        conn.set_trace_callback(trace)
        return conn

    sqlite3.connect = traced  # type: ignore[assignment]


def main(url: str, revision: str, *flags: str) -> None:
    db = store.open(url)
    held = lease.acquire(db, h.registration("r1", ("c001", "c002")), ttl=60)
    if "--pause-sqlite-at-last-good" in flags:
        pause_sqlite_at_last_good()
    print("registered", flush=True)
    sys.stdin.readline()
    held.finish(h.run("r1", revision=revision, started_at=held.started_at))
    print("recorded", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
