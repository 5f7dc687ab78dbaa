"""The store's schema is versioned and migrated when a process first uses it: a file written
before versioning is migrated in place and keeps its history; a fresh store of either backend is
at the latest version; a store newer than this fleet is refused and left as it is; processes
starting together migrate once."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from typer.testing import CliRunner

from fleet import results, store
from fleet.cli import app
from fleet.store import backend, migrations

LEGACY = Path(__file__).parent / "data" / "store" / "status-v1.sql"


def legacy_file(tmp_path: Path) -> Path:
    path = tmp_path / "state" / "status.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as conn:
        conn.executescript(LEGACY.read_text())
    return path


def versions(db: store.Store) -> list[int]:
    with backend.transaction(db.backend, write=False) as tx:
        return [row[0] for row in tx.all("SELECT version FROM schema_version ORDER BY version")]


def test_a_file_written_before_versioning_is_migrated_in_place_and_keeps_its_history(tmp_path) -> None:
    path = legacy_file(tmp_path)
    db = store.Store(path.parent)
    assert db.ensure_schema() == [2, 3]  # version 1 is what the file already was
    assert versions(db) == [1, 2, 3] and db.schema_version() == migrations.LATEST
    history = db.runs()
    assert [r.run_id for r in history] == ["20261102T100000-bbbbbb", "20261101T100000-aaaaaa"]
    assert all(r.state is results.RunState.FINISHED for r in history)
    assert not history[0].ok and history[1].ok
    assert {(a.cluster, a.health.value) for a in db.app_states()} == {
        ("c001", "Healthy"),
        ("c002", "Degraded"),
    }
    # The latest states of version 1 give the last good revisions they can: c002's latest is Degraded.
    assert [(g.cluster, g.revision[:4], g.run_id) for g in db.last_good()] == [
        ("c001", "2222", "20261102T100000-bbbbbb")
    ]
    with sqlite3.connect(path) as conn:  # the same file, migrated in place
        assert {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")} >= {
            "runs",
            "app_state",
            "cluster_state",
            "last_good",
            "schema_version",
        }


def test_fleet_status_reads_a_file_written_before_versioning(tmp_path) -> None:
    path = legacy_file(tmp_path)
    run = CliRunner().invoke(app, ["status", "--store", f"sqlite://{path}", "-o", "json"])
    assert run.exit_code == 1, run.stderr  # web-c002 is Degraded
    doc = json.loads(run.stdout)
    by_name = {a["name"]: a for a in doc["applications"]}
    assert by_name["web-c001"]["last_synced_healthy"]["revision"] == "2" * 40
    assert by_name["web-c002"]["last_synced_healthy"] is None and doc["runs"] == []


def test_a_fresh_store_is_at_the_latest_version(store_url) -> None:
    db = store.open(store_url)
    assert db.ensure_schema() == [m.version for m in migrations.MIGRATIONS]
    assert versions(db) == [m.version for m in migrations.MIGRATIONS]
    assert store.open(store_url).ensure_schema() == []  # a second process finds nothing to do


def test_a_store_newer_than_this_fleet_is_refused_and_left_as_it_is(store_url) -> None:
    db = store.open(store_url)
    db.record(results.RunResult(run_id="r1", kind=results.RunKind.SYNC, started_at=results.now()))
    with backend.transaction(db.backend, write=True) as tx:
        tx.execute(
            "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
            (migrations.LATEST + 1, "from a newer fleet", results.now()),
        )
    run = CliRunner().invoke(app, ["report", "--store", store_url, "--format", "json"])
    assert run.exit_code == 2
    assert f"schema version {migrations.LATEST + 1}, newer than this fleet knows" in run.stderr
    assert versions(db) == [*[m.version for m in migrations.MIGRATIONS], migrations.LATEST + 1]


def test_processes_opening_a_fresh_store_together_migrate_it_once(store_url) -> None:
    barrier = threading.Barrier(4)
    problems: list[BaseException] = []

    def first_use() -> None:
        try:
            barrier.wait()
            store.open(store_url).ensure_schema()
        except BaseException as exc:  # noqa: BLE001 - reported below
            problems.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert versions(store.open(store_url)) == [m.version for m in migrations.MIGRATIONS]
