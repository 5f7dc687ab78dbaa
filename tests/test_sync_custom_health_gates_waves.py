"""A custom resource's health gates the next sync wave in a real ``fleet sync`` on the simulator.

The fleet applies CRDs, then a cert-manager-like Certificate (wave 0), a Rollout-like resource
(wave 1), a Crossplane-like Bucket (wave 2) and a ConfigMap (wave 3). Their health comes from
the fleet's own Lua checks (``fleet.yaml`` naming a ``resource_customizations`` tree in the
repository) or from Flux CEL expressions (``--health-exprs``). The test plays each controller:
it waits until the sync is polling a resource (the simulator counts the GETs), checks that the
next wave has not been applied, then sets the resource's status through the status subresource.
Progressing holds the next wave back; Healthy releases it; Degraded fails the Application and
the later waves are never applied.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fleet.clusters import client
from fleet.status import Reason

DATA = Path(__file__).parent / "data" / "health" / "argo"
CLUSTER = "c001"
NAMESPACE = "platform"

CERTIFICATE = ("cert-manager.io/v1", "Certificate", NAMESPACE, "web-tls", "certificates")
ROLLOUT = ("argoproj.io/v1alpha1", "Rollout", NAMESPACE, "api", "rollouts")
BUCKET = ("s3.aws.crossplane.io/v1beta1", "Bucket", None, "platform-assets", "buckets")

READY = {"conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "message": "ready"}]}
ROLLED_OUT = {"observedGeneration": "1", "updatedReplicas": 2, "availableReplicas": 2, "phase": "Healthy"}
PROVISIONED = {
    "conditions": [
        {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
        {"type": "Ready", "status": "True", "reason": "Available"},
    ]
}
FAILED = {
    "conditions": [{"type": "Ready", "status": "False", "reason": "Failed", "message": "order refused"}]
}


def wait_for(what: str, condition: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Controller:
    """Stands in for cert-manager, Argo Rollouts and Crossplane: sets statuses when told."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.api = client.connect(next(c for c in env.sim.clusters() if c.name == CLUSTER))

    def exists(self, target: tuple[str, ...]) -> bool:
        api_version, kind, namespace, name, _ = target
        try:
            return self.env.sim.get_object(CLUSTER, api_version, kind, namespace, name) is not None
        except Exception:  # noqa: BLE001 - the kind is not served until its CRD is applied
            return False

    def polled(self, target: tuple[str, ...], times: int = 2) -> bool:
        """The sync has read the resource ``times`` times since it exists: it is waiting on it."""
        counts = self.env.sim.request_counts(CLUSTER)["resources"].get(target[4], {})
        return self.exists(target) and counts.get("get", 0) >= times

    def set_status(self, target: tuple[str, ...], status: dict[str, Any]) -> None:
        api_version, kind, namespace, name, _ = target
        self.api.patch(api_version, kind, name, {"status": status}, namespace=namespace, subresource="status")


def start_sync(env: Any, *extra: str, executor: str = "local") -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        outcome["run"] = env.sync("--health-timeout", "120", *extra, executor=executor)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


CHECKS = [
    (
        "lua-from-fleet-yaml",
        (),
        {
            CERTIFICATE: "ready",
            ROLLOUT: "Rollout is complete",
            BUCKET: "Resource is available",
        },
    ),
    (
        "cel-from-health-exprs",
        ("--health-exprs", str(DATA / "flux-kustomization.yaml")),
        {
            CERTIFICATE: "current expression is true",
            ROLLOUT: "current expression is true",
            BUCKET: "current expression is true",
        },
    ),
]


@pytest.mark.parametrize(("name", "flags", "messages"), CHECKS, ids=[c[0] for c in CHECKS])
def test_each_wave_waits_until_its_custom_resource_is_healthy(
    make_fleet: Callable[..., Any], name: str, flags: tuple[str, ...], messages: dict[tuple[str, ...], str]
) -> None:
    env = make_fleet("crd-health", clusters=1)
    controller = Controller(env)
    thread, outcome = start_sync(env, *flags)
    steps = [(CERTIFICATE, READY, ROLLOUT), (ROLLOUT, ROLLED_OUT, BUCKET), (BUCKET, PROVISIONED, None)]
    for target, status, following in steps:
        wait_for(f"the sync to wait on {target[1]}", lambda t=target: controller.polled(t))
        if following is not None:
            assert not controller.exists(following), (
                f"{following[1]} was applied before {target[1]} was healthy"
            )
        assert env.sim.get_object(CLUSTER, "v1", "ConfigMap", NAMESPACE, "platform-ready") is None
        controller.set_status(target, status)
    thread.join(timeout=120)
    run = outcome["run"]
    assert run.exit_code == 0, run.stderr
    app = run.app(CLUSTER, f"platform-{CLUSTER}")
    assert (app.health.value, app.reason) == ("Healthy", Reason.SUCCEEDED)
    health_messages = {(r.kind, r.name): r.health_message for r in app.resources}
    for target, message in messages.items():
        assert health_messages[(target[1], target[3])] == message
    assert env.sim.get_object(CLUSTER, "v1", "ConfigMap", NAMESPACE, "platform-ready") is not None


@pytest.mark.parametrize(("name", "flags"), [(c[0], c[1]) for c in CHECKS], ids=[c[0] for c in CHECKS])
def test_a_degraded_custom_resource_fails_the_sync_and_later_waves_never_apply(
    make_fleet: Callable[..., Any], name: str, flags: tuple[str, ...]
) -> None:
    env = make_fleet("crd-health", clusters=1)
    controller = Controller(env)
    thread, outcome = start_sync(env, *flags)
    wait_for("the sync to wait on the Certificate", lambda: controller.polled(CERTIFICATE))
    controller.set_status(CERTIFICATE, FAILED)
    thread.join(timeout=120)
    run = outcome["run"]
    assert run.exit_code == 1
    app = run.app(CLUSTER, f"platform-{CLUSTER}")
    assert app.reason is Reason.HEALTH_CHECK_FAILED
    assert "Certificate" in app.message and "web-tls" in app.message
    expected = "Failed: order refused" if name.startswith("lua") else "failed expression is true"
    assert expected in app.message
    assert not controller.exists(ROLLOUT) and not controller.exists(BUCKET)
    assert env.sim.get_object(CLUSTER, "v1", "ConfigMap", NAMESPACE, "platform-ready") is None


@pytest.mark.slow
def test_the_checks_travel_to_ray_workers_with_the_work(make_fleet: Callable[..., Any]) -> None:
    """Ray workers are other processes: the Lua scripts reach them inside the run's settings."""
    env = make_fleet("crd-health", clusters=1)
    controller = Controller(env)
    thread, outcome = start_sync(env, executor="ray")
    wait_for("the sync to wait on the Certificate", lambda: controller.polled(CERTIFICATE), timeout=120)
    assert not controller.exists(ROLLOUT)
    controller.set_status(CERTIFICATE, FAILED)
    thread.join(timeout=120)
    run = outcome["run"]
    assert run.exit_code == 1, run.stderr
    assert run.run_result.executor == "ray"
    app = run.app(CLUSTER, f"platform-{CLUSTER}")
    assert app.reason is Reason.HEALTH_CHECK_FAILED and "Failed: order refused" in app.message
    assert not controller.exists(ROLLOUT)
