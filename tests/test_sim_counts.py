"""Request accounting: every request a client sends is counted once, by verb and resource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from fleet.clusters.sim import SimServer
from tests.test_sim_controllers import deployment, wait_for


def test_each_verb_is_counted_once_per_request(sim: SimServer, kube_client: Callable[[str], Any]) -> None:
    api = kube_client("c001")
    core = client.CoreV1Api(api)
    sim.reset_counts()
    core.list_namespace()
    core.create_namespaced_config_map("default", {"metadata": {"name": "n"}})
    core.read_namespaced_config_map("n", "default")
    core.patch_namespaced_config_map("n", "default", {"data": {"a": "1"}})
    current = core.read_namespaced_config_map("n", "default")
    core.replace_namespaced_config_map("n", "default", current)
    core.patch_namespaced_config_map(
        "n",
        "default",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "n"}},
        field_manager="m",
        _content_type="application/apply-patch+yaml",
    )
    list(watch.Watch().stream(core.list_namespaced_config_map, "default", timeout_seconds=0.1))
    core.delete_namespaced_config_map("n", "default")
    with pytest.raises(ApiException):
        core.read_namespaced_config_map("n", "default")
    client.CoreApi(api).get_api_versions()
    counts = sim.request_counts("c001")
    assert counts["verbs"] == {
        "list": 1,
        "create": 1,
        "get": 3,
        "patch": 1,
        "update": 1,
        "apply": 1,
        "watch": 1,
        "delete": 1,
        "discovery": 1,
    }
    assert counts["resources"] == {
        "namespaces": {"list": 1},
        "configmaps": {"create": 1, "get": 3, "patch": 1, "update": 1, "apply": 1, "watch": 1, "delete": 1},
    }
    assert counts["total"] == 11 and counts["codes"] == {"200": 9, "201": 1, "404": 1}
    assert sim.request_counts("c002")["total"] == 0


def test_controller_work_is_not_counted(sim: SimServer, kube_client: Callable[[str], Any]) -> None:
    apps = client.AppsV1Api(kube_client("c001"))
    sim.reset_counts()
    apps.create_namespaced_deployment("default", deployment("quiet", replicas=3))
    wait_for(lambda: sim.objects("c001", kind="Pod", namespace="default"), lambda pods: len(pods) == 3)
    assert sim.request_counts("c001")["verbs"] == {"create": 1}


def test_counts_of_every_cluster_and_reset(sim: SimServer, kube_client: Callable[[str], Any]) -> None:
    for name in ("c001", "c002"):
        client.CoreV1Api(kube_client(name)).list_namespace()
    everything = sim.request_counts()
    assert sorted(everything) == ["c001", "c002", "c003"]
    assert [everything[n]["verbs"].get("list", 0) for n in ("c001", "c002", "c003")] == [1, 1, 0]
    sim.reset_counts("c001")
    assert sim.request_counts("c001")["total"] == 0 and sim.request_counts("c002")["total"] == 1
