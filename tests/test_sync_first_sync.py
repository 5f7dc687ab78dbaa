"""`fleet sync` on empty clusters creates every object of every Application, records an
inventory per Application, and exits 0 once everything is Synced and Healthy."""

from __future__ import annotations

import json

import pytest

from fleet import inventory, reconcile, results
from fleet.status import Reason, SyncStatus

WEB_OBJECTS = [("ConfigMap", "web-config"), ("Deployment", "web"), ("Service", "web")]


def test_first_sync_creates_every_object_on_every_cluster(make_fleet) -> None:
    env = make_fleet("basic")
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    assert run.run_result is not None and run.run_result.ok
    for cluster in env.cluster_names:
        for kind, name in WEB_OBJECTS:
            assert env.names(cluster, "web", kind).count(name) == 1, (cluster, kind, name)
        app = run.app(cluster, f"web-{cluster}")
        assert (app.sync_status, app.health.value, app.reason) == (
            SyncStatus.SYNCED,
            "Healthy",
            Reason.SUCCEEDED,
        )
        created = {(r.kind, r.name) for r in app.resources if r.action is results.Action.CREATED}
        assert set(WEB_OBJECTS) <= created


@pytest.mark.parametrize("kind, name", WEB_OBJECTS, ids=[k for k, _ in WEB_OBJECTS])
def test_every_applied_object_carries_the_tracking_stamp_and_the_desired_hash(
    make_fleet, kind: str, name: str
) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    obj = next(o for o in env.objects("c001", "web", kind) if o["metadata"]["name"] == name)
    annotations = obj["metadata"]["annotations"]
    assert obj["metadata"]["labels"][inventory.MANAGED_BY_LABEL] == inventory.MANAGED_BY_VALUE
    assert annotations[inventory.TRACKING_ANNOTATION].startswith("web-c001:")
    assert len(annotations[reconcile.DESIRED_HASH_ANNOTATION]) == 24


def test_first_sync_records_the_inventory_of_each_application(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    (record,) = [
        o
        for o in env.objects("c001", inventory.INVENTORY_NAMESPACE, "ConfigMap")
        if o["metadata"]["name"] == "inventory-web-c001"
    ]
    ids = {entry["id"] for entry in json.loads(record["data"]["entries"])}
    assert ids == {"web_web-config__ConfigMap", "web_web_apps_Deployment", "web_web__Service"}


def test_table_output_lists_every_application_and_a_summary(make_fleet) -> None:
    env = make_fleet("basic")
    run = env.sync(output="table")
    assert run.exit_code == 0, run.stderr
    for cluster in env.cluster_names:
        assert f"web-{cluster}" in run.stdout
    assert "sync OK: 3 clusters (0 failed); 3 applications: 3 Synced and Healthy" in run.stdout
