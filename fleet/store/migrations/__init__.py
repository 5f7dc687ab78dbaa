"""Versioned schema migrations of the status store, run when a store is first used.

Each migration is a module with ``VERSION``, ``DESCRIPTION`` and ``apply(tx)``; ``MIGRATIONS``
lists them in order. ``schema_version`` holds one row per applied version. Every missing
migration runs in one write transaction, serialised with any other process migrating the same
store, so a process killed while migrating leaves the store at its old version, never between.

A SQLite file written before versioning (three tables, no ``schema_version``) is version 1's
schema exactly: version 1 creates its tables only where they are missing, so such a file is
adopted as it is and migrated onwards in place, keeping its history.

A store at a version newer than this fleet knows is refused rather than written to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fleet import errors, results
from fleet.store import backend
from fleet.store.migrations import v1_history, v2_run_lifecycle, v3_rollout_positions

LOCK_KEY = "fleet.store.schema"  # serialises migrating processes (PostgreSQL's advisory lock)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[backend.Tx], None]


MIGRATIONS: tuple[Migration, ...] = tuple(
    Migration(module.VERSION, module.DESCRIPTION, module.apply)
    for module in (v1_history, v2_run_lifecycle, v3_rollout_positions)
)
LATEST = MIGRATIONS[-1].version

_SCHEMA_VERSION = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


def current(tx: backend.Tx) -> int:
    """The store's schema version: 0 for an empty store; 1 for a file written before versioning."""
    tables = tx.backend.tables(tx)
    if "schema_version" in tables:
        row = tx.one("SELECT MAX(version) FROM schema_version")
        return int(row[0] or 0)
    return 1 if "runs" in tables else 0


def check_known(version: int, where: str) -> None:
    if version > LATEST:
        raise errors.InputError(
            f"has schema version {version}, newer than this fleet knows ({LATEST}): "
            "upgrade fleet to use this store",
            file=where,
        )


def migrate(tx: backend.Tx) -> list[int]:
    """Bring the store to ``LATEST`` within ``tx`` (a write transaction); the versions applied."""
    tx.backend.serialise(tx, LOCK_KEY)
    found = current(tx)
    check_known(found, tx.backend.location.display)
    tx.execute(_SCHEMA_VERSION)
    if found == 1 and tx.one("SELECT COUNT(*) FROM schema_version")[0] == 0:
        # Written before versioning: its three tables are version 1 as it stands.
        _mark(tx, MIGRATIONS[0], note=" (found without schema_version: adopted as it was)")
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= found:
            continue
        migration.apply(tx)
        _mark(tx, migration)
        applied.append(migration.version)
    return applied


def _mark(tx: backend.Tx, migration: Migration, *, note: str = "") -> None:
    tx.execute(
        "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
        (migration.version, migration.description + note, results.now()),
    )


__all__ = ["LATEST", "MIGRATIONS", "Migration", "check_known", "current", "migrate"]
