"""Server-side apply on the simulator, driven by the official Python client: field ownership."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from fleet.clusters.sim import SimServer

APPLY = "application/apply-patch+yaml"


def _cm(
    name: str, *, data: dict[str, str] | None = None, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {}}


@pytest.fixture
def core(kube_client: Callable[[str], Any]) -> client.CoreV1Api:
    return client.CoreV1Api(kube_client("c001"))


def _apply(core: client.CoreV1Api, body: dict[str, Any], manager: str, *, force: bool = False) -> Any:
    return core.patch_namespaced_config_map(
        body["metadata"]["name"], "default", body, field_manager=manager, force=force, _content_type=APPLY
    )


def _managers(sim: SimServer, name: str) -> dict[str, set[str]]:
    obj = sim.get_object("c001", "v1", "ConfigMap", "default", name)
    out: dict[str, set[str]] = {}
    for entry in obj["metadata"].get("managedFields") or []:
        fields = entry["fieldsV1"]
        out[f"{entry['manager']}/{entry['operation']}"] = set(fields.get("f:data") or {}) | {
            f"label:{k[2:]}" for k in ((fields.get("f:metadata") or {}).get("f:labels") or {})
        }
    return out


def test_apply_creates_the_object_and_records_the_manager(sim: SimServer, core: client.CoreV1Api) -> None:
    created = _apply(core, _cm("new", data={"a": "1"}), "deployer")
    assert created.data == {"a": "1"}
    assert _managers(sim, "new") == {"deployer/Apply": {"f:a"}}


def test_a_field_removed_from_the_applied_configuration_disappears(
    sim: SimServer, core: client.CoreV1Api
) -> None:
    _apply(core, _cm("shrink", data={"a": "1", "b": "2"}, labels={"x": "1", "y": "2"}), "deployer")
    after = _apply(core, _cm("shrink", data={"a": "1"}, labels={"x": "1"}), "deployer")
    assert after.data == {"a": "1"}
    assert after.metadata.labels == {"x": "1"}


def test_a_removed_field_stays_while_another_manager_also_owns_it(
    sim: SimServer, core: client.CoreV1Api
) -> None:
    _apply(core, _cm("shared", data={"a": "1", "b": "2"}), "one")
    _apply(core, _cm("shared", data={"b": "2"}), "two")  # same value: shared ownership, no conflict
    after = _apply(core, _cm("shared", data={"a": "1"}), "one")
    assert after.data == {"a": "1", "b": "2"}
    assert _managers(sim, "shared") == {"one/Apply": {"f:a"}, "two/Apply": {"f:b"}}


def test_a_conflicting_apply_without_force_is_refused_with_the_owner_named(
    sim: SimServer, core: client.CoreV1Api
) -> None:
    _apply(core, _cm("contested", data={"a": "1"}), "one")
    with pytest.raises(ApiException) as caught:
        _apply(core, _cm("contested", data={"a": "2"}), "two")
    assert caught.value.status == 409
    body = json.loads(caught.value.body)
    assert body["kind"] == "Status" and body["reason"] == "Conflict"
    assert body["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "one" using v1', "field": ".data.a"}
    ]
    assert 'conflict with "one"' in body["message"]
    assert sim.get_object("c001", "v1", "ConfigMap", "default", "contested")["data"] == {"a": "1"}


def test_force_takes_ownership_of_conflicting_fields(sim: SimServer, core: client.CoreV1Api) -> None:
    _apply(core, _cm("forced", data={"a": "1", "b": "1"}), "one")
    after = _apply(core, _cm("forced", data={"a": "2"}), "two", force=True)
    assert after.data == {"a": "2", "b": "1"}
    assert _managers(sim, "forced") == {"one/Apply": {"f:b"}, "two/Apply": {"f:a"}}
    # "one" no longer owns a: dropping it from one's configuration leaves two's value alone.
    assert _apply(core, _cm("forced", data={"b": "1"}), "one").data == {"a": "2", "b": "1"}


@pytest.mark.parametrize("edit", ["merge-patch", "put"], ids=["a merge patch", "a PUT"])
def test_an_update_takes_the_fields_it_changes_from_the_applier(
    sim: SimServer, core: client.CoreV1Api, edit: str
) -> None:
    _apply(core, _cm("drifted", data={"a": "1", "b": "1"}), "deployer")
    if edit == "merge-patch":
        core.patch_namespaced_config_map(
            "drifted", "default", {"data": {"a": "hand"}}, field_manager="person"
        )
    else:
        current = core.read_namespaced_config_map("drifted", "default")
        current.data["a"] = "hand"
        core.replace_namespaced_config_map("drifted", "default", current, field_manager="person")
    assert _managers(sim, "drifted") == {"deployer/Apply": {"f:b"}, "person/Update": {"f:a"}}
    with pytest.raises(ApiException) as caught:
        _apply(core, _cm("drifted", data={"a": "1", "b": "1"}), "deployer")
    assert caught.value.status == 409
    healed = _apply(core, _cm("drifted", data={"a": "1", "b": "1"}), "deployer", force=True)
    assert healed.data == {"a": "1", "b": "1"}


def test_reapplying_the_same_configuration_changes_nothing(sim: SimServer, core: client.CoreV1Api) -> None:
    first = _apply(core, _cm("stable", data={"a": "1"}, labels={"x": "1"}), "deployer")
    again = _apply(core, _cm("stable", data={"a": "1"}, labels={"x": "1"}), "deployer")
    assert again.metadata.resource_version == first.metadata.resource_version
    assert again.metadata.managed_fields[0].time == first.metadata.managed_fields[0].time


def test_apply_merges_containers_by_name_between_managers(
    sim: SimServer, kube_client: Callable[[str], Any]
) -> None:
    apps = client.AppsV1Api(kube_client("c001"))

    def deployment(*containers: str) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "pair", "namespace": "default"},
            "spec": {
                "selector": {"matchLabels": {"app": "pair"}},
                "template": {
                    "metadata": {"labels": {"app": "pair"}},
                    "spec": {"containers": [{"name": c, "image": f"{c}:1"} for c in containers]},
                },
            },
        }

    apps.patch_namespaced_deployment(
        "pair", "default", deployment("app"), field_manager="app-team", _content_type=APPLY
    )
    sidecar = deployment("proxy")
    del sidecar["spec"]["selector"]
    apps.patch_namespaced_deployment("pair", "default", sidecar, field_manager="mesh", _content_type=APPLY)
    names = [c.name for c in apps.read_namespaced_deployment("pair", "default").spec.template.spec.containers]
    assert names == ["app", "proxy"]
    emptied = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "pair", "namespace": "default"},
    }
    apps.patch_namespaced_deployment("pair", "default", emptied, field_manager="mesh", _content_type=APPLY)
    names = [c.name for c in apps.read_namespaced_deployment("pair", "default").spec.template.spec.containers]
    assert names == ["app"]


def test_apply_without_a_field_manager_is_a_bad_request(core: client.CoreV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_config_map("x", "default", _cm("x"), _content_type=APPLY)
    assert caught.value.status == 400
    assert "fieldManager" in json.loads(caught.value.body)["message"]


def test_a_dry_run_apply_answers_the_result_and_stores_nothing(
    sim: SimServer, core: client.CoreV1Api
) -> None:
    answer = core.patch_namespaced_config_map(
        "dry", "default", _cm("dry", data={"a": "1"}), field_manager="d", dry_run="All", _content_type=APPLY
    )
    assert answer.data == {"a": "1"}
    assert sim.get_object("c001", "v1", "ConfigMap", "default", "dry") is None


def test_apply_ignores_status_of_a_kind_with_a_status_subresource(
    sim: SimServer, kube_client: Callable[[str], Any]
) -> None:
    core = client.CoreV1Api(kube_client("c001"))
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "svc", "namespace": "default"},
        "spec": {"ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
    }
    svc = core.patch_namespaced_service("svc", "default", body, field_manager="d", _content_type=APPLY)
    assert svc.status.load_balancer.ingress is None
    assert svc.spec.ports[0].target_port == 80  # server defaults fill what the manifest left out
