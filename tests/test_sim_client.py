"""The official Python client against the simulator: CRUD semantics and Kubernetes-shaped errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from fleet.clusters.sim import SimServer


@pytest.fixture
def api(kube_client: Callable[[str], Any]) -> Any:
    return kube_client("c001")


def _status(exc: ApiException) -> dict[str, Any]:
    body = json.loads(exc.body)
    assert body["kind"] == "Status" and body["status"] == "Failure"
    return body


def _deployment(name: str, *, replicas: int = 1, image: str = "nginx:1.25") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }


def test_created_objects_get_uid_timestamp_and_a_cluster_wide_resource_version(api: Any) -> None:
    core = client.CoreV1Api(api)
    first = core.create_namespaced_config_map("default", {"metadata": {"name": "one"}})
    second = core.create_namespaced_secret(
        "kube-system", {"metadata": {"name": "two"}, "stringData": {"k": "v"}}
    )
    assert first.metadata.uid and first.metadata.creation_timestamp is not None
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
    assert second.data == {"k": "dg=="} and second.type == "Opaque"
    listed = core.list_namespaced_config_map("default")
    assert int(listed.metadata.resource_version) >= int(second.metadata.resource_version)


@pytest.mark.parametrize(
    "call, code, reason, message",
    [
        (
            lambda core: core.create_namespaced_config_map("nope", {"metadata": {"name": "x"}}),
            404,
            "NotFound",
            'namespaces "nope" not found',
        ),
        (
            lambda core: core.read_namespaced_config_map("absent", "default"),
            404,
            "NotFound",
            'configmaps "absent" not found',
        ),
        (
            lambda core: [
                core.create_namespaced_config_map("default", {"metadata": {"name": "twice"}})
                for _ in range(2)
            ],
            409,
            "AlreadyExists",
            'configmaps "twice" already exists',
        ),
        (
            lambda core: core.create_namespaced_config_map("default", {"metadata": {"name": "Bad_Name"}}),
            422,
            "Invalid",
            'ConfigMap "Bad_Name" is invalid: metadata.name',
        ),
        (
            lambda core: core.create_namespaced_config_map(
                "default", {"metadata": {"name": "x", "namespace": "other"}}
            ),
            400,
            "BadRequest",
            "does not match the namespace",
        ),
    ],
    ids=["namespace missing", "object missing", "name taken", "invalid name", "namespace mismatch"],
)
def test_failures_answer_a_kubernetes_status(
    api: Any, call: Callable[[Any], Any], code: int, reason: str, message: str
) -> None:
    with pytest.raises(ApiException) as caught:
        call(client.CoreV1Api(api))
    body = _status(caught.value)
    assert (caught.value.status, body["code"], body["reason"]) == (code, code, reason)
    assert message in body["message"]


def test_a_stale_update_is_a_conflict(api: Any) -> None:
    core = client.CoreV1Api(api)
    stale = core.create_namespaced_config_map("default", {"metadata": {"name": "race"}, "data": {"a": "1"}})
    fresh = core.read_namespaced_config_map("race", "default")
    fresh.data = {"a": "2"}
    core.replace_namespaced_config_map("race", "default", fresh)
    stale.data = {"a": "3"}
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map("race", "default", stale)
    assert caught.value.status == 409
    assert "the object has been modified" in _status(caught.value)["message"]
    assert core.read_namespaced_config_map("race", "default").data == {"a": "2"}


def test_generation_counts_spec_changes_only(api: Any) -> None:
    apps = client.AppsV1Api(api)
    created = apps.create_namespaced_deployment("default", _deployment("gen"))
    assert created.metadata.generation == 1
    labelled = apps.patch_namespaced_deployment("gen", "default", {"metadata": {"labels": {"x": "y"}}})
    assert labelled.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("gen", "default", {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2


def test_status_and_spec_are_written_through_separate_endpoints(api: Any) -> None:
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", _deployment("split", replicas=0))
    # The main resource ignores status ...
    apps.patch_namespaced_deployment("split", "default", {"status": {"replicas": 99}})
    assert (apps.read_namespaced_deployment("split", "default").status.replicas or 0) != 99
    # ... and the status subresource ignores everything else.
    patched = apps.patch_namespaced_deployment_status(
        "split", "default", {"spec": {"replicas": 5}, "status": {"collisionCount": 7}}
    )
    assert patched.status.collision_count == 7 and patched.spec.replicas == 0
    assert patched.metadata.generation == 1


def test_an_invalid_deployment_names_every_bad_field(api: Any) -> None:
    body = _deployment("broken")
    del body["spec"]["selector"]
    body["spec"]["template"]["spec"]["containers"][0].pop("image")
    with pytest.raises(ApiException) as caught:
        client.AppsV1Api(api).create_namespaced_deployment("default", body)
    fields = {c["field"] for c in _status(caught.value)["details"]["causes"]}
    assert fields == {"spec.selector", "spec.template.spec.containers[0].image"}


def test_a_selector_with_an_unknown_operator_is_refused(api: Any) -> None:
    body = _deployment("odd")
    body["spec"]["selector"] = {"matchExpressions": [{"key": "app", "operator": "Near", "values": ["odd"]}]}
    with pytest.raises(ApiException) as caught:
        client.AppsV1Api(api).create_namespaced_deployment("default", body)
    assert caught.value.status == 422
    assert [c["field"] for c in _status(caught.value)["details"]["causes"]] == ["spec.selector"]


def test_a_selector_cannot_change_after_creation(api: Any) -> None:
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", _deployment("fixed"))
    changed = _deployment("fixed")
    changed["spec"]["selector"]["matchLabels"]["extra"] = "1"
    changed["spec"]["template"]["metadata"]["labels"]["extra"] = "1"
    with pytest.raises(ApiException) as caught:
        apps.replace_namespaced_deployment("fixed", "default", changed)
    assert caught.value.status == 422 and "field is immutable" in _status(caught.value)["message"]


def test_dry_run_create_stores_nothing(sim: SimServer, api: Any) -> None:
    answer = client.CoreV1Api(api).create_namespaced_config_map(
        "default", {"metadata": {"name": "ghost"}}, dry_run="All"
    )
    assert answer.metadata.name == "ghost"
    assert sim.get_object("c001", "v1", "ConfigMap", "default", "ghost") is None


def test_generate_name_makes_a_unique_name(api: Any) -> None:
    core = client.CoreV1Api(api)
    names = {
        core.create_namespaced_config_map("default", {"metadata": {"generateName": "job-"}}).metadata.name
        for _ in range(3)
    }
    assert len(names) == 3 and all(n.startswith("job-") and len(n) == 9 for n in names)


def test_cluster_scoped_kinds_live_outside_namespaces(api: Any) -> None:
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_cluster_role(
        {
            "metadata": {"name": "reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
        }
    )
    assert [r.metadata.name for r in rbac.list_cluster_role().items] == ["reader"]
    assert rbac.read_cluster_role("reader").metadata.namespace is None
    assert "kube-system" in [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]


def test_lists_page_with_limit_and_continue(api: Any) -> None:
    core = client.CoreV1Api(api)
    for i in range(5):
        core.create_namespaced_config_map("default", {"metadata": {"name": f"page-{i}"}})
    seen, token = [], None
    while True:
        page = core.list_namespaced_config_map("default", limit=2, _continue=token)
        seen.extend(i.metadata.name for i in page.items)
        token = page.metadata._continue
        if not token:
            break
    assert seen == [f"page-{i}" for i in range(5)]


def test_a_wrong_token_is_unauthorized(sim: SimServer) -> None:
    configuration = client.Configuration()
    configuration.host = sim.url_for("c001")
    configuration.api_key = {"authorization": "Bearer wrong"}
    with client.ApiClient(configuration) as api, pytest.raises(ApiException) as caught:
        client.CoreV1Api(api).list_namespace()
    assert caught.value.status == 401
    # Each cluster has its own token: c002's does not open c001.
    configuration.api_key = {"authorization": f"Bearer {sim.token_for('c002')}"}
    with client.ApiClient(configuration) as api, pytest.raises(ApiException) as caught:
        client.CoreV1Api(api).list_namespace()
    assert caught.value.status == 401


def test_without_tokens_anyone_may_connect(sim_factory: Callable[..., SimServer]) -> None:
    open_sim = sim_factory(1, token=False)
    configuration = client.Configuration()
    configuration.host = open_sim.url_for("c001")
    with client.ApiClient(configuration) as api:
        assert client.CoreV1Api(api).list_namespace().items


@pytest.mark.parametrize(
    "method, path, code",
    [
        ("GET", "/api/v1/namespaces/default/configmaps/x/status", 404),
        ("GET", "/apis/apps/v1/namespaces/default/deployments/x/nope", 404),
        ("GET", "/apis/nothing.example.com/v1/things", 404),
        ("GET", "/api/v1/namespaces/default/namespaces", 404),
        ("POST", "/api/v1/configmaps", 405),
    ],
    ids=[
        "no status on configmaps",
        "unknown subresource",
        "unknown group",
        "cluster kind in a namespace",
        "create without a namespace",
    ],
)
def test_paths_the_api_does_not_serve_answer_a_status(api: Any, method: str, path: str, code: int) -> None:
    with pytest.raises(ApiException) as caught:
        api.call_api(
            path,
            method,
            header_params={"Accept": "application/json", "Content-Type": "application/json"},
            body={"metadata": {"name": "x"}} if method == "POST" else None,
            auth_settings=["BearerToken"],
            _preload_content=False,
        )
    assert caught.value.status == code
    assert _status(caught.value)["code"] == code
