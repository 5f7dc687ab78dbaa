"""What the web UI shows, read from the status store: the fleet as it stands now and the run history.

Where it sits: between ``fleet.store`` (read per request, each read its own transaction) and the
pages (``fleet.web``). The fleet "as it stands" is the latest known state of every Application on
every cluster (``Store.app_states``), not only the last run's: a webhook run of one Application
must not empty the matrix. Cluster labels (for grouping and filters) come from the newest finished
run that covered each cluster.

Reading 500 clusters' states is not free, and they change only when a run is recorded, so a
``Reader`` keeps what it built until the store's newest run changes; finished runs never change,
so their history points are kept by run id.
"""

from __future__ import annotations

import dataclasses
import threading

from fleet import errors, redact, results, store
from fleet.report import pictures
from fleet.status import Reason

HISTORY_LIMIT = 50  # runs the history page and its charts show unless asked for more
HISTORY_MAX = 500
_LABEL_RUNS = 5  # finished runs searched (newest first) for the labels of clusters


@dataclasses.dataclass(frozen=True)
class FleetState:
    """Every cluster with the latest known state of its Applications (without their objects:
    the drill-down reads those for one Application), and the newest run."""

    clusters: tuple[results.ClusterResult, ...]
    newest: pictures.RunPoint | None  # the newest run of any state
    latest_finished: pictures.RunPoint | None
    empty_reason: str = ""  # why there is nothing to show ("" when there is)

    @property
    def applications(self) -> int:
        return sum(len(c.apps) for c in self.clusters)


class Reader:
    """Reads for the pages of one server, with the caches the module docstring describes.
    Safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state_key: tuple[str, str] | None = None
        self._state: FleetState | None = None
        self._points: dict[str, pictures.RunPoint] = {}  # finished runs, by id

    def fleet(self, db: store.Store) -> FleetState:
        try:
            newest = db.run_records(limit=1)
        except errors.InputError as exc:
            return FleetState(
                clusters=(), newest=None, latest_finished=None, empty_reason=redact.mask(str(exc))
            )
        if not newest:
            return FleetState(
                clusters=(), newest=None, latest_finished=None, empty_reason="no run recorded yet"
            )
        key = (newest[0].run_id, newest[0].state.value)
        with self._lock:
            if self._state is not None and self._state_key == key:
                return self._state
        state = self._read_fleet(db)
        with self._lock:
            self._state_key, self._state = key, state
        return state

    def _read_fleet(self, db: store.Store) -> FleetState:
        apps = db.app_states()
        cluster_rows = {row["cluster"]: row for row in db.cluster_states()}
        finished = db.runs(limit=_LABEL_RUNS, states={results.RunState.FINISHED})
        newest = db.runs(limit=1)
        names = sorted(set(cluster_rows) | {a.cluster for a in apps})
        labels: dict[str, dict[str, str]] = {}
        for run in finished:  # newest first: the newest labels win
            for cluster in run.clusters:
                labels.setdefault(cluster.cluster, dict(cluster.labels))
        by_cluster: dict[str, list[results.AppResult]] = {}
        for app in apps:
            # The objects (diffs, events) stay in the store until a drill-down asks for them.
            by_cluster.setdefault(app.cluster, []).append(app.model_copy(update={"resources": ()}))
        clusters = []
        for name in names:
            row = cluster_rows.get(name)
            reason = _reason(row["reason"]) if row else None
            clusters.append(
                results.ClusterResult(
                    cluster=name,
                    reachable=bool(row["reachable"]) if row else True,
                    reason=reason,
                    message=redact.mask(str(row["message"] or "")) if row and reason else "",
                    apps=tuple(sorted(by_cluster.get(name, []), key=lambda a: a.name)),
                    labels=labels.get(name, {}),
                )
            )
        return FleetState(
            clusters=tuple(clusters),
            newest=pictures.RunPoint.of(newest[0]) if newest else None,
            latest_finished=pictures.RunPoint.of(finished[0]) if finished else None,
        )

    def history(self, db: store.Store, *, limit: int = HISTORY_LIMIT) -> list[pictures.RunPoint]:
        """The newest ``limit`` runs, newest first, as history points."""
        try:
            records = db.run_records(limit=limit)
        except errors.InputError:
            return []
        with self._lock:
            missing = [i for i, r in enumerate(records) if r.run_id not in self._points]
        if missing:
            # Runs are ordered newest first: reading down to the last missing one reads them all.
            for run in db.runs(limit=missing[-1] + 1):
                # Unfinished runs are never kept: their state moves (running, then finished or
                # interrupted); their registration says all there is to say of them.
                if run.state is results.RunState.FINISHED:
                    with self._lock:
                        self._points[run.run_id] = pictures.RunPoint.of(run)
        out = []
        with self._lock:
            for record in records:
                point = self._points.get(record.run_id)
                out.append(point if point is not None else _unfinished_point(record))
        return out


def _unfinished_point(record: store.model.RunRecord) -> pictures.RunPoint:
    return pictures.RunPoint(
        run_id=record.run_id,
        kind=record.kind,
        state=record.state,
        started_at=record.started_at,
        finished_at=record.finished_at,
        revision=record.revision,
        ok=False,
        seconds=None,
        healthy=None,
        drifted=0,
        applications=0,
        out_of_sync=0,
        degraded=0,
        clusters_failed=0,
        note=redact.mask(record.message),
    )


def _reason(value: object) -> Reason | None:
    try:
        return Reason(str(value)) if value else None
    except ValueError:
        return None  # written by a newer fleet with a reason this one does not know


def app_detail(db: store.Store, *, cluster: str, app: str) -> results.AppResult | None:
    """One Application's latest known state on one cluster, with its objects, diffs and events."""
    try:
        return db.app_state(cluster=cluster, app=app)
    except errors.InputError:
        return None


def last_good(db: store.Store, *, cluster: str, app: str) -> store.model.LastGood | None:
    try:
        found = db.last_good(cluster=cluster, app=app)
    except errors.InputError:
        return None
    return found[0] if found else None


__all__ = ["HISTORY_LIMIT", "HISTORY_MAX", "FleetState", "Reader", "app_detail", "last_good"]
