"""The pure sync core end to end, in the order the orchestrator calls it: render, namespace and
stamp, diff, plan, (apply against a dict standing in for the cluster), record the inventory; then
an unchanged re-sync plans nothing to do, drift is found, and a file removed from Git is pruned."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

from fleet import diff, health, inventory, render, waves
from fleet.render import cache
from tests.render_helpers import DATA

APP = "shop-eu1"
Ref = inventory.ObjectRef


def server_side(obj: dict[str, Any]) -> dict[str, Any]:
    """What an API server adds to an applied object: defaults, identity, status."""
    live = copy.deepcopy(obj)
    live["metadata"].update(uid="u-" + live["metadata"]["name"], resourceVersion="1", generation=1)
    if live["kind"] == "Deployment":
        live["spec"].setdefault("progressDeadlineSeconds", 600)
        replicas = live["spec"].get("replicas", 1)
        live["status"] = {
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "availableReplicas": replicas,
        }
    return live


def sync_once(
    checkout: Path, cluster: dict[Ref, dict[str, Any]], *, prune: bool = True
) -> tuple[waves.SyncPlan, diff.AppDiff]:
    # 1. render (cached by source and commit; cluster-independent)
    manifests = render.render_source(
        {"path": "app", "directory": {"recurse": True}},
        source_dir=checkout,
        app_name=APP,
        namespace="shop",
        revision="",
        cache=cache.NO_CACHE,
    )
    # 2. namespace and stamp (secret references would be resolved after this)
    desired = [inventory.stamp(o, APP) for o in waves.default_namespace(manifests, "shop")]
    # 3. previous inventory and live objects (the orchestrator LISTs per kind)
    previous = inventory.from_configmap(cluster.get(Ref("", "ConfigMap", "fleet-system", f"inventory-{APP}")))
    # 4. diff, including stale objects that will be pruned
    stale_refs = [e.ref for e in inventory.diff(previous, inventory.from_objects(desired))]
    app_diff = diff.diff_all(desired, cluster, extra=stale_refs)
    # 5. plan
    the_plan = waves.plan_sync(
        desired,
        cluster,
        app=APP,
        previous=previous,
        prune=prune,
        out_of_sync=app_diff.out_of_sync(),
        options=waves.parse_sync_options(["ApplyOutOfSyncOnly=true"]),
    )
    # 6. execute (the orchestrator's job; here a dict)
    for step in the_plan.steps:
        for item in step.prune:
            del cluster[item.ref]
        for item in step.apply:
            cluster[item.ref] = server_side(dict(item.obj))
        assert health.aggregate(health.check(cluster.get(i.ref)) for i in step.apply) is health.Health.HEALTHY
    # 7. record the inventory
    record = inventory.to_configmap(APP, the_plan.inventory)
    cluster[Ref.from_object(record)] = record
    return the_plan, app_diff


def test_first_sync_creates_resync_is_a_noop_drift_is_found_and_removed_files_are_pruned(
    tmp_path: Path,
) -> None:
    checkout = tmp_path / "repo"
    shutil.copytree(DATA / "directory" / "plain", checkout / "app")
    cluster: dict[Ref, dict[str, Any]] = {}

    first, _ = sync_once(checkout, cluster)
    assert sum(len(s.apply) for s in first.steps) == 8
    assert first.steps[0].apply[0].ref.kind == "Namespace"

    again, app_diff = sync_once(checkout, cluster)
    assert app_diff.in_sync and again.is_noop

    cluster[Ref("", "ConfigMap", "shop", "one")]["data"]["created"] = "edited by hand"
    healed, app_diff = sync_once(checkout, cluster)
    assert [r.name for r in app_diff.out_of_sync()] == ["one"]
    assert [i.ref.name for s in healed.steps for i in s.apply] == ["one"]
    assert cluster[Ref("", "ConfigMap", "shop", "one")]["data"]["created"] == "2024-01-01"

    (checkout / "app" / "role.json").unlink()
    pruned, app_diff = sync_once(checkout, cluster)
    assert [i.ref.name for s in pruned.steps for i in s.prune] == ["reader"]
    assert Ref("rbac.authorization.k8s.io", "Role", "shop", "reader") not in cluster
    assert len(pruned.inventory) == 7
