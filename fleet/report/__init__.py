"""Fleet reports: one run (and its history) as JSON, Markdown, HTML, JUnit XML or Prometheus metrics.

Sits at the very end of the data flow, reading ``RunResult`` values from the status store.
Every format is computed from the same ``ReportData`` so they never disagree; text passes
through ``fleet.redact`` once more before it is returned.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import jinja2

from fleet import redact, results
from fleet.health import Health
from fleet.report import junit, pictures
from fleet.status import SyncStatus


class Format(StrEnum):
    """The report formats."""

    HTML = "html"  # a self-contained page (inline CSS, no scripts)
    MARKDOWN = "markdown"  # for pull-request comments and chat
    JSON = "json"  # machine-readable: the run, its summary and the history summaries
    METRICS = "metrics"  # Prometheus text exposition (e.g. for the node_exporter textfile collector)
    JUNIT = "junit"  # JUnit XML for CI systems: one test case per Application and cluster


class Tone(StrEnum):
    """How a summary card or a row is coloured in the HTML report."""

    GOOD = "good"  # green: the wanted state, and some Applications are in it
    BAD = "bad"  # red: something failed (only ever for a count above zero)
    WARN = "warn"  # amber: not settled or not known (only ever for a count above zero)
    NEUTRAL = "neutral"  # no colour: a zero, or a plain count


@dataclasses.dataclass(frozen=True)
class Card:
    """One summary card: a count, what it counts, and its colour."""

    value: int
    label: str
    tone: Tone


def _tone(count: int, when_nonzero: Tone) -> Tone:
    return when_nonzero if count else Tone.NEUTRAL


# Health cards besides Healthy and Degraded, shown only when some Application has that health.
_OTHER_HEALTH: tuple[tuple[Health, Tone], ...] = (
    (Health.SUSPENDED, Tone.NEUTRAL),
    (Health.PROGRESSING, Tone.WARN),
    (Health.MISSING, Tone.WARN),
    (Health.UNKNOWN, Tone.WARN),
)


@dataclasses.dataclass(frozen=True)
class ReportData:
    run: results.RunResult
    history: tuple[results.RunResult, ...]

    @property
    def summary(self) -> dict[str, Any]:
        return self.run.summary()

    def attention(self) -> list[results.AppResult]:
        """Applications that are not Synced and Healthy, worst first."""
        bad = [app for app in self.run.apps() if not app.ok and not app.skipped]
        return sorted(bad, key=lambda a: (-a.health.rank, a.sync_status.value, a.cluster, a.name))

    def recent_events(self) -> list[tuple[results.AppResult, results.ResourceResult, results.ObjectEvent]]:
        """The recent Warning events of the unhealthy objects of the Applications needing attention."""
        return [(app, r, e) for app in self.attention() for r in app.resources for e in r.events]

    def rollout_apps(self, name: str) -> list[results.AppResult]:
        """The Applications of one rollout, in step order."""
        found = [a for a in self.run.apps() if a.rollout is not None and a.rollout.rollout == name]
        return sorted(found, key=lambda a: (a.rollout.step or 10**6, a.rollout.batch, a.cluster, a.name))  # type: ignore[union-attr]

    def sync_cards(self) -> list[Card]:
        """Synced, OutOfSync and Unknown: every Application counts in exactly one (they add up).

        Red and amber only for counts above zero: a red "0 OutOfSync" reads as a failure.
        """
        apps = list(self.run.apps())
        count = {status: sum(1 for a in apps if a.sync_status is status) for status in SyncStatus}
        return [
            Card(
                count[SyncStatus.SYNCED], SyncStatus.SYNCED.value, _tone(count[SyncStatus.SYNCED], Tone.GOOD)
            ),
            Card(
                count[SyncStatus.OUT_OF_SYNC],
                SyncStatus.OUT_OF_SYNC.value,
                _tone(count[SyncStatus.OUT_OF_SYNC], Tone.BAD),
            ),
            Card(
                count[SyncStatus.UNKNOWN],
                SyncStatus.UNKNOWN.value,
                _tone(count[SyncStatus.UNKNOWN], Tone.WARN),
            ),
        ]

    def health_cards(self) -> list[Card]:
        """Healthy and Degraded, then any other health some Application has: they add up too."""
        apps = list(self.run.apps())
        count = {health: sum(1 for a in apps if a.health is health) for health in Health}
        cards = [
            Card(count[Health.HEALTHY], Health.HEALTHY.value, _tone(count[Health.HEALTHY], Tone.GOOD)),
            Card(count[Health.DEGRADED], Health.DEGRADED.value, _tone(count[Health.DEGRADED], Tone.BAD)),
        ]
        cards.extend(Card(count[h], h.value, _tone(count[h], tone)) for h, tone in _OTHER_HEALTH if count[h])
        return cards

    def failed_clusters(self) -> list[results.ClusterResult]:
        return [c for c in self.run.clusters if c.reason is not None]

    def drifted(self) -> list[tuple[results.AppResult, results.ResourceResult]]:
        return [(app, r) for app in self.run.apps() for r in app.resources if r.drift]

    @property
    def ray_nodes(self) -> bool:
        """Whether the run ran on Ray nodes that its clusters name (the cluster table gets a column)."""
        return any(c.ray_node for c in self.run.clusters)

    def cluster_rows(self) -> list[dict[str, Any]]:
        rows = []
        for c in sorted(self.run.clusters, key=lambda c: c.cluster):
            rows.append(
                {
                    "cluster": c.cluster,
                    "state": "ok" if c.ok else (c.reason.value if c.reason else "attention"),
                    "tone": Tone.GOOD if c.ok else (Tone.BAD if c.reason else Tone.WARN),
                    "apps": len(c.apps),
                    "apps_ok": sum(1 for a in c.apps if a.ok),
                    "requests": c.request_total,
                    "seconds": round(c.seconds, 2),
                    "message": c.message,
                    "ray_node": c.ray_node,
                }
            )
        return rows


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("fleet.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "html.j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
_ENV.filters["md"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")


def render(
    run: results.RunResult,
    history: Sequence[results.RunResult] = (),
    *,
    fmt: Format | str,
    group_by: str | None = None,
) -> str:
    """``run`` (and ``history``, newest first) in one format. ``group_by``: the cluster label the
    HTML matrix groups clusters by (None: the one that splits them into the fewest groups)."""
    data = ReportData(run=run, history=tuple(history))
    fmt = Format(fmt)
    if fmt is Format.JSON:
        text = json.dumps(
            {
                "run": json.loads(run.to_json()),
                "summary": data.summary,
                "ok": run.ok,
                "history": [
                    {
                        "run_id": h.run_id,
                        "kind": h.kind.value,
                        "state": h.state.value,
                        "started_at": h.started_at,
                        "revision": h.revision,
                        "ok": h.ok,
                        "summary": h.summary(),
                        "notes": list(h.notes) if h.state is not results.RunState.FINISHED else [],
                    }
                    for h in data.history
                ],
            },
            indent=2,
        )
    elif fmt is Format.METRICS:
        text = metrics(data)
    elif fmt is Format.JUNIT:
        text = junit.render(run)
    elif fmt is Format.MARKDOWN:
        text = _ENV.get_template("report.md.j2").render(
            data=data, run=run, summary=data.summary, Health=Health, SyncStatus=SyncStatus
        )
    else:
        text = _ENV.get_template("report.html.j2").render(
            data=data,
            run=run,
            summary=data.summary,
            Health=Health,
            SyncStatus=SyncStatus,
            matrix=pictures.matrix(run.clusters, group_by=group_by),
            charts=pictures.history_charts(data.history),
        )
    return redact.mask(text)


def metrics(data: ReportData) -> str:
    """Prometheus text format for the latest run: one series per Application and cluster."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry()
    app_sync = Gauge(
        "fleet_app_sync_status",
        "1 for the Application's current sync status",
        ["cluster", "app", "project", "status"],
        registry=registry,
    )
    app_health = Gauge(
        "fleet_app_health_status",
        "1 for the Application's current health",
        ["cluster", "app", "project", "health"],
        registry=registry,
    )
    cluster_up = Gauge(
        "fleet_cluster_reachable",
        "1 when the cluster answered during the run",
        ["cluster"],
        registry=registry,
    )
    requests = Gauge(
        "fleet_cluster_api_requests",
        "API requests fleet made to the cluster in the run",
        ["cluster"],
        registry=registry,
    )
    seconds = Gauge(
        "fleet_cluster_sync_seconds",
        "Seconds spent on the cluster in the run",
        ["cluster"],
        registry=registry,
    )
    drifted = Gauge(
        "fleet_drifted_objects", "Objects changed by hand, found in the run", ["cluster"], registry=registry
    )
    run_info = Gauge(
        "fleet_run_ok",
        "1 when the last run was entirely Synced and Healthy",
        ["kind", "revision"],
        registry=registry,
    )
    run_ts = Gauge("fleet_run_finished_timestamp_seconds", "When the last run finished", registry=registry)
    totals = Gauge(
        "fleet_applications",
        "Applications by sync status and health",
        ["status", "health"],
        registry=registry,
    )
    rollout_step = Gauge(
        "fleet_rollout_step",
        "1 for the state each rollout step ended in",
        ["rollout", "step", "state"],
        registry=registry,
    )
    rollout_stopped = Gauge(
        "fleet_rollout_stopped_at_step",
        "The step a rollout stopped at (0: it did not stop)",
        ["rollout"],
        registry=registry,
    )
    for found in data.run.rollouts:
        rollout_stopped.labels(found.name).set(found.stopped_at)
        for step in found.steps:
            rollout_step.labels(found.name, str(step.step), step.state.value).set(1)
    for cluster in data.run.clusters:
        cluster_up.labels(cluster.cluster).set(1 if cluster.reachable and cluster.reason is None else 0)
        requests.labels(cluster.cluster).set(cluster.request_total)
        seconds.labels(cluster.cluster).set(cluster.seconds)
        drifted.labels(cluster.cluster).set(sum(1 for a in cluster.apps for r in a.resources if r.drift))
        for app in cluster.apps:
            app_sync.labels(app.cluster, app.name, app.project, app.sync_status.value).set(1)
            app_health.labels(app.cluster, app.name, app.project, app.health.value).set(1)
    counts: dict[tuple[str, str], int] = {}
    for app in data.run.apps():
        key = (app.sync_status.value, app.health.value)
        counts[key] = counts.get(key, 0) + 1
    for (status, health), count in counts.items():
        totals.labels(status, health).set(count)
    run_info.labels(data.run.kind.value, data.run.revision).set(1 if data.run.ok else 0)
    if data.run.finished_at:
        import datetime as dt

        finished = dt.datetime.strptime(data.run.finished_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
        run_ts.set(finished.timestamp())
    return generate_latest(registry).decode()
