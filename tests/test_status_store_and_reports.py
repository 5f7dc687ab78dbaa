"""Reports render a run and its history in four formats, masked (the status store itself:
test_store_records_runs.py, on both backends)."""

from __future__ import annotations

import json

import pytest

from fleet import redact, report, results
from fleet.health import Health
from fleet.status import OperationPhase, Reason, SyncStatus

SECRET = "hunter2-very-secret"


def app(
    name: str, cluster: str, *, ok: bool = True, drift: bool = False, message: str = ""
) -> results.AppResult:
    resources = (
        results.ResourceResult(
            kind="ConfigMap",
            namespace="web",
            name=f"{name}-config",
            action=results.Action.DRIFTED if drift else results.Action.UNCHANGED,
            status=SyncStatus.OUT_OF_SYNC if drift else SyncStatus.SYNCED,
            health=Health.HEALTHY,
            drift=drift,
            diff=f"-  key: {SECRET}\n+  key: ***" if drift else "",
        ),
    )
    return results.AppResult(
        name=name,
        cluster=cluster,
        namespace="web",
        sync_status=SyncStatus.SYNCED if ok and not drift else SyncStatus.OUT_OF_SYNC,
        health=Health.HEALTHY if ok else Health.DEGRADED,
        phase=OperationPhase.SUCCEEDED if ok else OperationPhase.FAILED,
        reason=Reason.SUCCEEDED if ok else Reason.HEALTH_CHECK_FAILED,
        message=message,
        resources=resources,
    )


def run(run_id: str, *, broken: bool) -> results.RunResult:
    clusters = [
        results.ClusterResult(
            cluster="c001", apps=(app("web", "c001"), app("api", "c001", drift=broken)), requests={"list": 4}
        ),
        results.ClusterResult(
            cluster="c002",
            apps=(app("web", "c002", ok=not broken, message=f"token {SECRET} rejected"),),
            requests={"list": 2, "apply": 3},
        ),
    ]
    if broken:
        clusters.append(
            results.ClusterResult(
                cluster="c003",
                reachable=False,
                reason=Reason.CLUSTER_UNREACHABLE,
                message="connection refused",
            )
        )
    return results.RunResult(
        run_id=run_id,
        kind=results.RunKind.SYNC,
        started_at=results.now(),
        finished_at=results.now(),
        source="https://git.example.com/fleet.git",
        revision="0123456789abcdef",
        executor="local",
        clusters=tuple(clusters),
    )


@pytest.fixture(autouse=True)
def registered_secret():
    # Registration is process-wide and additive; never forget_all() here, other tests rely on theirs.
    redact.register(SECRET)


def test_a_run_is_ok_only_when_every_application_is_synced_and_healthy() -> None:
    assert run("r1", broken=False).ok
    broken = run("r2", broken=True)
    assert not broken.ok and broken.exit_code() == 1
    summary = broken.summary()
    assert summary["clusters_failed"] == 1 and summary["degraded"] == 1 and summary["drifted"] == 1
    assert summary["requests"] == 9


@pytest.mark.parametrize("fmt", list(report.Format), ids=str)
def test_every_report_format_masks_secrets_and_names_what_needs_attention(fmt) -> None:
    text = report.render(run("r2", broken=True), [run("r2", broken=True), run("r1", broken=False)], fmt=fmt)
    assert SECRET not in text
    if fmt is report.Format.METRICS:
        assert 'fleet_cluster_reachable{cluster="c003"} 0.0' in text
        assert (
            'fleet_app_health_status{app="web",cluster="c002",health="Degraded",project="default"} 1.0'
            in text
        )
        return
    # JUnit is of the latest run only: CI reads one run's cases (no history, no "r1")
    history = () if fmt is report.Format.JUNIT else ("r1",)
    for needle in ("c003", "ClusterUnreachable", "HealthCheckFailed", *history):
        assert needle in text, needle
    if fmt is report.Format.JSON:
        doc = json.loads(text)
        assert doc["ok"] is False and doc["summary"]["clusters_failed"] == 1 and len(doc["history"]) == 2


def test_the_html_report_escapes_what_it_shows() -> None:
    evil = run("r3", broken=False).model_copy(update={"source": "<script>alert(1)</script>"})
    text = report.render(evil, fmt="html")
    assert "<script>" not in text and "&lt;script&gt;" in text
