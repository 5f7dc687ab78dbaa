"""The status store: the history of runs and the latest state of every Application per cluster.

Sits after the fan-out: the driver records each ``RunResult`` here, and ``fleet status`` /
``fleet report`` read it back. It is one SQLite file in the state directory (``--state-dir``,
``FLEET_STATE_DIR``, default ``.fleet`` in the working directory), so a scheduled job can keep it
on a volume or as a CI artifact. Results are stored as masked JSON: no secret value reaches disk.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fleet import errors, redact, results

DEFAULT_STATE_DIR = ".fleet"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    revision TEXT NOT NULL,
    ok INTEGER NOT NULL,
    summary TEXT NOT NULL,
    result TEXT NOT NULL
);
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
);
CREATE TABLE IF NOT EXISTS cluster_state (
    cluster TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    reachable INTEGER NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL
);
"""


def state_dir(path: str | os.PathLike[str] | None = None) -> Path:
    return Path(path or os.environ.get("FLEET_STATE_DIR") or DEFAULT_STATE_DIR)


class Store:
    """One SQLite database; safe to open from several processes (SQLite locking)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = state_dir(directory)
        self.path = self.directory / "status.db"

    @contextmanager
    def _connect(self, *, create: bool = True) -> Iterator[sqlite3.Connection]:
        if create:
            self.directory.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise errors.InputError(
                "holds no status yet: run `fleet sync` or `fleet diff` first", file=str(self.path)
            )
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            conn.executescript(_SCHEMA)
            yield conn
            conn.commit()
        finally:
            conn.close()

    def record(self, run: results.RunResult) -> None:
        """Add a run to the history; a sync or dry-run also updates the latest state.

        A diff run is history only: it did not change the clusters, but what it saw is still the
        newest observation, so it updates the latest state too (it is what `fleet status` should
        show after `fleet diff`).
        """
        summary = json.dumps(run.summary())
        with self._connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.run_id,
                    run.kind.value,
                    run.started_at,
                    run.finished_at,
                    run.revision,
                    int(run.ok),
                    summary,
                    run.to_json(),
                ),
            )
            for cluster in run.clusters:
                if cluster.apps and not any(app.observed for app in cluster.apps):
                    continue  # not contacted (its rollout step did not start): keep what is known
                conn.execute(
                    "INSERT OR REPLACE INTO cluster_state VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        cluster.cluster,
                        run.run_id,
                        run.finished_at,
                        int(cluster.reachable and cluster.reason is None),
                        cluster.reason.value if cluster.reason else "",
                        redact.mask(cluster.message),
                    ),
                )
                for app in cluster.apps:
                    if app.deletion is not None and app.deletion.gone():
                        # Removed from Git and deleted: it no longer exists to have a state.
                        conn.execute(
                            "DELETE FROM app_state WHERE cluster = ? AND app = ?", (app.cluster, app.name)
                        )
                        continue
                    if not app.observed:
                        continue  # a rollout did not reach it: its last known state still holds
                    conn.execute(
                        "INSERT OR REPLACE INTO app_state VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            app.cluster,
                            app.name,
                            run.run_id,
                            run.finished_at,
                            app.sync_status.value,
                            app.health.value,
                            app.reason.value,
                            redact.mask(app.model_dump_json()),
                        ),
                    )

    def runs(self, *, limit: int = 20) -> list[results.RunResult]:
        """The newest runs first."""
        with self._connect(create=False) as conn:
            rows = conn.execute(
                "SELECT result FROM runs ORDER BY started_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [results.RunResult.model_validate_json(row[0]) for row in rows]

    def previous_run(self, current: results.RunResult) -> results.RunResult | None:
        """The newest recorded run of the same kind that started before ``current`` (None when
        there is none): what notifications compare a run with (fleet.notify)."""
        if not self.path.exists():
            return None
        with self._connect() as conn:
            row = conn.execute(
                "SELECT result FROM runs WHERE kind = ? AND run_id != ? AND started_at <= ? "
                "ORDER BY started_at DESC LIMIT 1",
                (current.kind.value, current.run_id, current.started_at),
            ).fetchone()
        return results.RunResult.model_validate_json(row[0]) if row else None

    def latest_run(self) -> results.RunResult:
        runs = self.runs(limit=1)
        if not runs:
            raise errors.InputError("holds no runs yet", file=str(self.path))
        return runs[0]

    def app_states(self) -> list[results.AppResult]:
        """The latest known state of every Application on every cluster."""
        with self._connect(create=False) as conn:
            rows = conn.execute("SELECT result FROM app_state ORDER BY cluster, app").fetchall()
        return [results.AppResult.model_validate_json(row[0]) for row in rows]

    def cluster_states(self) -> list[dict[str, Any]]:
        with self._connect(create=False) as conn:
            rows = conn.execute(
                "SELECT cluster, run_id, updated_at, reachable, reason, message FROM cluster_state ORDER BY cluster"
            ).fetchall()
        keys = ("cluster", "run_id", "updated_at", "reachable", "reason", "message")
        return [dict(zip(keys, row, strict=True)) for row in rows]
