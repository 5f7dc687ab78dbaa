"""Waves and hooks run in order, observed through a watch on the simulated cluster: PreSync
hook, wave -1, wave 0, then (only once wave 0 is healthy) wave 2, then the PostSync hook, which
its HookSucceeded policy deletes; a Skip object is never applied; an unchanged resync runs no
hook; a failed PreSync hook stops the sync and runs the SyncFail hook."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from fleet import results
from fleet.clusters import client
from fleet.status import Reason

KINDS = (("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("batch/v1", "Job"))
MARKERS = "recorder-markers"  # the namespace of the Recorder's own marker objects


def marker(api_version: str, kind: str, name: str) -> dict[str, Any]:
    """The smallest object of ``kind`` the Recorder's watches see (label managed-by=fleet)."""
    meta = {"name": name, "namespace": MARKERS, "labels": {"app.kubernetes.io/managed-by": "fleet"}}
    pod = {
        "metadata": {"labels": {"marker": name}},
        "spec": {"containers": [{"name": "m", "image": "busybox"}]},
    }
    if kind == "ConfigMap":
        return {"apiVersion": api_version, "kind": kind, "metadata": meta}
    if kind == "Deployment":
        spec = {"replicas": 0, "selector": {"matchLabels": {"marker": name}}, "template": pod}
        return {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": spec}
    pod["spec"]["restartPolicy"] = "Never"
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": {"template": pod}}


class Recorder:
    """Watch events of a few kinds in one namespace, in resourceVersion order.

    ``ordered()`` first makes sure every stream has delivered what happened so far: it creates a
    marker object of each kind (in a namespace of its own) and waits until each stream has
    brought its marker, which the server sends after every earlier event of that kind.
    """

    def __init__(self, env, cluster: str, namespace: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.api = client.connect(next(c for c in env.sim.clusters() if c.name == cluster))
        self.namespace = namespace
        self.markers_seen: set[tuple[str, str]] = set()
        self.markers_made = 0
        self._arrived = threading.Condition()
        self.api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": MARKERS}})
        self.ready = threading.Barrier(len(KINDS) + 1)
        for api_version, kind in KINDS:
            threading.Thread(target=self._watch, args=(api_version, kind), daemon=True).start()
        self.ready.wait(timeout=10)

    def _watch(self, api_version: str, kind: str) -> None:
        selector = "app.kubernetes.io/managed-by=fleet"
        _, since = self.api.list(api_version, kind, label_selector=selector)  # only what happens from now
        stream = self.api.watch(
            api_version, kind, label_selector=selector, resource_version=since, timeout_seconds=60
        )
        self.ready.wait(timeout=10)
        try:
            for event in stream:
                obj = event["object"]
                with self._arrived:
                    if obj["metadata"].get("namespace") == MARKERS:
                        self.markers_seen.add((kind, obj["metadata"]["name"]))
                    elif obj["metadata"].get("namespace") == self.namespace:
                        self.events.append(
                            {
                                "type": event["type"],
                                "kind": kind,
                                "name": obj["metadata"]["name"],
                                "rv": int(obj["metadata"]["resourceVersion"]),
                                "obj": obj,
                            }
                        )
                    self._arrived.notify_all()
        except Exception:  # noqa: BLE001 - the simulator stopping ends the stream
            return

    def ordered(self) -> list[dict[str, Any]]:
        self.markers_made += 1
        name = f"marker-{self.markers_made}"
        for api_version, kind in KINDS:
            self.api.create(marker(api_version, kind, name))
        with self._arrived:
            assert self._arrived.wait_for(
                lambda: all((kind, name) in self.markers_seen for _, kind in KINDS), timeout=10
            ), "a watch stream fell behind"
            return sorted(self.events, key=lambda e: e["rv"])

    def first(self, kind: str, name: str, type_: str = "ADDED") -> int:
        return next(
            e["rv"] for e in self.ordered() if (e["kind"], e["name"], e["type"]) == (kind, name, type_)
        )


def test_waves_and_hooks_are_applied_in_order(make_fleet) -> None:
    env = make_fleet("hooks", clusters=1)
    recorder = Recorder(env, "c001", "ordered")
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    added = [(e["kind"], e["name"]) for e in recorder.ordered() if e["type"] == "ADDED"]
    assert added[0] == ("Job", "migrate")
    assert added.index(("ConfigMap", "early")) < added.index(("ConfigMap", "main"))
    assert added.index(("ConfigMap", "early")) < added.index(("Deployment", "app"))
    assert max(added.index(("ConfigMap", "main")), added.index(("Deployment", "app"))) < added.index(
        ("ConfigMap", "late")
    )
    assert added[-1] == ("Job", "smoke-test")
    assert ("ConfigMap", "skipped") not in added


def test_a_wave_starts_only_once_the_previous_wave_is_healthy(make_fleet) -> None:
    env = make_fleet("hooks", clusters=1, rollout_seconds=0.5)
    recorder = Recorder(env, "c001", "ordered")
    assert env.sync().exit_code == 0
    events = recorder.ordered()
    available = next(
        e["rv"]
        for e in events
        if e["kind"] == "Deployment" and (e["obj"].get("status") or {}).get("availableReplicas") == 1
    )
    assert available < recorder.first("ConfigMap", "late")
    completed = next(
        e["rv"]
        for e in events
        if (e["kind"], e["name"]) == ("Job", "migrate")
        and (e["obj"].get("status") or {}).get("succeeded") == 1
    )
    assert completed < recorder.first("ConfigMap", "early")


@pytest.mark.parametrize(
    "hook, kept",
    [("migrate", True), ("smoke-test", False)],
    ids=["before-hook-creation-keeps-it", "hook-succeeded-deletes-it"],
)
def test_hook_delete_policies(make_fleet, hook: str, kept: bool) -> None:
    env = make_fleet("hooks", clusters=1)
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    assert (hook in env.names("c001", "ordered", "Job")) is kept
    (row,) = [r for r in run.app("c001", "ordered-c001").resources if r.name == hook]
    assert row.action is results.Action.HOOK and row.hook in ("PreSync", "PostSync")


def test_an_unchanged_resync_runs_no_hook(make_fleet) -> None:
    env = make_fleet("hooks", clusters=1)
    assert env.sync().exit_code == 0
    recorder = Recorder(env, "c001", "ordered")
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    assert [e for e in recorder.ordered() if e["kind"] == "Job"] == []
    assert all(r.action is results.Action.UNCHANGED for r in run.app("c001", "ordered-c001").resources)


FAILING_HOOK = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "migrate", "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
    "spec": {
        "backoffLimit": 0,
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {"name": "migrate", "image": "busybox:1.36", "command": ["sh", "-c", "exit 1"]}
                ],
            }
        },
    },
}
SYNC_FAIL_HOOK = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "alert", "annotations": {"argocd.argoproj.io/hook": "SyncFail"}},
    "spec": {
        "backoffLimit": 0,
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {"name": "alert", "image": "busybox:1.36", "command": ["sh", "-c", "echo alert"]}
                ],
            }
        },
    },
}


def test_a_failed_presync_hook_stops_the_sync_and_runs_the_sync_fail_hook(make_fleet) -> None:
    env = make_fleet("hooks", clusters=1)
    env.write("apps/ordered/presync-job.yaml", FAILING_HOOK)
    env.write("apps/ordered/syncfail-job.yaml", SYNC_FAIL_HOOK)
    run = env.sync()
    assert run.exit_code == 1
    app = run.app("c001", "ordered-c001")
    assert app.reason is Reason.HOOK_FAILED and "migrate" in app.message
    assert env.names("c001", "ordered", "ConfigMap") == []
    assert {r.name for r in app.resources if r.action is results.Action.SKIPPED} >= {
        "early",
        "main",
        "app",
        "late",
    }
    assert sorted(env.names("c001", "ordered", "Job")) == ["alert", "migrate"]
