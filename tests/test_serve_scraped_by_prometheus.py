"""A real Prometheus server (Debian's package) scrapes `fleet serve`'s `/metrics` and answers PromQL
about the fleet: the exposition is accepted as a whole (the target is up, with no scrape error), and
the per-Application, per-cluster and per-run series can be queried the way a dashboard or an alert
rule would. The in-process parser test (test_serve_metrics_and_probes.py) checks each value; this one
checks that a real scraper agrees."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fleet.serve import schedule, server
from tests import serve_helpers as sh
from tests.servers.prometheus import PrometheusServer
from tests.store_helpers import ManualClock


@contextmanager
def scraping(workdir: Path, target: str) -> Iterator[PrometheusServer]:
    workdir.mkdir()
    prometheus = PrometheusServer(workdir, extra_targets=(target,))
    try:
        yield prometheus
    finally:
        prometheus.stop()


def test_prometheus_scrapes_fleet_serve_and_answers_queries_about_the_fleet(make_fleet, tmp_path) -> None:
    env = make_fleet("basic", clusters=2)
    env.sim.set_fault("c002", unreachable=True)
    srv = sh.make_server(env, plan=schedule.Interval(3600.0), clock=ManualClock())
    with server.running(srv):
        assert srv.worker.wait_finished(1, timeout=120)  # the first --every run, at start
        address = srv.address
        assert address is not None
        with scraping(tmp_path / "prometheus", f"{address.host}:{address.port}") as prometheus:
            up = prometheus.wait_for('up{job="extra"} == 1')
            assert len(up) == 1
            synced = prometheus.wait_for('fleet_app_sync_status{cluster="c001",status="Synced"} == 1')
            assert [r["metric"]["app"] for r in synced] == ["web-c001"]
            # An alert rule's query: clusters fleet cannot reach.
            unreachable = prometheus.wait_for("fleet_cluster_reachable == 0")
            assert [r["metric"]["cluster"] for r in unreachable] == ["c002"]
            failed = prometheus.wait_for('fleet_runs_total{outcome="failed"}')
            assert [float(r["value"][1]) for r in failed] == [1.0]
            errors = prometheus.wait_for("sum by (cluster, reason) (fleet_cluster_errors_total)")
            assert {(r["metric"]["cluster"], r["metric"]["reason"]) for r in errors} == {
                ("c002", "ClusterUnreachable")
            }
            # Every series of the scrape was accepted: a malformed line would fail the whole
            # scrape (up == 0), and the count of samples scraped is what fleet exposed.
            scraped = prometheus.wait_for('scrape_samples_scraped{job="extra"}')
            assert float(scraped[0]["value"][1]) > 10
