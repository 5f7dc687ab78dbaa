"""Version 2: runs are registered when they start (host, pid, fleet and clusters, lease), and the
store keeps the last revision that was Synced and Healthy per cluster and Application.

``runs`` gains columns (every earlier run is ``finished``, as it was recorded whole);
``last_good`` is filled from the latest states that earlier sync runs left Synced and Healthy.
Only ``ADD COLUMN`` is used: SQLite cannot alter a column in place.
"""

from __future__ import annotations

import json

from fleet.store import backend

VERSION = 2
DESCRIPTION = "run registration and leases; last Synced and Healthy revision per Application"

STATEMENTS = (
    # running | finished | aborted | interrupted (fleet.results.RunState)
    "ALTER TABLE runs ADD COLUMN state TEXT NOT NULL DEFAULT 'finished'",
    "ALTER TABLE runs ADD COLUMN fleet TEXT NOT NULL DEFAULT ''",  # the lock scope's fleet key
    "ALTER TABLE runs ADD COLUMN clusters TEXT NOT NULL DEFAULT '[]'",  # the lock scope's clusters (JSON)
    "ALTER TABLE runs ADD COLUMN holds_lock INTEGER NOT NULL DEFAULT 0",  # 1: a sync, exclusive on its scope
    "ALTER TABLE runs ADD COLUMN host TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE runs ADD COLUMN pid INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE runs ADD COLUMN source TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE runs ADD COLUMN selector TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE runs ADD COLUMN heartbeat_at DOUBLE PRECISION",  # epoch seconds
    "ALTER TABLE runs ADD COLUMN lease_expires_at DOUBLE PRECISION",  # epoch seconds; NULL once ended
    "ALTER TABLE runs ADD COLUMN message TEXT NOT NULL DEFAULT ''",  # why it was aborted or interrupted
    "CREATE INDEX IF NOT EXISTS runs_by_state ON runs (state, fleet)",
    "CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at)",
    """
    CREATE TABLE IF NOT EXISTS last_good (
        cluster TEXT NOT NULL,
        app TEXT NOT NULL,
        revision TEXT NOT NULL,
        run_id TEXT NOT NULL,
        synced_at TEXT NOT NULL,
        PRIMARY KEY (cluster, app)
    )
    """,
)


def apply(tx: backend.Tx) -> None:
    for statement in STATEMENTS:
        tx.execute(statement)
    # The latest state of each Application is the only per-Application history version 1 kept:
    # where a sync left it Synced and Healthy, that run's revision is its last good one.
    rows = tx.all(
        "SELECT a.cluster, a.app, a.run_id, a.updated_at, a.result FROM app_state a "
        "JOIN runs r ON r.run_id = a.run_id "
        "WHERE r.kind = 'sync' AND a.sync_status = 'Synced' AND a.health = 'Healthy'"
    )
    for cluster, app, run_id, updated_at, result in rows:
        revision = str(json.loads(result).get("revision") or "")
        if revision:
            tx.execute(
                "INSERT INTO last_good (cluster, app, revision, run_id, synced_at) VALUES (?, ?, ?, ?, ?)",
                (cluster, app, revision, run_id, updated_at),
            )
