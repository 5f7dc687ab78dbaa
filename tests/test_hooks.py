"""Hooks: Argo CD and Helm annotations, delete policies, generateName, BeforeHookCreation, SyncFail."""

from __future__ import annotations

from typing import Any

import pytest

from fleet import inventory, waves

H = waves.HookType


def annotated(**annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j", "namespace": "ns", "annotations": annotations},
    }


HOOK_TYPE_CASES = [
    ("argo-single", {waves.ANNOTATION_HOOK: "PreSync"}, (H.PRE_SYNC,)),
    ("argo-list", {waves.ANNOTATION_HOOK: "PreSync, PostSync"}, (H.PRE_SYNC, H.POST_SYNC)),
    ("argo-unknown-ignored", {waves.ANNOTATION_HOOK: "Sometime,Sync"}, (H.SYNC,)),
    ("helm-pre-install", {waves.HELM_HOOK: "pre-install,pre-upgrade"}, (H.PRE_SYNC,)),
    ("helm-post", {waves.HELM_HOOK: "post-install"}, (H.POST_SYNC,)),
    ("helm-test-not-mapped", {waves.HELM_HOOK: "test"}, ()),
    ("argo-wins-over-helm", {waves.ANNOTATION_HOOK: "Sync", waves.HELM_HOOK: "pre-install"}, (H.SYNC,)),
    ("delete-hooks", {waves.ANNOTATION_HOOK: "PreDelete,PostDelete"}, (H.PRE_DELETE, H.POST_DELETE)),
]


@pytest.mark.parametrize(
    ("name", "annotations", "expected"), HOOK_TYPE_CASES, ids=[c[0] for c in HOOK_TYPE_CASES]
)
def test_hook_types_follow_argo_then_helm_annotations(name: str, annotations: dict, expected: tuple) -> None:
    assert waves.hook_types(annotated(**annotations)) == expected


IS_HOOK_CASES = [
    ("plain", {}, False, False),
    ("argo-hook", {waves.ANNOTATION_HOOK: "Sync"}, True, False),
    ("skip", {waves.ANNOTATION_HOOK: "Skip"}, False, True),
    ("helm-crd-install-is-not-a-hook", {waves.HELM_HOOK: "crd-install"}, False, False),
    ("helm-test-is-a-hook-that-never-runs", {waves.HELM_HOOK: "test"}, True, False),
]


@pytest.mark.parametrize(
    ("name", "annotations", "hook", "skip"), IS_HOOK_CASES, ids=[c[0] for c in IS_HOOK_CASES]
)
def test_is_hook_and_is_skipped(name: str, annotations: dict, hook: bool, skip: bool) -> None:
    assert (waves.is_hook(annotated(**annotations)), waves.is_skipped(annotated(**annotations))) == (
        hook,
        skip,
    )


POLICY_CASES = [
    ("default", {}, (waves.HookDeletePolicy.BEFORE_HOOK_CREATION,)),
    (
        "argo",
        {waves.ANNOTATION_HOOK_DELETE_POLICY: "HookSucceeded,HookFailed"},
        (waves.HookDeletePolicy.HOOK_SUCCEEDED, waves.HookDeletePolicy.HOOK_FAILED),
    ),
    ("helm", {waves.HELM_HOOK_DELETE_POLICY: "hook-succeeded"}, (waves.HookDeletePolicy.HOOK_SUCCEEDED,)),
]


@pytest.mark.parametrize(("name", "annotations", "expected"), POLICY_CASES, ids=[c[0] for c in POLICY_CASES])
def test_delete_policies_default_to_before_hook_creation(
    name: str, annotations: dict, expected: tuple
) -> None:
    assert waves.delete_policies(annotated(**annotations)) == expected


def test_a_hook_in_two_phases_runs_in_both() -> None:
    hook = annotated(**{waves.ANNOTATION_HOOK: "PreSync,PostSync"})
    p = waves.plan_sync([hook], {}, app="a", previous=inventory.new())
    assert [(s.phase, s.apply[0].kind) for s in p.steps] == [
        (waves.SyncPhase.PRE_SYNC, waves.ItemKind.HOOK),
        (waves.SyncPhase.POST_SYNC, waves.ItemKind.HOOK),
    ]
    assert len(p.inventory) == 0


def test_generate_name_hooks_get_a_stable_name_per_sync() -> None:
    hook = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "generateName": "migrate-",
            "namespace": "ns",
            "annotations": {waves.ANNOTATION_HOOK: "PreSync"},
        },
    }
    p = waves.plan_sync(
        [hook], {}, app="a", previous=inventory.new(), revision="0123456789abcdef", started_at=42
    )
    item = p.steps[0].apply[0]
    assert item.obj["metadata"]["name"] == "migrate-0123456-presync-42"
    assert "generateName" not in item.obj["metadata"]
    assert item.ref.name == "migrate-0123456-presync-42"


def test_existing_hook_with_before_hook_creation_is_recreated() -> None:
    hook = annotated(**{waves.ANNOTATION_HOOK: "PreSync"})
    live = {inventory.ObjectRef.from_object(hook): hook}
    item = waves.plan_sync([hook], live, app="a", previous=inventory.new()).steps[0].apply[0]
    assert (item.exists, item.recreate, item.create) == (True, True, True)


def test_existing_named_hook_without_before_hook_creation_persists_and_is_not_rerun() -> None:
    hook = annotated(**{waves.ANNOTATION_HOOK: "PreSync", waves.ANNOTATION_HOOK_DELETE_POLICY: "HookFailed"})
    live = {inventory.ObjectRef.from_object(hook): hook}
    item = waves.plan_sync([hook], live, app="a", previous=inventory.new()).steps[0].apply[0]
    assert (item.exists, item.recreate, item.create) == (True, False, False)


def test_sync_fail_and_delete_hooks_are_set_aside() -> None:
    fail = annotated(**{waves.ANNOTATION_HOOK: "SyncFail"})
    predelete = {**annotated(**{waves.ANNOTATION_HOOK: "PreDelete"}), "kind": "Pod"}
    p = waves.plan_sync([fail, predelete], {}, app="a", previous=inventory.new())
    assert p.steps == ()
    assert [s.phase for s in p.on_failure] == [waves.SyncPhase.SYNC_FAIL]
    assert [i.ref.kind for i in p.delete_hooks] == ["Pod"]


def test_hook_waves_order_hooks_within_a_phase() -> None:
    late = {**annotated(**{waves.ANNOTATION_HOOK: "PostSync", waves.ANNOTATION_SYNC_WAVE: "2"})}
    late["metadata"]["name"] = "late"
    early = annotated(**{waves.ANNOTATION_HOOK: "PostSync", waves.HELM_HOOK_WEIGHT: "-1"})
    early["metadata"]["name"] = "early"
    p = waves.plan_sync([late, early], {}, app="a", previous=inventory.new())
    assert [(s.wave, s.apply[0].ref.name) for s in p.steps] == [(-1, "early"), (2, "late")]
