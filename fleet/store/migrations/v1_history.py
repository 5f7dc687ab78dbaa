"""Version 1: the run history and the latest state per Application and per cluster.

The schema every store had before versioning, kept word for word (``IF NOT EXISTS``), so that
files written then are this version as they are.
"""

from __future__ import annotations

from fleet.store import backend

VERSION = 1
DESCRIPTION = "runs, latest state per Application and cluster"

STATEMENTS = (
    """
    CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        revision TEXT NOT NULL,
        ok INTEGER NOT NULL,
        summary TEXT NOT NULL,
        result TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS app_state (
        cluster TEXT NOT NULL,
        app TEXT NOT NULL,
        run_id TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sync_status TEXT NOT NULL,
        health TEXT NOT NULL,
        reason TEXT NOT NULL,
        result TEXT NOT NULL,
        PRIMARY KEY (cluster, app)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS cluster_state (
        cluster TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        reachable INTEGER NOT NULL,
        reason TEXT NOT NULL,
        message TEXT NOT NULL
    )
    """,
)


def apply(tx: backend.Tx) -> None:
    for statement in STATEMENTS:
        tx.execute(statement)
