"""The status store: every run (registered when it starts, finished in one transaction), the latest
state of every Application and cluster, and the last revision each Application was Synced and
Healthy at.

Where it sits: the driver registers a run here before it reads the fleet (a sync takes the run
lock of its clusters then, ``fleet.store.lease``) and records its ``RunResult`` at the end;
``fleet status``, ``fleet report``, notifications and rollback read it back.

Where it lives (``fleet.store.location``): SQLite by default, one file in the state directory
(``.fleet/status.db``), or a PostgreSQL database shared by a team (``--store postgresql://...``,
``FLEET_STORE``). Both run the same SQL (``fleet.store.backend``) and the same versioned
migrations (``fleet.store.migrations``), applied when a process first uses the store.

What it guarantees:

- a run is recorded in one transaction: its row, the latest states and the last good revisions
  change together or not at all, whatever kills the process;
- a registered run that stops renewing its lease (SIGKILL, a crash, a lost host) reads as
  ``interrupted`` once the lease expires, never as finished or half recorded;
- results are stored as masked JSON: no secret value reaches the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from fleet import errors, redact, results
from fleet.health import Health
from fleet.status import SyncStatus
from fleet.store import backend, clock, migrations, model
from fleet.store.location import DEFAULT_STATE_DIR, Backend, Location, locate
from fleet.store.location import state_directory as state_dir

LOCK_KEY_PREFIX = "fleet.run-lock:"  # serialises registrations of one fleet (PostgreSQL advisory lock)

_RUN_COLUMNS = (
    "run_id, kind, state, started_at, finished_at, fleet, clusters, holds_lock, host, pid, source, "
    "selector, revision, ok, heartbeat_at, lease_expires_at, message"
)


def open(  # noqa: A001 - the store's natural verb; the module is always used qualified
    url: str | None = None,
    *,
    state_dir: str | os.PathLike[str] | None = None,
    clock_: clock.Clock | None = None,
) -> Store:
    """The store ``--store`` / ``--state-dir`` name (``fleet.store.location.locate``)."""
    return Store(location=locate(url, state_dir=state_dir), clock=clock_)


def _backend(where: Location) -> backend.Backend:
    if where.backend is Backend.POSTGRESQL:
        from fleet.store import postgres

        return postgres.PostgreSQL(where)
    from fleet.store import sqlite

    return sqlite.SQLite(where)


class Store:
    """One status store. Safe to use from several threads and processes: every call runs in its
    own transaction on its own connection.

    Parameters:
        directory: a state directory (its ``status.db``), as before store URLs; ignored when
            ``location`` is given. Neither: ``FLEET_STORE``, else the default state directory.
        clock: what leases are measured with (tests pass their own).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        location: Location | None = None,
        clock: clock.Clock | None = None,
    ) -> None:
        self.location = location or locate(None, state_dir=directory)
        self.backend = _backend(self.location)
        self.clock = clock or _system_clock()
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    @property
    def path(self) -> Path | None:
        """The SQLite file (None on PostgreSQL)."""
        return self.location.path

    def __repr__(self) -> str:
        return f"Store({self.location.display!r})"

    # --- schema ------------------------------------------------------------------------------

    def _transaction(
        self, *, write: bool, create: bool = True
    ) -> contextlib.AbstractContextManager[backend.Tx]:
        self.ensure_schema(create=create)
        return backend.transaction(self.backend, write=write, create=create)

    def ensure_schema(self, *, create: bool = True) -> list[int]:
        """Run the migrations this store lacks (once per Store); the versions applied.
        ``create=False``: a SQLite file that does not exist is bad input instead of created."""
        with self._schema_lock:
            if self._schema_ready:
                return []
            with backend.transaction(self.backend, write=False, create=create) as tx:
                version = migrations.current(tx)
            migrations.check_known(version, self.location.display)
            applied: list[int] = []
            if version < migrations.LATEST:
                with backend.transaction(self.backend, write=True, create=create) as tx:
                    applied = migrations.migrate(tx)
            self._schema_ready = True
            return applied

    def schema_version(self) -> int:
        with self._transaction(write=False, create=False) as tx:
            return migrations.current(tx)

    # --- writing a run -------------------------------------------------------------------------

    def record(self, run: results.RunResult) -> results.RunResult:
        """Add a finished run that was never registered (library callers, imports): its row, the
        latest states and the last good revisions, in one transaction."""
        with self._transaction(write=True) as tx:
            _write_result(tx, run)
        return run

    def register(self, registration: model.Registration, *, ttl: float) -> model.Registered:
        """Register a run as ``running`` with a lease of ``ttl`` seconds, unless it is a sync and
        another live sync of the same fleet holds some of its clusters (then nothing is
        registered and ``holders`` names them). Runs of the fleet whose lease expired are
        recorded as interrupted first, in the same transaction."""
        scope = registration.scope
        now = self.clock.now()
        with self._transaction(write=True) as tx:
            self.backend.serialise(tx, LOCK_KEY_PREFIX + scope.fleet)
            interrupted = _expire(tx, scope.fleet, now)
            holders: list[model.Holder] = []
            if registration.holds_lock:
                rows = tx.all(
                    "SELECT run_id, kind, host, pid, started_at, lease_expires_at, clusters FROM runs "
                    "WHERE state = 'running' AND fleet = ? AND holds_lock = 1 ORDER BY started_at",
                    (scope.fleet,),
                )
                for run_id, kind, host, pid, started_at, lease, clusters in rows:
                    shared = scope.overlap(scope.fleet, frozenset(json.loads(clusters)))
                    if shared:
                        holders.append(
                            model.Holder(run_id, kind, host, int(pid), started_at, float(lease or 0), shared)
                        )
            if holders:
                return model.Registered(holders=tuple(holders), interrupted=interrupted)
            started_at = clock.iso(now)
            tx.execute(
                "INSERT INTO runs (run_id, kind, started_at, finished_at, revision, ok, summary, result, "
                "state, fleet, clusters, holds_lock, host, pid, source, selector, heartbeat_at, "
                "lease_expires_at, message) "
                "VALUES (?, ?, ?, '', '', 0, '{}', '', 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
                (
                    registration.run_id,
                    registration.kind.value,
                    started_at,
                    scope.fleet,
                    json.dumps(sorted(scope.clusters)),
                    int(registration.holds_lock),
                    registration.host,
                    registration.pid,
                    redact.mask(registration.source),
                    registration.selector,
                    now,
                    now + ttl,
                ),
            )
        return model.Registered(started_at=started_at, interrupted=interrupted)

    def renew(self, run_id: str, *, ttl: float) -> bool:
        """Extend a running run's lease to ``ttl`` seconds from now; False when it is no longer
        running (its lease expired and another run recorded it as interrupted)."""
        now = self.clock.now()
        with self._transaction(write=True) as tx:
            return (
                tx.changed(
                    "UPDATE runs SET heartbeat_at = ?, lease_expires_at = ? WHERE run_id = ? AND state = 'running'",
                    (now, now + ttl, run_id),
                )
                == 1
            )

    def finish(self, registration: model.Registration, run: results.RunResult) -> results.RunResult:
        """Record a registered run's result in one transaction; the result as recorded (state
        finished, host and pid of the registration, and a note if its lease had been lost)."""
        update: dict[str, Any] = {
            "state": results.RunState.FINISHED,
            "host": registration.host,
            "pid": registration.pid,
        }
        with self._transaction(write=True) as tx:
            row = tx.one("SELECT state, lease_expires_at FROM runs WHERE run_id = ?", (registration.run_id,))
            if row is not None and row[0] == results.RunState.INTERRUPTED.value:
                update["notes"] = (
                    *run.notes,
                    f"this run lost its lease at {clock.iso(float(row[1] or 0))} (it was not renewed in "
                    "time): another run may have changed the same clusters meanwhile",
                )
            recorded = run.model_copy(update=update)
            _write_result(tx, recorded)
        return recorded

    def abort(self, run_id: str, message: str) -> None:
        """A registered run ended without a result, and says why."""
        with self._transaction(write=True) as tx:
            tx.execute(
                "UPDATE runs SET state = 'aborted', finished_at = ?, message = ?, lease_expires_at = NULL "
                "WHERE run_id = ? AND state IN ('running', 'interrupted')",
                (clock.iso(self.clock.now()), redact.mask(message), run_id),
            )

    def forget(self, run_id: str) -> None:
        """Drop a registered run that refused its input before changing anything (exit 2)."""
        with self._transaction(write=True) as tx:
            tx.execute("DELETE FROM runs WHERE run_id = ? AND state = 'running'", (run_id,))

    # --- reading -------------------------------------------------------------------------------

    def run_records(
        self, *, limit: int = 20, states: Collection[results.RunState] | None = None
    ) -> list[model.RunRecord]:
        """Runs as registered, newest first; a running run whose lease expired reads as interrupted."""
        return [record for record, _ in self._select(limit=limit, states=states, with_result=False)]

    def runs(
        self, *, limit: int = 20, states: Collection[results.RunState] | None = None
    ) -> list[results.RunResult]:
        """The newest runs first, as results: a finished run's whole result; a running, aborted
        or interrupted one's registration, with its state and why in ``notes``."""
        return [_as_result(record, stored) for record, stored in self._select(limit=limit, states=states)]

    def run(self, run_id: str) -> results.RunResult | None:
        """One run by its id, as ``runs`` gives it (None when the store has no such run)."""
        with self._transaction(write=False, create=False) as tx:
            row = tx.one(f"SELECT {_RUN_COLUMNS}, result FROM runs WHERE run_id = ?", (run_id,))
        if row is None:
            return None
        return _as_result(_record(tuple(row[:-1]), self.clock.now()), str(row[-1] or ""))

    def _select(
        self, *, limit: int, states: Collection[results.RunState] | None, with_result: bool = True
    ) -> list[tuple[model.RunRecord, str]]:
        stored: set[str] = set()
        if states is not None and not states:
            return []
        if states is not None:
            stored = {s.value for s in states}
            if results.RunState.INTERRUPTED in states:
                stored.add(results.RunState.RUNNING.value)  # an expired lease is an interruption
        where = f"WHERE state IN ({', '.join('?' for _ in stored)}) " if states is not None else ""
        extra = ", result" if with_result else ", ''"
        with self._transaction(write=False, create=False) as tx:
            rows = tx.all(
                f"SELECT {_RUN_COLUMNS}{extra} FROM runs {where}ORDER BY started_at DESC LIMIT ?",
                (*sorted(stored), limit),
            )
        now = self.clock.now()
        found = [(_record(row[:-1], now), str(row[-1] or "")) for row in rows]
        return [(r, stored_) for r, stored_ in found if states is None or r.state in states]

    def previous_run(self, current: results.RunResult) -> results.RunResult | None:
        """The newest finished run of the same kind that started before ``current`` (None when
        there is none): what notifications compare a run with (fleet.notify)."""
        if self.path is not None and not self.path.exists():
            return None
        with self._transaction(write=False) as tx:
            row = tx.one(
                "SELECT result FROM runs WHERE kind = ? AND run_id != ? AND started_at <= ? "
                "AND state = 'finished' ORDER BY started_at DESC LIMIT 1",
                (current.kind.value, current.run_id, current.started_at),
            )
        return results.RunResult.model_validate_json(row[0]) if row else None

    def latest_run(self) -> results.RunResult:
        """The newest finished run."""
        found = self.runs(limit=1, states={results.RunState.FINISHED})
        if not found:
            raise errors.InputError("holds no finished run yet", file=self.location.display)
        return found[0]

    def app_states(self) -> list[results.AppResult]:
        """The latest known state of every Application on every cluster."""
        with self._transaction(write=False, create=False) as tx:
            rows = tx.all("SELECT result FROM app_state ORDER BY cluster, app")
        return [results.AppResult.model_validate_json(row[0]) for row in rows]

    def app_state(self, *, cluster: str, app: str) -> results.AppResult | None:
        """The latest known state of one Application on one cluster (None when none is known):
        one row, for pages that show a single Application (the web UI's drill-down)."""
        with self._transaction(write=False, create=False) as tx:
            row = tx.one("SELECT result FROM app_state WHERE cluster = ? AND app = ?", (cluster, app))
        return results.AppResult.model_validate_json(row[0]) if row else None

    def cluster_states(self) -> list[dict[str, Any]]:
        with self._transaction(write=False, create=False) as tx:
            rows = tx.all(
                "SELECT cluster, run_id, updated_at, reachable, reason, message FROM cluster_state ORDER BY cluster"
            )
        keys = ("cluster", "run_id", "updated_at", "reachable", "reason", "message")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def last_good(self, *, cluster: str | None = None, app: str | None = None) -> list[model.LastGood]:
        """Per cluster and Application, the last revision a sync left Synced and Healthy (for
        rollback, and "which version runs where"); narrowed to one cluster and/or Application."""
        conditions, params = [], []
        for column, value in (("cluster", cluster), ("app", app)):
            if value is not None:
                conditions.append(f"{column} = ?")
                params.append(value)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._transaction(write=False, create=False) as tx:
            rows = tx.all(
                f"SELECT cluster, app, revision, run_id, synced_at FROM last_good{where} ORDER BY cluster, app",
                params,
            )
        return [model.LastGood(*row) for row in rows]

    # --- rollouts ------------------------------------------------------------------------------

    def rollouts(self, fleet: str) -> list[model.RolloutRecord]:
        """Where each rollout of ``fleet`` stands, and the approvals and aborts given for it."""
        with self._transaction(write=False, create=False) as tx:
            rows = tx.all(
                f"SELECT {_ROLLOUT_COLUMNS} FROM rollout_positions WHERE fleet = ? ORDER BY rollout", (fleet,)
            )
        return [_rollout_record(row) for row in rows]

    def approve(self, fleet: str, rollout: str, step: int, *, by: str) -> model.RolloutRecord:
        """Approve the manual gate before ``step`` of a rollout (the next run may start it)."""
        with self._transaction(write=True) as tx:
            changed = tx.changed(
                "UPDATE rollout_positions SET approved = ?, approved_by = ?, approved_at = ? "
                "WHERE fleet = ? AND rollout = ?",
                (step, by, results.now(), fleet, rollout),
            )
            if not changed:
                raise errors.InputError(
                    f"has no rollout {rollout!r} of this fleet", file=self.location.display
                )
            row = tx.one(
                f"SELECT {_ROLLOUT_COLUMNS} FROM rollout_positions WHERE fleet = ? AND rollout = ?",
                (fleet, rollout),
            )
        return _rollout_record(row)

    def abort_rollout(self, fleet: str, rollout: str, *, by: str, message: str) -> model.RolloutRecord:
        """Stop a rollout where it stands: no later step starts until what it rolls out changes."""
        with self._transaction(write=True) as tx:
            changed = tx.changed(
                "UPDATE rollout_positions SET aborted_by = ?, aborted_at = ?, abort_message = ? "
                "WHERE fleet = ? AND rollout = ?",
                (by, results.now(), redact.mask(message), fleet, rollout),
            )
            if not changed:
                raise errors.InputError(
                    f"has no rollout {rollout!r} of this fleet", file=self.location.display
                )
            row = tx.one(
                f"SELECT {_ROLLOUT_COLUMNS} FROM rollout_positions WHERE fleet = ? AND rollout = ?",
                (fleet, rollout),
            )
        return _rollout_record(row)


# --- the SQL of one run ------------------------------------------------------------------------

_ROLLOUT_COLUMNS = (
    "fleet, rollout, fingerprint, passed, completed, held_at, gate, steps, run_id, updated_at, approved, "
    "approved_by, approved_at, aborted_by, aborted_at, abort_message"
)


def _rollout_record(row: Any) -> model.RolloutRecord:
    position = results.RolloutPosition(
        fleet=row[0],
        fingerprint=row[2],
        passed=int(row[3]),
        completed={int(k): float(v) for k, v in json.loads(row[4] or "{}").items()},
        held_at=int(row[5]),
        gate=row[6],
        steps=int(row[7]),
    )
    return model.RolloutRecord(
        fleet=row[0],
        rollout=row[1],
        position=position,
        run_id=row[8],
        updated_at=row[9],
        approved=int(row[10]),
        approved_by=row[11],
        approved_at=row[12],
        aborted_by=row[13],
        aborted_at=row[14],
        abort_message=row[15],
    )


def _write_positions(tx: backend.Tx, run: results.RunResult) -> None:
    """Where each rollout of a sync stands. A rollout whose fingerprint changed starts over: its
    approval and abort, given for what it rolled out before, are dropped."""
    if run.kind is not results.RunKind.SYNC:
        return
    for rollout in run.rollouts:
        position = rollout.position
        if position is None:
            continue
        tx.execute(
            "INSERT INTO rollout_positions (fleet, rollout, fingerprint, passed, completed, held_at, gate, steps, "
            "run_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (fleet, rollout) DO UPDATE SET "
            "approved = CASE WHEN rollout_positions.fingerprint = excluded.fingerprint "
            "THEN rollout_positions.approved ELSE 0 END, "
            "approved_by = CASE WHEN rollout_positions.fingerprint = excluded.fingerprint "
            "THEN rollout_positions.approved_by ELSE '' END, "
            "approved_at = CASE WHEN rollout_positions.fingerprint = excluded.fingerprint "
            "THEN rollout_positions.approved_at ELSE '' END, "
            "aborted_by = CASE WHEN rollout_positions.fingerprint = excluded.fingerprint "
            "THEN rollout_positions.aborted_by ELSE '' END, "
            "aborted_at = CASE WHEN rollout_positions.fingerprint = excluded.fingerprint "
            "THEN rollout_positions.aborted_at ELSE '' END, "
            "abort_message = CASE WHEN rollout_positions.fingerprint = excluded.fingerprint "
            "THEN rollout_positions.abort_message ELSE '' END, "
            "fingerprint = excluded.fingerprint, passed = excluded.passed, completed = excluded.completed, "
            "held_at = excluded.held_at, gate = excluded.gate, steps = excluded.steps, "
            "run_id = excluded.run_id, updated_at = excluded.updated_at",
            (
                position.fleet,
                rollout.name,
                position.fingerprint,
                position.passed,
                json.dumps({str(k): v for k, v in sorted(position.completed.items())}),
                position.held_at,
                redact.mask(position.gate),
                position.steps,
                run.run_id,
                run.finished_at,
            ),
        )


def _system_clock() -> clock.Clock:
    return clock.SystemClock()


def _write_result(tx: backend.Tx, run: results.RunResult) -> None:
    """The run's row, then the latest states, then the last good revisions, then where its
    rollouts stand (one transaction)."""
    _write_positions(tx, run)
    tx.execute(
        "INSERT INTO runs (run_id, kind, started_at, finished_at, revision, ok, summary, result, state, "
        "source, selector, host, pid, lease_expires_at, message) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'finished', ?, ?, ?, ?, NULL, '') "
        "ON CONFLICT (run_id) DO UPDATE SET kind = excluded.kind, finished_at = excluded.finished_at, "
        "revision = excluded.revision, ok = excluded.ok, summary = excluded.summary, "
        "result = excluded.result, state = 'finished', lease_expires_at = NULL, message = ''",
        (
            run.run_id,
            run.kind.value,
            run.started_at,
            run.finished_at,
            run.revision,
            int(run.ok),
            json.dumps(run.summary()),
            run.to_json(),
            redact.mask(run.source),
            run.selector,
            run.host,
            run.pid,
        ),
    )
    cluster_rows: list[tuple[Any, ...]] = []
    app_rows: list[tuple[Any, ...]] = []
    gone: list[tuple[str, str]] = []
    good: list[tuple[Any, ...]] = []
    for cluster in run.clusters:
        if cluster.apps and not any(app.observed for app in cluster.apps):
            continue  # not contacted (its rollout step did not start): keep what is known
        cluster_rows.append(
            (
                cluster.cluster,
                run.run_id,
                run.finished_at,
                int(cluster.reachable and cluster.reason is None),
                cluster.reason.value if cluster.reason else "",
                redact.mask(cluster.message),
            )
        )
        for app in cluster.apps:
            if app.deletion is not None and app.deletion.gone():
                gone.append((app.cluster, app.name))  # removed from Git and deleted: no state left
                continue
            if not app.observed:
                continue  # a rollout did not reach it: its last known state still holds
            app_rows.append(
                (
                    app.cluster,
                    app.name,
                    run.run_id,
                    run.finished_at,
                    app.sync_status.value,
                    app.health.value,
                    app.reason.value,
                    redact.mask(app.model_dump_json()),
                )
            )
            if _synced_and_healthy(run, app):
                good.append((app.cluster, app.name, app.revision, run.run_id, run.finished_at))
    _many(
        tx,
        "INSERT INTO cluster_state (cluster, run_id, updated_at, reachable, reason, message) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cluster) DO UPDATE SET run_id = excluded.run_id, "
        "updated_at = excluded.updated_at, reachable = excluded.reachable, reason = excluded.reason, "
        "message = excluded.message",
        cluster_rows,
    )
    _many(tx, "DELETE FROM app_state WHERE cluster = ? AND app = ?", gone)
    _many(tx, "DELETE FROM last_good WHERE cluster = ? AND app = ?", gone)
    _many(
        tx,
        "INSERT INTO app_state (cluster, app, run_id, updated_at, sync_status, health, reason, result) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cluster, app) DO UPDATE SET run_id = excluded.run_id, "
        "updated_at = excluded.updated_at, sync_status = excluded.sync_status, health = excluded.health, "
        "reason = excluded.reason, result = excluded.result",
        app_rows,
    )
    _many(
        tx,
        "INSERT INTO last_good (cluster, app, revision, run_id, synced_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (cluster, app) DO UPDATE SET revision = excluded.revision, run_id = excluded.run_id, "
        "synced_at = excluded.synced_at",
        good,
    )


def _many(tx: backend.Tx, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
    rows = list(rows)
    if rows:
        cursor = tx.conn.cursor()
        cursor.executemany(tx.backend.placeholder(sql), rows)


def _synced_and_healthy(run: results.RunResult, app: results.AppResult) -> bool:
    """A sync left it Synced and Healthy at a known revision (a dry run or diff changes nothing)."""
    return (
        run.kind is results.RunKind.SYNC
        and app.deletion is None
        and app.sync_status is SyncStatus.SYNCED
        and app.health is Health.HEALTHY
        and bool(app.revision)
    )


def _expire(tx: backend.Tx, fleet: str, now: float) -> tuple[model.RunRecord, ...]:
    """Record the fleet's running runs whose lease expired as interrupted; those runs."""
    rows = tx.all(
        f"SELECT {_RUN_COLUMNS} FROM runs WHERE state = 'running' AND fleet = ? AND lease_expires_at < ?",
        (fleet, now),
    )
    found = tuple(_record(row, now) for row in rows)
    for record in found:
        tx.execute(
            "UPDATE runs SET state = 'interrupted', finished_at = ?, message = ? WHERE run_id = ? AND state = 'running'",
            (record.finished_at, record.message, record.run_id),
        )
    return found


def _interruption(host: str, pid: int, lease: float) -> str:
    return (
        f"its lease expired at {clock.iso(lease)} without being renewed (host {host}, pid {pid}: "
        "the process was killed, crashed or lost its host); what it did on its clusters was not recorded"
    )


def _record(row: tuple[Any, ...], now: float) -> model.RunRecord:
    (run_id, kind, state, started_at, finished_at, fleet, clusters, holds_lock, host, pid, source,
     selector, revision, ok, heartbeat_at, lease, message) = row  # fmt: skip
    run_state = results.RunState(state)
    if run_state is results.RunState.RUNNING and lease is not None and float(lease) < now:
        run_state = results.RunState.INTERRUPTED
        finished_at = clock.iso(float(lease))
        message = _interruption(host, int(pid), float(lease))
    return model.RunRecord(
        run_id=run_id,
        kind=results.RunKind(kind),
        state=run_state,
        started_at=started_at,
        finished_at=finished_at or "",
        fleet=fleet,
        clusters=tuple(json.loads(clusters or "[]")),
        holds_lock=bool(holds_lock),
        host=host,
        pid=int(pid),
        source=source,
        selector=selector,
        revision=revision,
        ok=bool(ok),
        heartbeat_at=float(heartbeat_at) if heartbeat_at is not None else None,
        lease_expires_at=float(lease) if lease is not None else None,
        message=message,
    )


def _as_result(record: model.RunRecord, stored: str) -> results.RunResult:
    if record.state is results.RunState.FINISHED and stored:
        return results.RunResult.model_validate_json(stored)
    return results.RunResult(
        run_id=record.run_id,
        kind=record.kind,
        started_at=record.started_at,
        finished_at=record.finished_at,
        source=record.source,
        selector=record.selector,
        state=record.state,
        host=record.host,
        pid=record.pid,
        notes=(record.message,) if record.message else (),
    )


__all__ = [
    "DEFAULT_STATE_DIR",
    "Backend",
    "Location",
    "Store",
    "locate",
    "open",
    "state_dir",
]
