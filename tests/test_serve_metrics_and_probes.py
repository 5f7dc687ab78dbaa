"""`/metrics` of `fleet serve` is Prometheus' text format, read back here with prometheus-client's
own parser: sync status, health and last success per Application and cluster (from the store),
run durations, API requests and errors per cluster (from the runs' results), webhook deliveries
by provider and outcome, and run lock waits. `/healthz` answers while the process lives; `/readyz`
only once the store answers (SQLite or a real PostgreSQL server; an unreachable one is named,
without its password) and the first run (with --every) has finished."""

from __future__ import annotations

import threading
import time

from prometheus_client.parser import text_string_to_metric_families

from fleet.serve import schedule, server, webhooks
from tests import serve_helpers as sh
from tests.store_helpers import ManualClock


def scrape(base: str) -> dict[str, list]:
    answer = sh.http("GET", f"{base}/metrics")
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(answer.body.decode())}


def value(samples: list, name: str, **labels: str) -> float:
    found = [
        s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (name, labels, samples)
    return float(found[0])


def test_metrics_describe_the_fleet_the_runs_and_the_webhooks(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    env.sim.set_fault("c002", unreachable=True)
    clock = ManualClock()
    srv = sh.make_server(env, plan=schedule.Interval(3600.0), clock=clock)
    with server.running(srv):
        base = sh.base_url(srv)
        assert srv.worker.wait_finished(1, timeout=120)  # the first --every run, at start
        sh.deliver(
            base,
            webhooks.Provider.GITHUB,
            sh.payload(webhooks.Provider.GITHUB, repo="https://x.example/o.git"),
        )
        body = b"{}"
        sh.http(
            "POST", f"{base}/hooks/gitea", body, sh.headers(webhooks.Provider.GITEA, body, secret="wrong")
        )
        families = scrape(base)
    sync = families["fleet_app_sync_status"]
    assert value(sync, "fleet_app_sync_status", cluster="c001", app="web-c001", status="Synced") == 1
    health = families["fleet_app_health_status"]
    assert value(health, "fleet_app_health_status", cluster="c001", app="web-c001", health="Healthy") == 1
    success = families["fleet_app_last_success_timestamp_seconds"]
    assert value(success, "fleet_app_last_success_timestamp_seconds", cluster="c001", app="web-c001") > 0
    assert not [s for s in success if s.labels["cluster"] == "c002"]  # never synced there
    reachable = families["fleet_cluster_reachable"]
    assert value(reachable, "fleet_cluster_reachable", cluster="c002") == 0
    durations = families["fleet_run_duration_seconds"]
    assert value(durations, "fleet_run_duration_seconds_count", reason="startup") == 1
    runs = families["fleet_runs"]
    assert value(runs, "fleet_runs_total", reason="startup", outcome="failed") == 1  # c002 is down
    requests = families["fleet_cluster_api_requests"]
    assert value(requests, "fleet_cluster_api_requests_total", cluster="c001") > 0
    errors = families["fleet_cluster_errors"]
    assert value(errors, "fleet_cluster_errors_total", cluster="c002", reason="ClusterUnreachable") == 1
    assert not [s for s in errors if s.labels.get("cluster") == "c001"]
    waits = families["fleet_run_lock_waits"]
    assert value(waits, "fleet_run_lock_waits_total", outcome="acquired") == 1
    assert value(families["fleet_run_lock_wait_seconds"], "fleet_run_lock_wait_seconds_count") == 1
    hooks = families["fleet_webhook_deliveries"]
    assert value(hooks, "fleet_webhook_deliveries_total", provider="github", outcome="ignored") == 1
    assert value(hooks, "fleet_webhook_deliveries_total", provider="gitea", outcome="unauthorized") == 1
    api = families["fleet_api_requests"]
    assert value(api, "fleet_api_requests_total", method="POST", route="/hooks", code="401") == 1


def test_readyz_waits_for_the_first_run_and_healthz_does_not(make_fleet) -> None:
    # Rollouts that take an hour of simulated time: the first run waits for its Deployment's
    # health until the test moves the simulator's clock.
    env = make_fleet("basic", clusters=1, rollout_seconds=3600)
    srv = sh.make_server(env, plan=schedule.Interval(3600.0), clock=ManualClock())
    with server.running(srv):
        base = sh.base_url(srv)
        assert _until(lambda: bool(env.sim.objects("c001", kind="Deployment")))  # the run is applying
        assert sh.http("GET", f"{base}/healthz").status == 200
        early = sh.http("GET", f"{base}/readyz")
        assert early.status == 503 and "first run" in early.body.decode()
        env.sim.advance_clock(3600)
        assert srv.worker.wait_finished(1, timeout=120)
        assert sh.http("GET", f"{base}/readyz").json() == {"status": "ready"}


def _until(condition, timeout: float = 60.0) -> bool:
    """Real time, until ``condition()`` holds (it is looked at every 50 ms)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.05)
    return True


def test_readyz_is_ready_at_once_without_a_first_run(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    srv = sh.make_server(env, plan=schedule.Cron("0 3 * * *"), clock=ManualClock())
    with server.running(srv):
        assert sh.http("GET", f"{sh.base_url(srv)}/readyz").status == 200
    assert env.sim.request_counts("c001")["total"] == 0


def test_readyz_says_when_the_store_is_unreachable(make_fleet) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once the socket is closed
    env = make_fleet("basic", clusters=1, store=f"postgresql://fleet:pw-Hq2@127.0.0.1:{port}/fleet")
    srv = sh.make_server(env, plan=schedule.Never(), clock=ManualClock())
    with server.running(srv):
        base = sh.base_url(srv)
        answer = sh.http("GET", f"{base}/readyz")
        assert answer.status == 503 and "status store is not reachable" in answer.body.decode()
        assert "pw-Hq2" not in answer.body.decode()
        assert sh.http("GET", f"{base}/api/v1/runs").status == 503
        assert sh.http("GET", f"{base}/healthz").status == 200


def test_a_server_on_a_postgresql_store_records_and_reads_its_runs(make_fleet, postgres_url) -> None:
    env = make_fleet("basic", clusters=2, store=postgres_url)
    srv = sh.make_server(env, plan=schedule.Interval(3600.0), clock=ManualClock())
    with server.running(srv):
        base = sh.base_url(srv)
        assert srv.worker.wait_finished(1, timeout=120)
        assert sh.http("GET", f"{base}/readyz").status == 200
        runs = sh.http("GET", f"{base}/api/v1/runs").json()["runs"]
        apps = sh.http("GET", f"{base}/api/v1/applications").json()["applications"]
    assert [r["state"] for r in runs] == ["finished"]
    assert [(a["cluster"], a["ok"]) for a in apps] == [("c001", True), ("c002", True)]
