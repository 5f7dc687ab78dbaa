"""The simulated HorizontalPodAutoscaler scales its target from metrics tests set, and Fleet's
health check reads its status end to end."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from fleet.clusters.sim import SimServer
from fleet.health import Health


def wait_for(read: Callable[[], Any], check: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    value = read()
    while not check(value):
        assert time.monotonic() < deadline, f"condition not met; last value: {value}"
        time.sleep(0.02)
        value = read()
    return value


def hpa(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
                }
            ],
            **spec,
        },
    }


def deployment(name: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
            },
        },
    }


def replicas(sim: SimServer, name: str) -> int:
    return int(sim.get_object("c001", "apps/v1", "Deployment", "default", name)["spec"]["replicas"])


def reasons(obj: dict[str, Any] | None) -> dict[str, str]:
    return {c["type"]: c["reason"] for c in ((obj or {}).get("status") or {}).get("conditions") or []}


def status_of(sim: SimServer, name: str) -> dict[str, Any] | None:
    return sim.get_object("c001", "autoscaling/v2", "HorizontalPodAutoscaler", "default", name)


def test_load_above_target_scales_up_within_the_rate_limit_and_max(sim: SimServer) -> None:
    sim.apply_object("c001", deployment("web"))
    sim.apply_object("c001", hpa("web", maxReplicas=7))
    wait_for(lambda: status_of(sim, "web"), lambda h: reasons(h).get("ScalingActive") == "ValidMetricFound")
    assert replicas(sim, "web") == 2  # a metric nobody set reads as its target: no change
    sim.set_metric("c001", "default", "cpu", 200, target="Deployment/web")
    # 2 pods at 4x target want 8; the default policy allows +4 pods per 15 s, so 6 first ...
    wait_for(lambda: replicas(sim, "web"), lambda r: r == 6)
    assert reasons(status_of(sim, "web"))["ScalingLimited"] == "ScaleUpLimit"
    sim.advance_clock(15)
    # ... then the maximum.
    wait_for(lambda: replicas(sim, "web"), lambda r: r == 7)
    h = wait_for(
        lambda: status_of(sim, "web"), lambda h: reasons(h).get("ScalingLimited") == "TooManyReplicas"
    )
    assert h["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] == 200
    messages = [
        e["message"]
        for e in sim.objects("c001", kind="Event", namespace="default")
        if e["reason"] == "SuccessfulRescale"
    ]
    assert "New size: 6; reason: cpu resource utilization (percentage of request) above target" in messages


def test_scaling_down_waits_for_the_stabilization_window(sim: SimServer) -> None:
    sim.apply_object("c001", deployment("calm", replicas=4))
    sim.apply_object("c001", hpa("calm"))
    wait_for(lambda: status_of(sim, "calm"), lambda h: reasons(h).get("ScalingActive") == "ValidMetricFound")
    sim.set_metric("c001", "default", "cpu", 10, target="Deployment/calm")
    wait_for(lambda: status_of(sim, "calm"), lambda h: reasons(h).get("AbleToScale") == "ScaleDownStabilized")
    assert replicas(sim, "calm") == 4
    sim.advance_clock(301)
    wait_for(lambda: replicas(sim, "calm"), lambda r: r == 1)


@pytest.mark.parametrize(
    "change, reason",
    [
        (
            lambda sim: sim.set_metric("c001", "default", "cpu", None, target="Deployment/sick"),
            "FailedGetResourceMetric",
        ),
        (lambda sim: sim.delete_object("c001", "apps/v1", "Deployment", "default", "sick"), "FailedGetScale"),
    ],
    ids=["no metrics", "no target"],
)
def test_an_autoscaler_that_cannot_work_is_degraded_for_fleet(
    sim: SimServer, change: Any, reason: str
) -> None:
    from fleet import health

    sim.apply_object("c001", deployment("sick"))
    sim.apply_object("c001", hpa("sick"))
    healthy = wait_for(
        lambda: status_of(sim, "sick"), lambda h: reasons(h).get("ScalingActive") == "ValidMetricFound"
    )
    assert health.check(healthy).status is Health.HEALTHY
    change(sim)
    sim.advance_clock(15)
    broken = wait_for(lambda: status_of(sim, "sick"), lambda h: reason in reasons(h).values())
    assert health.check(broken).status is Health.DEGRADED


def test_fleet_sync_reports_an_autoscaled_app_and_a_cronjob_healthy_then_degraded(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    env.write("apps/web/hpa.yaml", {**hpa("web"), "metadata": {"name": "web"}})
    env.write(
        "apps/web/cronjob.yaml",
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "report"},
            "spec": {
                "schedule": "@hourly",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [{"name": "r", "image": "busybox"}],
                            }
                        }
                    }
                },
            },
        },
    )
    (cluster,) = env.cluster_names
    run = env.sync("--health-timeout", "20")
    app = run.app(cluster, f"web-{cluster}")
    kinds = {r.kind: r.health for r in app.resources}
    assert run.exit_code == 0, run.stdout
    assert kinds["HorizontalPodAutoscaler"] is Health.HEALTHY and kinds["CronJob"] is Health.HEALTHY
    env.sim.set_metric(cluster, "web", "cpu", None, target="Deployment/web")
    wait_for(
        lambda: env.sim.get_object(cluster, "autoscaling/v2", "HorizontalPodAutoscaler", "web", "web"),
        lambda h: "FailedGetResourceMetric" in reasons(h).values(),
    )
    again = env.sync("--health-timeout", "2")
    app = again.app(cluster, f"web-{cluster}")
    assert again.exit_code == 1 and app.health is Health.DEGRADED
    (autoscaler,) = [r for r in app.resources if r.kind == "HorizontalPodAutoscaler"]
    assert "unable to compute the replica count" in autoscaler.health_message
