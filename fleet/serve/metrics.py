"""``/metrics`` of ``fleet serve``: a prometheus-client registry of its own per server (never the
process-global one, so two servers in one process, or a test beside a server, never mix).

Where it sits: the run worker reports each run here (``observe_run``), the webhook and API
handlers count their requests, and a collector reads the latest state of every Application and
cluster from the status store when Prometheus scrapes, so the series describe what the store
says (shared by every process on the fleet), not only what this process did.

Series (``fleet_`` prefix):

- from the store at scrape time: ``app_sync_status{cluster,app,project,status}`` and
  ``app_health_status{...,health}`` (1 for the current value, as ``fleet report --format
  metrics`` writes them), ``app_last_success_timestamp_seconds{cluster,app}`` (when a sync last
  left it Synced and Healthy), ``cluster_reachable{cluster}``;
- from this process's runs: ``runs_total{reason,outcome}``, ``run_duration_seconds`` (a
  histogram by reason), ``run_in_progress``, ``cluster_api_requests_total{cluster}`` and
  ``cluster_errors_total{cluster,reason}`` (summed over the runs' results),
  ``run_lock_waits_total{outcome}`` and ``run_lock_wait_seconds`` (from asking for a run to its
  registration, which is where the run lock is waited for);
- from the handlers: ``webhook_deliveries_total{provider,outcome}``,
  ``api_requests_total{method,route,code}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from fleet import errors, log, results, store

_log = log.get_logger(__name__)

RUN_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)  # seconds: a run takes seconds to an hour
WAIT_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 300)


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class StoreCollector(Collector):
    """The latest state of every Application and cluster, read from the store per scrape. A
    store that cannot be read yields no series (and a log line), never a failed scrape."""

    def __init__(self, open_store: Callable[[], store.Store]) -> None:
        self.open_store = open_store

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # the series are only known at scrape time; nothing to check at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        sync = GaugeMetricFamily(
            "fleet_app_sync_status", "1 for the Application's current sync status",
            labels=["cluster", "app", "project", "status"],
        )  # fmt: skip
        health = GaugeMetricFamily(
            "fleet_app_health_status", "1 for the Application's current health",
            labels=["cluster", "app", "project", "health"],
        )  # fmt: skip
        success = GaugeMetricFamily(
            "fleet_app_last_success_timestamp_seconds",
            "When a sync last left the Application Synced and Healthy on the cluster",
            labels=["cluster", "app"],
        )
        reachable = GaugeMetricFamily(
            "fleet_cluster_reachable", "1 when the cluster answered the latest run that reached it",
            labels=["cluster"],
        )  # fmt: skip
        try:
            db = self.open_store()
            apps = db.app_states()
            good = db.last_good()
            clusters = db.cluster_states()
        except (errors.FleetError, OSError) as exc:
            _log.warning("metrics: the status store could not be read", extra={"fields": {"error": str(exc)}})
            return
        for app in apps:
            sync.add_metric([app.cluster, app.name, app.project, app.sync_status.value], 1)
            health.add_metric([app.cluster, app.name, app.project, app.health.value], 1)
        for entry in good:
            if entry.synced_at:
                success.add_metric([entry.cluster, entry.app], _epoch(entry.synced_at))
        for cluster in clusters:
            reachable.add_metric([str(cluster["cluster"])], 1 if cluster["reachable"] else 0)
        yield from (sync, health, success, reachable)


class Metrics:
    """The server's registry and the series this process counts itself."""

    def __init__(self, open_store: Callable[[], store.Store]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter(
            "fleet_runs",
            "Runs this server made, by why and how they ended",
            ["reason", "outcome"],
            registry=r,
        )
        self.run_seconds = Histogram(
            "fleet_run_duration_seconds", "Seconds a run took", ["reason"], buckets=RUN_BUCKETS, registry=r
        )
        self.in_progress = Gauge("fleet_run_in_progress", "1 while this server runs a sync", registry=r)
        self.cluster_requests = Counter(
            "fleet_cluster_api_requests", "Kubernetes API requests made to the cluster by this server's runs",
            ["cluster"], registry=r,
        )  # fmt: skip
        self.cluster_errors = Counter(
            "fleet_cluster_errors",
            "Failures on the cluster in this server's runs: the cluster's own, or one per failed Application",
            ["cluster", "reason"], registry=r,
        )  # fmt: skip
        self.lock_waits = Counter(
            "fleet_run_lock_waits", "Runs that asked for the run lock, by whether they got it",
            ["outcome"], registry=r,
        )  # fmt: skip
        self.lock_wait_seconds = Histogram(
            "fleet_run_lock_wait_seconds", "Seconds from asking for a run to its registration (the run lock)",
            buckets=WAIT_BUCKETS, registry=r,
        )  # fmt: skip
        self.webhooks = Counter(
            "fleet_webhook_deliveries", "Webhook deliveries by provider and outcome", ["provider", "outcome"],
            registry=r,
        )  # fmt: skip
        self.api_requests = Counter(
            "fleet_api_requests", "HTTP requests to the API, /hooks and /metrics", ["method", "route", "code"],
            registry=r,
        )  # fmt: skip
        r.register(StoreCollector(open_store))

    def observe_run(
        self,
        *,
        reason: str,
        seconds: float,
        run: results.RunResult | None,
        error: errors.FleetError | None,
        asked_at: float,
    ) -> None:
        """One run of this server: its outcome, duration, per-cluster requests and failures,
        and how long it waited for the run lock."""
        self.run_seconds.labels(reason).observe(seconds)
        if run is None:
            locked = isinstance(error, errors.RunLocked)
            self.runs.labels(reason, "locked" if locked else "failed").inc()
            if locked:
                self.lock_waits.labels("timed-out").inc()
            return
        self.runs.labels(reason, "ok" if run.ok else "failed").inc()
        self.lock_waits.labels("acquired").inc()
        if run.started_at:
            self.lock_wait_seconds.observe(max(0.0, _epoch(run.started_at) - asked_at))
        for cluster in run.clusters:
            self.cluster_requests.labels(cluster.cluster).inc(cluster.request_total)
            if cluster.reason is not None:
                self.cluster_errors.labels(cluster.cluster, cluster.reason.value).inc()
            for app in cluster.apps:
                if app.reason.is_failure() and cluster.reason is None:
                    self.cluster_errors.labels(cluster.cluster, app.reason.value).inc()


__all__ = ["Metrics", "StoreCollector"]
