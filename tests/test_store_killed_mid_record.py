"""A run killed with SIGKILL while it is being recorded leaves the store as it was before the
record began: the run reads as interrupted (once its lease expires), and the latest states and
last good revisions are those of the run before. Never half recorded.

The recording process is held inside its transaction, after it wrote the run's row and the
latest states and before it writes the last good revisions, then killed there:

- PostgreSQL: the test locks ``last_good`` (SHARE mode) and sees the child wait on that lock in
  ``pg_stat_activity``;
- SQLite (one writer at a time, so no lock can stop it half way): the child's sqlite3 statement
  trace callback stops it before its first ``last_good`` statement and says so.

And a SQLite run killed during its COMMIT: another process keeps a read transaction open, the
child's COMMIT waits for it holding SQLite's PENDING lock (the test sees its own new readers
refused; SQLite's locks are per process, so the reader must be another one); the hot journal it
leaves is rolled back by the next connection.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from fleet import results, store
from tests import store_helpers as h

REPO_ROOT = Path(__file__).resolve().parent.parent
OLD, NEW = "1" * 40, "2" * 40


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def start_child(url: str, *flags: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.store_record_child", url, NEW, *flags],
        cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    if line != "registered":
        child.kill()
        raise AssertionError(f"the child did not register: {child.communicate()[1]}")
    return child


def record(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None
    child.stdin.write("record\n")
    child.stdin.flush()


def kill(child: subprocess.Popen[str]) -> None:
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(30) == -signal.SIGKILL


# Holds a SHARED lock on the SQLite file (an open read transaction) until a line arrives.
READER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN")
conn.execute("SELECT COUNT(*) FROM runs").fetchone()
print("reading", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


def sqlite_committing(path: Path) -> Callable[[], bool]:
    """True once a writer holds PENDING (it is committing): a new reader is refused at once."""

    def check() -> bool:
        probe = sqlite3.connect(path, timeout=0)
        try:
            probe.execute("SELECT COUNT(*) FROM runs").fetchone()
            return False
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        finally:
            probe.close()

    return check


def kill_between_statements(url: str, db: store.Store) -> None:
    if db.path is not None:
        child = start_child(url, "--pause-sqlite-at-last-good")
        record(child)
        assert child.stdout is not None and child.stdout.readline().strip() == "paused"
        kill(child)
        return
    import psycopg

    child = start_child(url)
    with psycopg.connect(url, autocommit=True) as blocker, psycopg.connect(url, autocommit=True) as watcher:
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE last_good IN SHARE MODE")
        record(child)

        def waiting_on_the_lock() -> bool:
            # Outside the blocker's transaction: pg_stat_activity is a snapshot per transaction.
            row = watcher.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'fleet' AND wait_event_type = 'Lock'"
            ).fetchone()
            return bool(row and row[0] == 1)

        wait_for("the child to wait inside its transaction", waiting_on_the_lock)
        kill(child)
        blocker.execute("ROLLBACK")


def kill_during_sqlite_commit(url: str, path: Path) -> None:
    child = start_child(url)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert reader.stdout is not None and reader.stdout.readline().strip() == "reading"
    record(child)
    wait_for("the child to be committing", sqlite_committing(path))
    kill(child)
    reader.communicate("done\n", timeout=30)


def assert_recorded_as_before(url: str, clock: h.ManualClock) -> None:
    clock.advance(3600)  # long after the killed run's lease
    later = store.open(url, clock_=clock)
    runs = {r.run_id: r for r in later.runs()}
    assert runs["r1"].state is results.RunState.INTERRUPTED and runs["r1"].clusters == ()
    assert "lease expired" in runs["r1"].notes[0]
    assert runs["r0"].state is results.RunState.FINISHED
    assert {a.revision for a in later.app_states()} == {OLD}
    assert {c["run_id"] for c in later.cluster_states()} == {"r0"}
    assert {g.revision for g in later.last_good()} == {OLD}
    assert later.latest_run().run_id == "r0"


def test_a_run_killed_while_it_is_recorded_is_interrupted_never_half_recorded(store_url) -> None:
    clock = h.ManualClock()
    db = store.open(store_url, clock_=clock)
    db.record(h.run("r0", revision=OLD, started_at="2026-01-01T00:00:00.000000Z"))
    kill_between_statements(store_url, db)
    assert_recorded_as_before(store_url, clock)


def test_a_sqlite_run_killed_during_its_commit_is_rolled_back(tmp_path) -> None:
    url = f"sqlite://{tmp_path / 'status.db'}"
    clock = h.ManualClock()
    db = store.open(url, clock_=clock)
    db.record(h.run("r0", revision=OLD, started_at="2026-01-01T00:00:00.000000Z"))
    kill_during_sqlite_commit(url, tmp_path / "status.db")
    assert (tmp_path / "status.db-journal").exists()  # the hot journal of the killed commit
    assert_recorded_as_before(url, clock)
