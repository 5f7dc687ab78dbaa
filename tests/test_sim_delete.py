"""Deletion on the simulator: finalizers, propagation policies, garbage collection, namespaces."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from fleet.clusters.sim import SimServer
from tests.test_sim_controllers import deployment, wait_for


@pytest.fixture
def core(kube_client: Callable[[str], Any]) -> client.CoreV1Api:
    return client.CoreV1Api(kube_client("c001"))


def test_an_object_with_finalizers_stays_until_they_are_removed(
    sim: SimServer, core: client.CoreV1Api
) -> None:
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    )
    answer = json.loads(core.delete_namespaced_config_map("held", "default", _preload_content=False).data)
    assert answer["kind"] == "ConfigMap" and answer["metadata"]["deletionTimestamp"]  # marked, not gone
    held = core.read_namespaced_config_map("held", "default")
    assert held.metadata.deletion_timestamp is not None and held.metadata.finalizers == ["example.com/hold"]
    core.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("held", "default")
    assert caught.value.status == 404


def test_a_plain_delete_answers_success(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "plain"}})
    answer = core.delete_namespaced_config_map("plain", "default")
    assert answer.status == "Success" and answer.details.name == "plain"


def test_a_delete_with_a_stale_precondition_is_refused(core: client.CoreV1Api) -> None:
    created = core.create_namespaced_config_map("default", {"metadata": {"name": "pre"}})
    core.patch_namespaced_config_map("pre", "default", {"data": {"a": "1"}})
    options = client.V1DeleteOptions(
        preconditions=client.V1Preconditions(resource_version=created.metadata.resource_version)
    )
    with pytest.raises(ApiException) as caught:
        core.delete_namespaced_config_map("pre", "default", body=options)
    assert caught.value.status == 409


def _rollout(sim: SimServer, name: str) -> None:
    sim.apply_object("c001", deployment(name))
    wait_for(lambda: sim.objects("c001", kind="Pod", namespace="default"), lambda pods: len(pods) == 2)


@pytest.mark.parametrize(
    "policy, replicasets, pods",
    [("Background", 0, 0), ("Foreground", 0, 0), ("Orphan", 1, 2)],
    ids=["background deletes dependents", "foreground deletes dependents first", "orphan keeps them"],
)
def test_deleting_a_deployment_follows_the_propagation_policy(
    sim: SimServer, kube_client: Callable[[str], Any], policy: str, replicasets: int, pods: int
) -> None:
    _rollout(sim, "owner")
    client.AppsV1Api(kube_client("c001")).delete_namespaced_deployment(
        "owner", "default", propagation_policy=policy
    )
    wait_for(lambda: sim.get_object("c001", "apps/v1", "Deployment", "default", "owner"), lambda d: d is None)
    left = wait_for(
        lambda: (
            len(sim.objects("c001", kind="ReplicaSet", namespace="default")),
            len(sim.objects("c001", kind="Pod", namespace="default")),
        ),
        lambda counts: counts == (replicasets, pods),
    )
    assert left == (replicasets, pods)
    if policy == "Orphan":
        rs = sim.objects("c001", kind="ReplicaSet", namespace="default")[0]
        assert "ownerReferences" not in rs["metadata"]


def test_a_foreground_delete_keeps_the_owner_until_dependents_are_gone(sim: SimServer) -> None:
    _rollout(sim, "fg")
    pod = sim.objects("c001", kind="Pod", namespace="default")[0]
    sim.edit_object(
        "c001",
        "v1",
        "Pod",
        "default",
        pod["metadata"]["name"],
        lambda p: p["metadata"].setdefault("finalizers", []).append("example.com/hold"),
    )
    sim.delete_object("c001", "apps/v1", "Deployment", "default", "fg", propagation="Foreground")
    # The deletion has reached the held pod (it is terminating, kept by its finalizer): from
    # then on only that finalizer keeps the owner, so the owner must still be there.
    wait_for(
        lambda: sim.get_object("c001", "v1", "Pod", "default", pod["metadata"]["name"]),
        lambda p: p is not None and "deletionTimestamp" in p["metadata"],
    )
    owner = sim.get_object("c001", "apps/v1", "Deployment", "default", "fg")
    assert owner is not None and "foregroundDeletion" in owner["metadata"]["finalizers"]
    sim.edit_object(
        "c001", "v1", "Pod", "default", pod["metadata"]["name"], lambda p: p["metadata"].pop("finalizers")
    )
    wait_for(lambda: sim.get_object("c001", "apps/v1", "Deployment", "default", "fg"), lambda d: d is None)


def test_deleting_a_namespace_deletes_its_contents_first(sim: SimServer, core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "doomed"}})
    core.create_namespaced_config_map("doomed", {"metadata": {"name": "a"}})
    core.create_namespaced_config_map(
        "doomed", {"metadata": {"name": "b", "finalizers": ["example.com/hold"]}}
    )
    core.delete_namespace("doomed")
    ns = wait_for(
        lambda: sim.get_object("c001", "v1", "Namespace", None, "doomed"),
        lambda n: n["status"]["phase"] == "Terminating",
    )
    assert ns["metadata"]["deletionTimestamp"]
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("doomed", {"metadata": {"name": "late"}})
    assert caught.value.status == 403
    wait_for(lambda: sim.get_object("c001", "v1", "ConfigMap", "doomed", "a"), lambda o: o is None)
    assert sim.get_object("c001", "v1", "Namespace", None, "doomed") is not None  # b still holds it
    core.patch_namespaced_config_map("b", "doomed", {"metadata": {"finalizers": None}})
    wait_for(lambda: sim.get_object("c001", "v1", "Namespace", None, "doomed"), lambda n: n is None)


def test_delete_collection_removes_what_the_selector_matches(sim: SimServer, core: client.CoreV1Api) -> None:
    for name, team in (("a", "x"), ("b", "x"), ("c", "y")):
        core.create_namespaced_config_map("default", {"metadata": {"name": name, "labels": {"team": team}}})
    core.delete_collection_namespaced_config_map("default", label_selector="team=x")
    assert [o["metadata"]["name"] for o in sim.objects("c001", kind="ConfigMap", namespace="default")] == [
        "c"
    ]
