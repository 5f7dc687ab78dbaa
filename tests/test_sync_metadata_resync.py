"""A resync in a process that ran the cluster before lists metadata only
(``PartialObjectMetadataList``, in protobuf, served by the simulator as by an API server) and fetches a full
object only where its uid/resourceVersion moved: an unchanged fleet costs one metadata LIST per
resource type, and a field changed by hand (which bumps the resourceVersion) is still fetched,
reported as drift and healed (issue 15)."""

from __future__ import annotations

import json
import urllib.request

from fleet import results
from fleet.clusters import client
from fleet.reconcile import livecache
from fleet.status import SyncStatus

METADATA_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


def enable_self_heal(env) -> None:
    text = (env.root / "appset.yaml").read_text()
    (env.root / "appset.yaml").write_text(
        text.replace("prune: true", "prune: true\n          selfHeal: true")
    )


def list_bytes(env, cluster: str) -> int:
    return int(env.sim.request_counts(cluster)["bytes"].get("list", 0))


def test_the_simulator_answers_a_metadata_list_as_an_api_server_does(sim_factory) -> None:
    sim = sim_factory(1)
    sim.apply_object(
        "c001",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "big", "namespace": "default"},
            "data": {"payload": "x" * 10_000},
        },
    )
    request = urllib.request.Request(
        f"{sim.url_for('c001')}/api/v1/namespaces/default/configmaps",
        headers={"Accept": METADATA_ACCEPT, "Authorization": f"Bearer {sim.token_for('c001')}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert (body["kind"], body["apiVersion"]) == ("PartialObjectMetadataList", "meta.k8s.io/v1")
    (item,) = [i for i in body["items"] if i["metadata"]["name"] == "big"]
    assert (item["kind"], item["apiVersion"]) == ("PartialObjectMetadata", "meta.k8s.io/v1")
    assert set(item) == {"kind", "apiVersion", "metadata"} and item["metadata"]["resourceVersion"]
    api = client.connect(sim.clusters()[0])
    try:
        items, _ = api.list("v1", "ConfigMap", namespace="default", metadata_only=True)
    finally:
        api.close()
    (big,) = [i for i in items if i["metadata"]["name"] == "big"]
    assert (big["apiVersion"], big["kind"]) == ("v1", "ConfigMap") and "data" not in big


def test_an_unchanged_fleet_resyncs_on_metadata_lists_alone(make_fleet, monkeypatch) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    # What a new process starts with when it keeps no copies on disk: nothing, so LISTs in full.
    livecache.close_all()
    monkeypatch.setenv(livecache.SWITCH_ENV, "off")
    env.sim.reset_counts()
    assert env.sync().exit_code == 0
    assert "metadata/protobuf" not in env.sim.request_counts("c001")["answers"]["list"]
    full = list_bytes(env, "c001")
    env.sim.reset_counts()
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    counts = env.sim.request_counts("c001")
    assert {v: n for v, n in counts["verbs"].items() if v != "discovery"} == {"list": 4}, counts
    # Every LIST answered as metadata in protobuf: a silent fall-back to full LISTs (or to JSON)
    # shows here, and in the bytes.
    assert {form: seen["count"] for form, seen in counts["answers"]["list"].items()} == {
        "metadata/protobuf": 4
    }
    assert 0 < list_bytes(env, "c001") < 0.7 * full
    app = run.app("c001", "web-c001")
    assert {r.action for r in app.resources} == {results.Action.UNCHANGED} and app.message == "in sync"


def test_a_field_changed_by_hand_is_fetched_reported_and_healed(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    enable_self_heal(env)
    assert env.sync().exit_code == 0
    assert env.sync().exit_code == 0  # the kept copies are current now
    env.sim.edit_object(
        "c001", "v1", "ConfigMap", "web", "web-config", lambda o: o["data"].update(greeting="edited-by-hand")
    )
    env.sim.reset_counts()
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    counts = env.sim.request_counts("c001")
    resources = counts["resources"]
    assert set(counts["answers"]["list"]) == {"metadata/protobuf"}  # found through the protobuf metadata
    assert resources["configmaps"].get("get") == 1  # only the object whose resourceVersion moved
    assert "get" not in resources["deployments"] and "get" not in resources["services"]
    (row,) = [r for r in run.app("c001", "web-c001").resources if r.drift]
    assert (row.name, row.action) == ("web-config", results.Action.CONFIGURED) and "healed" in row.message
    assert "-  greeting: edited-by-hand" in row.diff
    healed = env.sim.get_object("c001", "v1", "ConfigMap", "web", "web-config")
    assert healed["data"]["greeting"] == "hello"
    env.sim.reset_counts()
    again = env.sync()
    assert again.app("c001", "web-c001").sync_status is SyncStatus.SYNCED
    assert "get" not in env.sim.request_counts("c001")["resources"]["configmaps"]
