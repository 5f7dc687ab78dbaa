"""Version 3: where each progressive rollout stands, so that the next run continues from there.

One row per fleet and rollout (an ApplicationSet's RollingSync, or ``--rollout``): what it rolls
out (``fingerprint``: a change of the rendered Applications starts it over), the highest step
whose gate passed, when each step first completed (soak times count from there, across runs),
and what people decided with ``fleet rollout approve|abort``: the step approved, and an abort.
"""

from __future__ import annotations

from fleet.store import backend

VERSION = 3
DESCRIPTION = "rollout positions, approvals and aborts per fleet and rollout"

STATEMENTS = (
    """
    CREATE TABLE IF NOT EXISTS rollout_positions (
        fleet TEXT NOT NULL,
        rollout TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        passed INTEGER NOT NULL DEFAULT 0,
        completed TEXT NOT NULL DEFAULT '{}',
        held_at INTEGER NOT NULL DEFAULT 0,
        gate TEXT NOT NULL DEFAULT '',
        steps INTEGER NOT NULL DEFAULT 0,
        run_id TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL DEFAULT '',
        approved INTEGER NOT NULL DEFAULT 0,
        approved_by TEXT NOT NULL DEFAULT '',
        approved_at TEXT NOT NULL DEFAULT '',
        aborted_by TEXT NOT NULL DEFAULT '',
        aborted_at TEXT NOT NULL DEFAULT '',
        abort_message TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (fleet, rollout)
    )
    """,
)


def apply(tx: backend.Tx) -> None:
    for statement in STATEMENTS:
        tx.execute(statement)
