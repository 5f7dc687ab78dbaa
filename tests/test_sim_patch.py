"""Strategic merge, JSON merge and JSON patches of built-in kinds, sent with the official client."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client

SMP = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"

BASE = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "p", "namespace": "default"},
    "spec": {
        "selector": {"matchLabels": {"app": "p"}},
        "template": {
            "metadata": {"labels": {"app": "p"}},
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "app:1",
                        "ports": [{"containerPort": 80}],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    },
                    {"name": "sidecar", "image": "side:1"},
                ],
                "volumes": [{"name": "data", "emptyDir": {}}],
            },
        },
    },
}


def _containers(result: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": c["name"],
            "image": c["image"],
            "env": [(e["name"], e.get("value")) for e in c.get("env") or []],
        }
        for c in result["spec"]["template"]["spec"]["containers"]
    ]


def _spec(containers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": containers, **extra}}}}


CASES = [
    (
        SMP,
        _spec([{"name": "app", "image": "app:2"}]),
        [("app", "app:2", [("A", "1"), ("B", "2")]), ("sidecar", "side:1", [])],
    ),
    (
        SMP,
        _spec([{"name": "app", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]),
        [("app", "app:1", [("A", "1"), ("B", "3"), ("C", "4")]), ("sidecar", "side:1", [])],
    ),
    (SMP, _spec([{"name": "sidecar", "$patch": "delete"}]), [("app", "app:1", [("A", "1"), ("B", "2")])]),
    (SMP, _spec([{"name": "solo", "image": "solo:1"}, {"$patch": "replace"}]), [("solo", "solo:1", [])]),
    (
        SMP,
        _spec([{"name": "app", "env": [{"name": "A", "$patch": "delete"}]}]),
        [("app", "app:1", [("B", "2")]), ("sidecar", "side:1", [])],
    ),
    (
        SMP,
        _spec(
            [{"name": "new", "image": "new:1"}],
            **{"$setElementOrder/containers": [{"name": "new"}, {"name": "app"}, {"name": "sidecar"}]},
        ),
        [("new", "new:1", []), ("app", "app:1", [("A", "1"), ("B", "2")]), ("sidecar", "side:1", [])],
    ),
    (MERGE, _spec([{"name": "only", "image": "only:1"}]), [("only", "only:1", [])]),
    (
        JSON_PATCH,
        [{"op": "replace", "path": "/spec/template/spec/containers/1/image", "value": "side:2"}],
        [("app", "app:1", [("A", "1"), ("B", "2")]), ("sidecar", "side:2", [])],
    ),
]


@pytest.mark.parametrize(
    "content_type, body, expected",
    CASES,
    ids=[
        "SMP merges containers by name",
        "SMP merges env by name",
        "SMP deletes an item",
        "SMP replaces a list",
        "SMP deletes a nested item",
        "SMP orders items",
        "merge patch replaces lists",
        "JSON patch",
    ],
)
def test_patches_merge_like_the_api_server(
    kube_client: Callable[[str], Any],
    content_type: str,
    body: Any,
    expected: list[tuple[str, str, list[Any]]],
) -> None:
    api = kube_client("c001")
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", BASE)
    result = apps.patch_namespaced_deployment(
        "p", "default", body, _content_type=content_type, _preload_content=False
    )
    patched = json.loads(result.data)
    assert [(c["name"], c["image"], c["env"]) for c in _containers(patched)] == expected
    # The pod template's other fields and the server's defaults survive every patch.
    assert patched["spec"]["template"]["spec"]["volumes"][0]["name"] == "data"
    assert patched["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"]


def test_strategic_merge_retain_keys_drops_unlisted_fields(kube_client: Callable[[str], Any]) -> None:
    apps = client.AppsV1Api(kube_client("c001"))
    apps.create_namespaced_deployment("default", BASE)
    patched = apps.patch_namespaced_deployment(
        "p",
        "default",
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        _content_type=SMP,
    )
    assert patched.spec.strategy.type == "Recreate" and patched.spec.strategy.rolling_update is None
