"""Inventory: plain data and pure functions; ConfigMap storage; tracking stamp and ownership."""

from __future__ import annotations

from typing import Any

import pytest

from fleet import errors, inventory

Ref = inventory.ObjectRef


def cm(name: str, ns: str = "shop") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}}


DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}
ROLE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"}}


def test_object_ref_id_round_trips_in_flux_form() -> None:
    ref = Ref.from_object(DEPLOY)
    assert ref.id == "shop_web_apps_Deployment"
    assert Ref.from_id(ref.id) == ref
    assert Ref.from_id(Ref.from_object(ROLE).id) == Ref(
        "rbac.authorization.k8s.io", "ClusterRole", "", "reader"
    )


def test_bad_inventory_id_is_an_input_error() -> None:
    with pytest.raises(errors.InputError):
        Ref.from_id("not-an-id")


def test_diff_lists_stale_entries_regardless_of_version() -> None:
    previous = inventory.from_objects([cm("a"), cm("b"), DEPLOY])
    current = inventory.from_objects([cm("a"), {**DEPLOY, "apiVersion": "apps/v1beta2"}])
    assert [e.ref.name for e in inventory.diff(previous, current)] == ["b"]


def test_new_deduplicates_and_sorts_later_entries_win() -> None:
    inv = inventory.from_objects([cm("b"), cm("a"), {**DEPLOY, "apiVersion": "apps/v1beta1"}, DEPLOY])
    assert [e.ref.name for e in inv.entries] == ["a", "b", "web"]  # sorted by group first: core before apps
    assert inv.get(Ref.from_object(DEPLOY)).version == "v1"


def test_merge_is_a_union() -> None:
    merged = inventory.merge(inventory.from_objects([cm("a")]), inventory.from_objects([cm("b")]))
    assert {e.ref.name for e in merged.entries} == {"a", "b"}


def test_prune_keeps_objects_whose_delete_was_rejected() -> None:
    previous = inventory.from_objects([cm("a"), cm("stale-ok"), cm("stale-refused")])
    current = inventory.from_objects([cm("a")])
    stale = inventory.diff(previous, current)
    after = inventory.after_prune(current, stale, not_deleted=[Ref.from_object(cm("stale-refused"))])
    assert sorted(e.ref.name for e in after.entries) == ["a", "stale-refused"]


def test_configmap_round_trip() -> None:
    inv = inventory.from_objects([cm("a"), DEPLOY, ROLE])
    obj = inventory.to_configmap("guestbook", inv)
    assert obj["metadata"]["name"] == "inventory-guestbook"
    assert obj["metadata"]["namespace"] == "fleet-system"
    assert inventory.from_configmap(obj) == inv
    assert inventory.from_configmap(None) == inventory.Inventory()


def test_long_application_names_give_valid_configmap_names() -> None:
    name = inventory.configmap_name("x" * 300)
    assert len(name) == 253 and name != inventory.configmap_name("x" * 301)


def test_corrupt_configmap_is_an_input_error_naming_the_field() -> None:
    broken = {"metadata": {"name": "inventory-g"}, "data": {"entries": "{not json"}}
    with pytest.raises(errors.InputError) as caught:
        inventory.from_configmap(broken)
    assert caught.value.field == "data.entries"


def test_stamp_adds_label_and_tracking_id_without_touching_the_input() -> None:
    stamped = inventory.stamp(DEPLOY, "guestbook")
    assert stamped["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "fleet"}
    assert (
        stamped["metadata"]["annotations"][inventory.TRACKING_ANNOTATION]
        == "guestbook:apps/Deployment:shop/web"
    )
    assert "labels" not in DEPLOY["metadata"]


OWNER_CASES = [
    ("stamped", inventory.stamp(DEPLOY, "guestbook"), "guestbook"),
    ("cluster-scoped", inventory.stamp(ROLE, "guestbook"), "guestbook"),
    ("unstamped", DEPLOY, None),
    (
        "copied-onto-another-object",
        {**DEPLOY, "metadata": {**inventory.stamp(DEPLOY, "guestbook")["metadata"], "name": "copy"}},
        None,
    ),
    (
        "garbage-annotation",
        {**DEPLOY, "metadata": {"name": "web", "annotations": {inventory.TRACKING_ANNOTATION: "x"}}},
        None,
    ),
]


@pytest.mark.parametrize(("name", "live", "owner"), OWNER_CASES, ids=[c[0] for c in OWNER_CASES])
def test_owner_comes_from_a_matching_tracking_id(name: str, live: dict, owner: str | None) -> None:
    assert inventory.owner_of(live) == owner
    assert inventory.is_owned_by(live, "guestbook") is (owner == "guestbook")


def test_shared_with_names_the_other_application() -> None:
    assert inventory.shared_with(inventory.stamp(DEPLOY, "other"), "guestbook") == "other"
    assert inventory.shared_with(inventory.stamp(DEPLOY, "guestbook"), "guestbook") is None
    assert inventory.shared_with(None, "guestbook") is None


def test_from_live_rebuilds_the_inventory_from_stamped_objects() -> None:
    live = [inventory.stamp(cm("a"), "guestbook"), inventory.stamp(cm("b"), "other"), cm("c")]
    assert [e.ref.name for e in inventory.from_live(live, "guestbook").entries] == ["a"]
