"""Label and field selectors on LIST, as the official client sends them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

OBJECTS = {
    "web": {"app": "web", "tier": "front", "env": "prod"},
    "api": {"app": "api", "tier": "back", "env": "prod"},
    "db": {"app": "db", "tier": "back"},
    "plain": {},
}

CASES = [
    ("app=web", None, ["web"]),
    ("app==api", None, ["api"]),
    ("tier!=back", None, ["plain", "web"]),
    ("app in (web, db)", None, ["db", "web"]),
    ("app notin (web,db)", None, ["api", "plain"]),
    ("env", None, ["api", "web"]),
    ("!env", None, ["db", "plain"]),
    ("tier=back,env=prod", None, ["api"]),
    ("tier in (back),!env", None, ["db"]),
    (None, "metadata.name=db", ["db"]),
    (None, "metadata.name!=db", ["api", "plain", "web"]),
    (None, "metadata.namespace=default", ["api", "db", "plain", "web"]),
    ("tier=back", "metadata.name!=db", ["api"]),
    ("app in (,web)", None, ["web"]),
    ("app in (web),env,tier notin (db)", None, ["web"]),
]


@pytest.fixture
def core(kube_client: Callable[[str], Any]) -> client.CoreV1Api:
    api = client.CoreV1Api(kube_client("c001"))
    for name, labels in OBJECTS.items():
        api.create_namespaced_config_map("default", {"metadata": {"name": name, "labels": labels}})
    api.create_namespaced_config_map(
        "kube-system", {"metadata": {"name": "elsewhere", "labels": {"app": "web"}}}
    )
    return api


@pytest.mark.parametrize("labels, fields, expected", CASES, ids=[f"{c[0]} | {c[1]}" for c in CASES])
def test_selectors_choose_objects(
    core: client.CoreV1Api, labels: str | None, fields: str | None, expected: list[str]
) -> None:
    found = core.list_namespaced_config_map("default", label_selector=labels, field_selector=fields)
    assert [o.metadata.name for o in found.items] == expected


def test_selectors_apply_across_namespaces(core: client.CoreV1Api) -> None:
    found = core.list_config_map_for_all_namespaces(label_selector="app=web")
    assert [(o.metadata.namespace, o.metadata.name) for o in found.items] == [
        ("default", "web"),
        ("kube-system", "elsewhere"),
    ]
    found = core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=kube-system")
    assert [o.metadata.name for o in found.items] == ["elsewhere"]


@pytest.mark.parametrize(
    "labels, fields",
    [
        ("app in (web", None),
        ("=x", None),
        ("app in ()", None),
        ("app=web,", None),
        ("app=a b", None),
        (None, "metadata.name"),
    ],
    ids=["unclosed set", "empty key", "empty set", "trailing comma", "space in a value", "no operator"],
)
def test_a_malformed_selector_is_a_bad_request(
    core: client.CoreV1Api, labels: str | None, fields: str | None
) -> None:
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_config_map("default", label_selector=labels, field_selector=fields)
    assert caught.value.status == 400
