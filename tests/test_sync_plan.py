"""The sync plan: phases, waves, kind order, dependencies, prune order and safety, inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet import inventory, waves

APP = "guestbook"
DATA = Path(__file__).parent / "data" / "plan"
Ref = inventory.ObjectRef


def guestbook() -> list[dict[str, Any]]:
    return [inventory.stamp(obj, APP) for obj in yaml.safe_load((DATA / "guestbook.yaml").read_text())]


def obj(
    kind: str,
    name: str,
    *,
    api: str = "v1",
    ns: str = "shop",
    wave: int | None = None,
    options: str | None = None,
    owner: str | None = APP,
) -> dict[str, Any]:
    annotations: dict[str, str] = {}
    if wave is not None:
        annotations[waves.ANNOTATION_SYNC_WAVE] = str(wave)
    if options:
        annotations[waves.ANNOTATION_SYNC_OPTIONS] = options
    out = {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "namespace": ns, "annotations": annotations},
    }
    return inventory.stamp(out, owner) if owner else out


def live_of(*objs: dict[str, Any]) -> dict[Ref, dict[str, Any]]:
    return {Ref.from_object(o): o for o in objs}


def outline(p: waves.SyncPlan) -> list[tuple[str, int, list[str], list[str]]]:
    return [
        (
            s.phase.value,
            s.wave,
            [f"{i.ref.kind}/{i.ref.name}" for i in s.prune],
            [f"{i.ref.kind}/{i.ref.name}" for i in s.apply],
        )
        for s in p.steps
    ]


def test_steps_run_by_phase_then_wave_then_kind_with_dependencies_first() -> None:
    p = waves.plan_sync(
        guestbook(), {}, app=APP, previous=inventory.new(), revision="abcdef123456", started_at=1700000000
    )
    assert outline(p) == [
        # The Namespace (Sync wave 2) moves before the first object in it: the PreSync hook.
        ("PreSync", 0, [], ["Namespace/shop", "Job/migrate-abcdef1-presync-1700000000"]),
        # The CRD moves before its first custom resource and takes its wave.
        ("Sync", -1, [], ["CustomResourceDefinition/widgets.example.com", "Widget/w1"]),
        ("Sync", 0, [], ["ConfigMap/settings", "Service/web"]),
        ("Sync", 1, [], ["Deployment/web"]),
        ("PostSync", 0, [], ["Job/smoke-test"]),
    ]
    assert [i.ref.name for s in p.on_failure for i in s.apply] == ["page-oncall"]
    assert [(s.ref.name, s.reason) for s in p.skipped] == [("scratch", waves.SkipReason.SKIP_HOOK)]


def test_hooks_and_skipped_objects_stay_out_of_the_inventory() -> None:
    p = waves.plan_sync(guestbook(), {}, app=APP, previous=inventory.new())
    names = sorted(e.ref.name for e in p.inventory.entries)
    assert names == ["settings", "shop", "w1", "web", "web", "widgets.example.com"]


def test_selective_sync_applies_only_the_selection_and_runs_no_hooks() -> None:
    selection = [Ref("apps", "Deployment", "shop", "web")]
    p = waves.plan_sync(guestbook(), {}, app=APP, previous=inventory.new(), selection=selection)
    assert outline(p) == [("Sync", 1, [], ["Deployment/web"])]
    reasons = {s.reason for s in p.skipped}
    assert waves.SkipReason.HOOK_IN_SELECTIVE_SYNC in reasons and waves.SkipReason.NOT_SELECTED in reasons


def test_prune_deletes_stale_objects_in_reverse_wave_order_before_applying() -> None:
    keep = obj("ConfigMap", "keep")
    old_early, old_late = obj("Secret", "old-early", wave=-2), obj("ConfigMap", "old-late", wave=3)
    previous = inventory.from_objects([keep, old_early, old_late])
    p = waves.plan_sync([keep], live_of(keep, old_early, old_late), app=APP, previous=previous, prune=True)
    assert outline(p) == [
        ("Sync", -2, ["ConfigMap/old-late"], []),
        ("Sync", 0, [], ["ConfigMap/keep"]),
        ("Sync", 3, ["Secret/old-early"], []),
    ]
    assert p.inventory.refs() == {Ref.from_object(keep)}


def test_prune_last_objects_are_deleted_after_the_last_sync_wave() -> None:
    keep = obj("ConfigMap", "keep", wave=4)
    stale = obj("ConfigMap", "stale", options="PruneLast=true")
    p = waves.plan_sync(
        [keep], live_of(keep, stale), app=APP, previous=inventory.from_objects([keep, stale]), prune=True
    )
    assert outline(p) == [("Sync", 4, [], ["ConfigMap/keep"]), ("Sync", 5, ["ConfigMap/stale"], [])]


PRUNE_SKIP_CASES = [
    ("pruning-off", obj("ConfigMap", "gone"), False, waves.SkipReason.PRUNE_DISABLED, True),
    (
        "prune-false-annotation",
        obj("ConfigMap", "gone", options="Prune=false"),
        True,
        waves.SkipReason.NO_PRUNE,
        True,
    ),
    (
        "prune-confirm-annotation",
        obj("ConfigMap", "gone", options="Prune=confirm"),
        True,
        waves.SkipReason.NO_PRUNE,
        True,
    ),
    ("not-fleets-object", obj("ConfigMap", "gone", owner=None), True, waves.SkipReason.NOT_OWNED, False),
    (
        "owned-by-another-app",
        obj("ConfigMap", "gone", owner="other"),
        True,
        waves.SkipReason.NOT_OWNED,
        False,
    ),
]


@pytest.mark.parametrize(
    ("name", "live", "prune", "reason", "still_listed"),
    PRUNE_SKIP_CASES,
    ids=[c[0] for c in PRUNE_SKIP_CASES],
)
def test_prune_never_touches_what_it_must_not(
    name: str, live: dict, prune: bool, reason: waves.SkipReason, still_listed: bool
) -> None:
    previous = inventory.from_objects([live])
    p = waves.plan_sync([], live_of(live), app=APP, previous=previous, prune=prune)
    assert p.is_noop
    assert [s.reason for s in p.skipped] == [reason]
    assert (Ref.from_object(live) in p.inventory.refs()) is still_listed


def test_stale_object_already_gone_is_forgotten() -> None:
    gone = obj("ConfigMap", "gone")
    p = waves.plan_sync([], {}, app=APP, previous=inventory.from_objects([gone]), prune=True)
    assert p.is_noop and len(p.inventory) == 0 and [e.ref.name for e in p.stale] == ["gone"]


def test_prune_defaults_to_the_automated_policy() -> None:
    keep, stale = obj("ConfigMap", "keep"), obj("ConfigMap", "stale")
    auto = waves.parse_sync_policy({"automated": {"prune": True}})
    p = waves.plan_sync(
        [keep], live_of(keep, stale), app=APP, previous=inventory.from_objects([keep, stale]), policy=auto
    )
    assert outline(p) == [("Sync", 0, ["ConfigMap/stale"], ["ConfigMap/keep"])]
    assert p.steps[0].prune[0].options.propagation_policy is waves.PrunePropagation.FOREGROUND


def test_apply_out_of_sync_only_skips_objects_the_diff_found_equal() -> None:
    same, changed, missing = (
        obj("ConfigMap", "same"),
        obj("ConfigMap", "changed"),
        obj("ConfigMap", "missing"),
    )
    opts = waves.parse_sync_options(["ApplyOutOfSyncOnly=true"])
    p = waves.plan_sync(
        [same, changed, missing],
        live_of(same, changed),
        app=APP,
        previous=inventory.new(),
        options=opts,
        out_of_sync=[Ref.from_object(changed)],
    )
    assert outline(p) == [("Sync", 0, [], ["ConfigMap/changed", "ConfigMap/missing"])]
    assert [(s.ref.name, s.reason) for s in p.skipped] == [("same", waves.SkipReason.IN_SYNC)]
    assert len(p.inventory) == 3


@pytest.mark.parametrize("fail", [True, False], ids=["fail-on-shared", "warn-only"])
def test_objects_owned_by_another_application_are_reported_as_shared(fail: bool) -> None:
    mine = obj("ConfigMap", "cfg")
    theirs = obj("ConfigMap", "cfg", owner="other-app")
    opts = waves.parse_sync_options(["FailOnSharedResource=true"] if fail else [])
    p = waves.plan_sync([mine], live_of(theirs), app=APP, previous=inventory.new(), options=opts)
    assert p.shared == (waves.SharedResource(Ref.from_object(mine), "other-app"),)
    assert p.blocked is fail


def test_create_namespace_adds_the_destination_namespace_in_pre_sync() -> None:
    policy = waves.parse_sync_policy(
        {
            "syncOptions": ["CreateNamespace=true"],
            "managedNamespaceMetadata": {"labels": {"team": "shop"}},
        }
    )
    p = waves.plan_sync(
        [obj("ConfigMap", "cfg")], {}, app=APP, previous=inventory.new(), policy=policy, namespace="shop"
    )
    first = p.steps[0]
    assert (first.phase, [i.ref.name for i in first.apply]) == (waves.SyncPhase.PRE_SYNC, ["shop"])
    assert first.apply[0].obj["metadata"]["labels"] == {"team": "shop"}
    assert Ref("", "Namespace", "", "shop") not in p.inventory.refs()


def test_default_namespace_fills_namespaced_objects_only() -> None:
    objs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "other"}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "r", "namespace": "x"},
        },
    ]
    out = waves.default_namespace(objs, "shop")
    assert [Ref.from_object(o).namespace for o in out] == ["shop", "other", ""]
    assert objs[0]["metadata"] == {"name": "a"}  # inputs are not modified


def test_kind_order_puts_unknown_kinds_last() -> None:
    kinds = ["Widget", "Deployment", "Namespace", "CustomResourceDefinition", "Service", "Secret"]
    assert sorted(kinds, key=waves.kind_rank) == [
        "Namespace",
        "Secret",
        "CustomResourceDefinition",
        "Service",
        "Deployment",
        "Widget",
    ]


def test_waves_come_from_the_annotation_then_helm_hook_weight() -> None:
    assert waves.wave({"metadata": {"annotations": {waves.ANNOTATION_SYNC_WAVE: "-3"}}}) == -3
    assert waves.wave({"metadata": {"annotations": {waves.HELM_HOOK_WEIGHT: "5"}}}) == 5
    assert (
        waves.wave(
            {"metadata": {"annotations": {waves.ANNOTATION_SYNC_WAVE: "x", waves.HELM_HOOK_WEIGHT: "2"}}}
        )
        == 2
    )
    assert waves.wave({"metadata": {}}) == 0


def test_automated_sync_refuses_to_prune_everything_without_allow_empty() -> None:
    stale = obj("ConfigMap", "stale")
    for allow_empty, refused in ((False, True), (True, False)):
        policy = waves.parse_sync_policy({"automated": {"prune": True, "allowEmpty": allow_empty}})
        p = waves.plan_sync(
            [], live_of(stale), app=APP, previous=inventory.from_objects([stale]), policy=policy
        )
        assert (p.empty_prune_refused, p.is_noop) == (refused, refused)
        assert (Ref.from_object(stale) in p.inventory.refs()) is refused


def test_deleting_an_application_runs_delete_hooks_around_reverse_wave_deletes() -> None:
    early, late = obj("ConfigMap", "early", wave=-1), obj("Deployment", "late", api="apps/v1", wave=2)
    kept = obj("Secret", "kept", options="Delete=false")
    hooks = [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": "backup",
                "namespace": "shop",
                "annotations": {waves.ANNOTATION_HOOK: "PreDelete"},
            },
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": "notify",
                "namespace": "shop",
                "annotations": {waves.ANNOTATION_HOOK: "PostDelete"},
            },
        },
    ]
    previous = inventory.from_objects([early, late, kept])
    d = waves.plan_deletion(live_of(early, late, kept), app=APP, previous=previous, hooks=hooks)
    assert [(s.phase.value, s.wave, [i.ref.name for i in (*s.prune, *s.apply)]) for s in d.steps] == [
        ("PreDelete", 0, ["backup"]),
        ("Sync", 2, ["late"]),
        ("Sync", -1, ["early"]),
        ("PostDelete", 0, ["notify"]),
    ]
    assert [(s.ref.name, s.reason) for s in d.skipped] == [("kept", waves.SkipReason.NO_PRUNE)]
