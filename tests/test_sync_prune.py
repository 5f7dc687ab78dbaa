"""Pruning: an object whose file left Git is deleted when automated.prune is on (or with
--prune), otherwise reported as requiring pruning (OutOfSync, exit 1); objects fleet did not
create, or that no longer carry this Application's tracking id, are never touched."""

from __future__ import annotations

import json

from fleet import inventory, results
from fleet.status import SyncStatus

NOT_OURS = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "not-ours", "namespace": "web"},
    "spec": {"ports": [{"port": 81}]},
}


def disable_prune(env) -> None:
    text = (env.root / "appset.yaml").read_text().replace("prune: true", "prune: false")
    (env.root / "appset.yaml").write_text(text)


def inventory_ids(env, cluster: str) -> set[str]:
    record = env.sim.get_object(
        cluster, "v1", "ConfigMap", inventory.INVENTORY_NAMESPACE, "inventory-web-c001"
    )
    return {entry["id"] for entry in json.loads(record["data"]["entries"])}


def test_a_file_removed_from_git_is_pruned_and_nothing_else_is_touched(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    env.sim.apply_object("c001", NOT_OURS)
    env.remove("apps/web/service.yaml")
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    (row,) = [r for r in run.app("c001", "web-c001").resources if r.kind == "Service"]
    assert (row.name, row.action, row.status) == ("web", results.Action.PRUNED, SyncStatus.SYNCED)
    assert env.names("c001", "web", "Service") == ["not-ours"]
    assert env.names("c001", "web", "Deployment") == ["web"]
    assert inventory_ids(env, "c001") == {"web_web-config__ConfigMap", "web_web_apps_Deployment"}


def test_without_prune_the_object_is_kept_and_reported_as_requiring_pruning(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    disable_prune(env)
    assert env.sync().exit_code == 0
    env.remove("apps/web/service.yaml")
    run = env.sync()
    assert run.exit_code == 1
    app = run.app("c001", "web-c001")
    (row,) = [r for r in app.resources if r.kind == "Service"]
    assert (row.action, row.status) == (results.Action.PRUNE_SKIPPED, SyncStatus.OUT_OF_SYNC)
    assert "requires pruning" in row.message and app.sync_status is SyncStatus.OUT_OF_SYNC
    assert env.names("c001", "web", "Service") == ["web"]
    # The stale object stays in the inventory, so a later prune still finds it.
    assert "web_web__Service" in inventory_ids(env, "c001")

    pruned = env.sync("--prune")
    assert pruned.exit_code == 0, pruned.stderr
    assert env.names("c001", "web", "Service") == []


def test_an_object_someone_took_over_is_not_pruned(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0

    def take_over(obj: dict) -> None:
        del obj["metadata"]["annotations"][inventory.TRACKING_ANNOTATION]

    env.sim.edit_object("c001", "v1", "Service", "web", "web", take_over)
    env.remove("apps/web/service.yaml")
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    assert env.names("c001", "web", "Service") == ["web"]
    assert "web_web__Service" not in inventory_ids(env, "c001")
