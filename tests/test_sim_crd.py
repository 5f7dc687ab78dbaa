"""CustomResourceDefinitions on the simulator: applying one makes its kind servable."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from fleet.clusters.sim import SimServer
from tests.conftest import REPO_ROOT

CRD, WIDGET = yaml.safe_load_all((REPO_ROOT / "tests" / "data" / "sim" / "crd.yaml").read_text())
APPLY = "application/apply-patch+yaml"


@pytest.fixture
def api(kube_client: Callable[[str], Any]) -> Any:
    return kube_client("c001")


def _groups(api: Any) -> list[str]:
    return [g.name for g in client.ApisApi(api).get_api_versions().groups]


def test_a_custom_kind_is_served_only_once_its_crd_exists(sim: SimServer, api: Any) -> None:
    custom = client.CustomObjectsApi(api)
    with pytest.raises(ApiException) as caught:
        custom.list_namespaced_custom_object("example.com", "v1", "default", "widgets")
    assert caught.value.status == 404
    assert "example.com" not in _groups(api)
    client.ApiextensionsV1Api(api).create_custom_resource_definition(CRD)
    assert "example.com" in _groups(api)
    resources = client.CustomObjectsApi(api).get_api_resources("example.com", "v1")
    assert [(r.name, r.kind, r.namespaced, r.short_names) for r in resources.resources] == [
        ("widgets", "Widget", True, ["wg"]),
        ("widgets/status", "Widget", True, None),
    ]
    created = custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets", WIDGET)
    assert created["metadata"]["generation"] == 1 and created["apiVersion"] == "example.com/v1"
    listed = custom.list_namespaced_custom_object("example.com", "v1", "default", "widgets")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["gear"]
    # Other clusters do not have the CRD.
    assert sim.objects("c002", kind="CustomResourceDefinition") == []


def test_the_crd_reports_established(sim: SimServer, api: Any) -> None:
    client.ApiextensionsV1Api(api).create_custom_resource_definition(CRD)
    from tests.test_sim_controllers import condition, wait_for

    crd = wait_for(
        lambda: sim.get_object(
            "c001", "apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "widgets.example.com"
        ),
        lambda c: condition(c, "Established").get("status") == "True",
    )
    assert crd["status"]["acceptedNames"]["kind"] == "Widget" and crd["status"]["storedVersions"] == ["v1"]


def test_custom_resources_have_a_status_subresource_and_no_strategic_merge(api: Any) -> None:
    client.ApiextensionsV1Api(api).create_custom_resource_definition(CRD)
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets", WIDGET)
    custom.patch_namespaced_custom_object_status(
        "example.com", "v1", "default", "widgets", "gear", {"status": {"ready": True}}
    )
    ignored = custom.patch_namespaced_custom_object(
        "example.com", "v1", "default", "widgets", "gear", {"status": {"ready": False}, "spec": {"size": 4}}
    )
    assert ignored["status"] == {"ready": True} and ignored["spec"]["size"] == 4
    assert ignored["metadata"]["generation"] == 2
    with pytest.raises(ApiException) as caught:
        client.ApiClient.call_api(
            api,
            "/apis/example.com/v1/namespaces/default/widgets/gear",
            "PATCH",
            header_params={
                "Content-Type": "application/strategic-merge-patch+json",
                "Accept": "application/json",
            },
            body={"spec": {"size": 5}},
            auth_settings=["BearerToken"],
            _preload_content=False,
        )
    assert caught.value.status == 415


def test_apply_merges_lists_the_crd_schema_declares_as_maps(api: Any) -> None:
    client.ApiextensionsV1Api(api).create_custom_resource_definition(CRD)
    custom = client.CustomObjectsApi(api)
    custom.patch_namespaced_custom_object(
        "example.com", "v1", "default", "widgets", "gear", WIDGET, field_manager="maker", _content_type=APPLY
    )
    extra = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "gear", "namespace": "default"},
        "spec": {"parts": [{"name": "axle", "count": 1}]},
    }
    merged = custom.patch_namespaced_custom_object(
        "example.com", "v1", "default", "widgets", "gear", extra, field_manager="fitter", _content_type=APPLY
    )
    assert [p["name"] for p in merged["spec"]["parts"]] == ["cog", "axle"]


def test_deleting_the_crd_deletes_its_objects_and_its_kind(sim: SimServer, api: Any) -> None:
    client.ApiextensionsV1Api(api).create_custom_resource_definition(CRD)
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "example.com", "v1", "default", "widgets", WIDGET
    )
    client.ApiextensionsV1Api(api).delete_custom_resource_definition("widgets.example.com")
    assert sim.objects("c001", kind="Widget") == []
    assert "example.com" not in _groups(api)


def test_an_invalid_crd_is_refused(api: Any) -> None:
    bad = json.loads(json.dumps(CRD))
    bad["metadata"]["name"] = "gadgets.example.com"
    with pytest.raises(ApiException) as caught:
        client.ApiextensionsV1Api(api).create_custom_resource_definition(bad)
    assert caught.value.status == 422
    assert "must be spec.names.plural" in json.loads(caught.value.body)["message"]
