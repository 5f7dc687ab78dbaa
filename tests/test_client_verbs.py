"""get, list, create, replace, patch, delete and watch against the simulator, on plain dicts."""

from __future__ import annotations

import threading
import time

import pytest

from fleet import errors
from fleet.clusters import client, selectors
from tests.fixtures.kubefake import SimTarget


def _cm(namespace: str, name: str, labels: dict | None = None, **data: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "data": data or {"k": "v"},
    }


@pytest.fixture
def populated(sim_target: SimTarget) -> SimTarget:
    api = sim_target.connect()
    ns = sim_target.namespace
    api.apply(_cm(ns, "web-prod", {"app": "web", "env": "prod"}))
    api.apply(_cm(ns, "web-dev", {"app": "web", "env": "dev"}))
    api.apply(_cm(ns, "db-prod", {"app": "db", "env": "prod", "canary": "yes"}))
    return sim_target


def test_get_returns_the_object_or_none(populated: SimTarget) -> None:
    api = populated.connect()
    obj = api.get("v1", "ConfigMap", "web-prod", populated.namespace)
    assert obj["metadata"]["labels"] == {"app": "web", "env": "prod"}
    assert api.get("v1", "ConfigMap", "absent", populated.namespace) is None


@pytest.mark.parametrize(
    "selector, names",
    [
        pytest.param(None, ["db-prod", "web-dev", "web-prod"], id="all"),
        pytest.param("app=web", ["web-dev", "web-prod"], id="equals"),
        pytest.param("env in (prod),!canary", ["web-prod"], id="in-and-not-exists"),
        pytest.param("app!=web", ["db-prod"], id="not-equals"),
        pytest.param(selectors.parse("canary"), ["db-prod"], id="parsed-selector"),
    ],
)
def test_list_filters_by_label_selector(populated: SimTarget, selector, names) -> None:
    items, version = populated.connect().list(
        "v1", "ConfigMap", namespace=populated.namespace, label_selector=selector
    )
    assert (
        sorted(i["metadata"]["name"] for i in items if i["metadata"]["name"] != "kube-root-ca.crt") == names
    )
    assert version
    assert all(i["kind"] == "ConfigMap" and i["apiVersion"] == "v1" for i in items)


def test_list_without_namespace_spans_all_namespaces(populated: SimTarget) -> None:
    items, _ = populated.connect().list("v1", "ConfigMap", label_selector="app=web")
    assert {i["metadata"]["namespace"] for i in items} >= {populated.namespace}


def test_list_by_field_selector(populated: SimTarget) -> None:
    items, _ = populated.connect().list(
        "v1", "ConfigMap", namespace=populated.namespace, field_selector="metadata.name=web-dev"
    )
    assert [i["metadata"]["name"] for i in items] == ["web-dev"]


def test_create_then_create_again_is_already_exists(sim_target: SimTarget) -> None:
    api = sim_target.connect()
    created = api.create(_cm(sim_target.namespace, "fresh"))
    assert created["metadata"]["uid"]
    with pytest.raises(client.AlreadyExists):
        api.create(_cm(sim_target.namespace, "fresh"))


def test_replace_with_a_stale_resource_version_is_a_conflict(sim_target: SimTarget) -> None:
    api = sim_target.connect()
    live = api.create(_cm(sim_target.namespace, "rv"))
    live["data"] = {"k": "one"}
    replaced = api.replace(live)
    assert replaced["data"] == {"k": "one"}
    live["data"] = {"k": "two"}  # still carries the old resourceVersion
    with pytest.raises(client.Conflict) as info:
        api.replace(live)
    assert not info.value.retryable


@pytest.mark.parametrize(
    "patch_type, patch, expected",
    [
        pytest.param("merge", {"data": {"k": None, "new": "x"}}, {"new": "x"}, id="merge-removes-with-null"),
        pytest.param(
            "json",
            [
                {"op": "replace", "path": "/data/k", "value": "w"},
                {"op": "add", "path": "/data/z", "value": "1"},
            ],
            {"k": "w", "z": "1"},
            id="json",
        ),
        pytest.param("strategic", {"data": {"s": "y"}}, {"k": "v", "s": "y"}, id="strategic"),
    ],
)
def test_patch_types(sim_target: SimTarget, patch_type: str, patch, expected: dict) -> None:
    api = sim_target.connect()
    api.create(_cm(sim_target.namespace, "p"))
    result = api.patch("v1", "ConfigMap", "p", patch, namespace=sim_target.namespace, patch_type=patch_type)
    assert result["data"] == expected
    assert api.stats().by_verb.get("patch") == 1


def test_patch_dry_run_does_not_persist(sim_target: SimTarget) -> None:
    api = sim_target.connect()
    api.create(_cm(sim_target.namespace, "p"))
    preview = api.patch(
        "v1", "ConfigMap", "p", {"data": {"k": "dry"}}, namespace=sim_target.namespace, dry_run=True
    )
    assert preview["data"]["k"] == "dry"
    assert api.get("v1", "ConfigMap", "p", sim_target.namespace)["data"]["k"] == "v"


@pytest.mark.parametrize(
    "patch_type, patch, message",
    [
        pytest.param("json", {"not": "a list"}, "list of operations", id="json-needs-list"),
        pytest.param("merge", [{"op": "add"}], "must be a mapping", id="merge-needs-mapping"),
        pytest.param("yaml", {}, "is not one of", id="unknown-type"),
    ],
)
def test_a_malformed_patch_is_an_input_error_before_any_request(
    sim_target: SimTarget, patch_type, patch, message
) -> None:
    api = sim_target.connect()
    with pytest.raises(errors.InputError, match=message):
        api.patch("v1", "ConfigMap", "p", patch, namespace=sim_target.namespace, patch_type=patch_type)
    assert api.stats().requests == 0


@pytest.mark.parametrize("policy", ["Background", "Foreground", "Orphan"])
def test_delete_with_each_propagation_policy(sim_target: SimTarget, policy: str) -> None:
    api = sim_target.connect()
    ns = sim_target.namespace
    api.create(_cm(ns, "gone"))
    assert api.delete("v1", "ConfigMap", "gone", ns, propagation_policy=policy) is not None
    deadline = time.monotonic() + 5
    while api.get("v1", "ConfigMap", "gone", ns) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.get("v1", "ConfigMap", "gone", ns) is None
    assert api.delete("v1", "ConfigMap", "gone", ns) is None  # already gone


def test_delete_dry_run_keeps_the_object(sim_target: SimTarget) -> None:
    api = sim_target.connect()
    api.create(_cm(sim_target.namespace, "kept"))
    api.delete("v1", "ConfigMap", "kept", sim_target.namespace, dry_run=True)
    assert api.get("v1", "ConfigMap", "kept", sim_target.namespace) is not None


def _owner_and_child(api: client.ClusterClient, ns: str, name: str) -> dict:
    owner = api.create(_cm(ns, f"owner-{name}"))
    child = _cm(ns, f"child-{name}")
    child["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
        }
    ]
    api.create(child)
    return owner


def test_the_propagation_policy_reaches_the_server(sim_target: SimTarget) -> None:
    api = sim_target.connect()
    ns = sim_target.namespace
    for policy in ("Orphan", "Foreground", "Background"):
        _owner_and_child(api, ns, policy.lower())
        api.delete("v1", "ConfigMap", f"owner-{policy.lower()}", ns, propagation_policy=policy)
    # Orphan: the dependent loses its owner reference and stays.
    assert not api.get("v1", "ConfigMap", "child-orphan", ns)["metadata"].get("ownerReferences")
    # Foreground: the owner waits, marked for deletion, until its dependents are gone.
    owner = api.get("v1", "ConfigMap", "owner-foreground", ns)
    if owner is not None:
        assert owner["metadata"].get("deletionTimestamp")
        assert "foregroundDeletion" in owner["metadata"].get("finalizers", [])
    else:  # a garbage collector already finished: then the dependent went first
        assert api.get("v1", "ConfigMap", "child-foreground", ns) is None
    # Background: the owner is gone at once.
    assert api.get("v1", "ConfigMap", "owner-background", ns) is None


def test_an_invalid_propagation_policy_is_an_input_error(sim_target: SimTarget) -> None:
    with pytest.raises(errors.InputError, match="propagation_policy"):
        sim_target.connect().delete(
            "v1", "ConfigMap", "x", sim_target.namespace, propagation_policy="Cascade"
        )


def test_watch_sees_additions_changes_and_deletions_from_a_resource_version(sim_target: SimTarget) -> None:
    api = sim_target.connect()
    ns = sim_target.namespace
    _, version = api.list("v1", "ConfigMap", namespace=ns)
    events: list[tuple[str, str]] = []

    def watch() -> None:
        for event in api.watch(
            "v1", "ConfigMap", namespace=ns, resource_version=version, label_selector="w=1", timeout_seconds=5
        ):
            events.append((event["type"], event["object"]["metadata"]["name"]))
            assert event["object"]["kind"] == "ConfigMap"
            if event["type"] == "DELETED":
                return

    thread = threading.Thread(target=watch)
    thread.start()
    api.create(_cm(ns, "watched", {"w": "1"}))
    api.create(_cm(ns, "unwatched"))
    api.patch("v1", "ConfigMap", "watched", {"data": {"k": "changed"}}, namespace=ns)
    api.delete("v1", "ConfigMap", "watched", ns)
    thread.join(10)
    assert not thread.is_alive()
    assert events == [("ADDED", "watched"), ("MODIFIED", "watched"), ("DELETED", "watched")]
    assert api.stats().by_verb["watch"] == 1


def test_watch_without_a_version_starts_with_the_existing_objects_and_ends_at_the_timeout(
    sim_target: SimTarget,
) -> None:
    api = sim_target.connect()
    api.create(_cm(sim_target.namespace, "existing", {"w": "2"}))
    started = time.monotonic()
    events = list(
        api.watch("v1", "ConfigMap", namespace=sim_target.namespace, label_selector="w=2", timeout_seconds=1)
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "existing")]
    assert 0.9 <= time.monotonic() - started < 5
