"""Discovery and OpenAPI on the simulator: what clients read before they touch a resource."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client, dynamic

from fleet.clusters.sim import SimServer, resources


def _get(api: Any, path: str, accept: str = "application/json") -> tuple[Any, str]:
    response = api.call_api(
        path, "GET", header_params={"Accept": accept}, auth_settings=["BearerToken"], _preload_content=False
    )
    return json.loads(response.data), response.headers["Content-Type"]


@pytest.fixture
def api(kube_client: Callable[[str], Any]) -> Any:
    return kube_client("c001")


@pytest.mark.parametrize(
    "path, kind",
    [
        ("/api", "APIVersions"),
        ("/apis", "APIGroupList"),
        ("/api/v1", "APIResourceList"),
        ("/apis/apps", "APIGroup"),
        ("/apis/apps/v1", "APIResourceList"),
    ],
    ids=["core versions", "groups", "core resources", "one group", "group resources"],
)
def test_legacy_discovery_documents_have_their_kinds(api: Any, path: str, kind: str) -> None:
    doc, ctype = _get(api, path)
    assert doc["kind"] == kind and ctype.startswith("application/json")


def test_built_in_kinds_are_all_discoverable(api: Any) -> None:
    groups = {g.name: g.preferred_version.version for g in client.ApisApi(api).get_api_versions().groups}
    assert groups["apps"] == "v1" and groups["autoscaling"] == "v2"
    core = {r.name: r for r in client.CoreV1Api(api).get_api_resources().resources}
    assert core["namespaces"].namespaced is False and core["configmaps"].short_names == ["cm"]
    assert "pods/status" in core
    wanted = {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Service",
        "ServiceAccount",
        "Pod",
        "Event",
        "PersistentVolumeClaim",
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "Ingress",
        "NetworkPolicy",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    }
    assert wanted <= {rt.kind for rt in resources.BUILTINS}


def test_aggregated_discovery_answers_in_one_document(api: Any) -> None:
    accept = resources.AGGREGATED_CONTENT_TYPE + ",application/json"
    doc, ctype = _get(api, "/apis", accept)
    assert ctype == resources.AGGREGATED_CONTENT_TYPE
    apps = next(item for item in doc["items"] if item["metadata"].get("name") == "apps")
    deployments = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deployments["scope"] == "Namespaced" and deployments["responseKind"]["kind"] == "Deployment"
    assert [s["subresource"] for s in deployments["subresources"]] == ["status", "scale"]
    core, _ = _get(api, "/api", accept)
    assert core["items"][0]["versions"][0]["version"] == "v1"


def test_openapi_v3_points_into_the_cluster_prefix(sim: SimServer, api: Any) -> None:
    index, _ = _get(api, "/openapi/v3")
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/clusters/c001/openapi/v3/apis/apps/v1")
    doc, _ = _get(api, "/openapi/v3/apis/apps/v1")
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]


def test_the_dynamic_client_discovers_and_uses_resources(api: Any, tmp_path: Any) -> None:
    dyn = dynamic.DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))
    configmaps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    configmaps.create(body={"metadata": {"name": "dyn"}, "data": {"a": "1"}}, namespace="default")
    assert configmaps.get(name="dyn", namespace="default").data.a == "1"
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert deployments.namespaced and deployments.subresources["status"].kind == "Deployment"


def test_version_reports_kubernetes_1_32(api: Any) -> None:
    info = client.VersionApi(api).get_code()
    assert (info.major, info.minor) == ("1", "32")


def test_discovery_documents_are_shared_between_clusters(sim_factory: Callable[..., SimServer]) -> None:
    sim = sim_factory(3)
    runtime = sim.runtime
    catalogs = {id(runtime.clusters[name].catalog()) for name in sim.cluster_names()}
    assert len(catalogs) == 1
