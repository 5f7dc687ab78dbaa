"""``fleet sim metric`` and ``fleet sim clock`` drive a running simulator's autoscalers and clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from typer.testing import CliRunner

from fleet.cli import app


def wait_for(read: Callable[[], Any], check: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    value = read()
    while not check(value):
        assert time.monotonic() < deadline, f"condition not met; last value: {value}"
        time.sleep(0.02)
        value = read()
    return value


def test_sim_metric_makes_an_autoscaler_scale_and_sim_clock_runs_a_cronjob(sim) -> None:
    runner = CliRunner()
    sim.apply_object(
        "c001",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "w", "image": "nginx:1.27"}]},
                },
            },
        },
    )
    sim.apply_object(
        "c001",
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "maxReplicas": 5,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 50},
                        },
                    }
                ],
            },
        },
    )
    args = ["sim", "metric", "c001", "--metric", "cpu", "--target", "Deployment/web", "--url", sim.url]
    result = runner.invoke(app, [*args, "--value", "150"])
    assert result.exit_code == 0, result.output
    wait_for(
        lambda: sim.get_object("c001", "apps/v1", "Deployment", "default", "web")["spec"]["replicas"],
        lambda r: r == 3,
    )
    assert runner.invoke(app, [*args, "--value", "1", "--unavailable"]).exit_code == 2

    sim.apply_object(
        "c001",
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "nightly", "namespace": "default"},
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [{"name": "n", "image": "busybox"}],
                            }
                        }
                    }
                },
            },
        },
    )
    result = runner.invoke(app, ["sim", "clock", "--advance", "1d", "--url", sim.url])
    assert result.exit_code == 0 and "+86400s" in result.output
    wait_for(lambda: sim.objects("c001", kind="Job", namespace="default"), lambda jobs: len(jobs) == 1)
    bad = runner.invoke(app, ["sim", "clock", "--advance", "soon", "--url", sim.url])
    assert bad.exit_code == 2 and "--advance" in bad.output
