"""What happens to an Application no longer generated from Git (fleet.lifecycle.decide), checked
against Argo CD's rules (appset-semantics.md §9-§10): applicationsSync create-only/create-update
never delete; deleting cascades only with the resources finalizer (which preserveResourcesOnDeletion
leaves out); the current ApplicationSet's policy wins while it is in Git, the recorded one after."""

from __future__ import annotations

import pytest

from fleet import inventory, lifecycle
from fleet.lifecycle import AppSetPolicy, Decision, Record, Removal

DELETE, PRESERVE, KEEP = Decision.DELETE, Decision.PRESERVE, Decision.KEEP

CASES = [
    pytest.param(
        Record("a", "web", "sync", True), {"web": AppSetPolicy()}, DELETE, "cascade", id="sync-cascade"
    ),
    pytest.param(Record("a", "web", "sync", True), {}, DELETE, "cascade", id="appset-gone-recorded-sync"),
    pytest.param(
        Record("a", "web", "sync", True),
        {"web": AppSetPolicy("create-update")},
        KEEP,
        "create-update",
        id="current-create-update-never-deletes",
    ),
    pytest.param(
        Record("a", "web", "sync", True),
        {"web": AppSetPolicy("create-only")},
        KEEP,
        "create-only",
        id="current-create-only-never-deletes",
    ),
    pytest.param(
        Record("a", "web", "create-update", True),
        {"web": AppSetPolicy("sync")},
        DELETE,
        "cascade",
        id="current-policy-wins-over-recorded",
    ),
    pytest.param(
        Record("a", "web", "create-only", True),
        {},
        KEEP,
        "now deleted",
        id="appset-gone-recorded-create-only",
    ),
    pytest.param(
        Record("a", "web", "create-delete", True),
        {"web": AppSetPolicy("create-delete")},
        DELETE,
        "cascade",
        id="create-delete-deletes",
    ),
    pytest.param(
        Record("a", "web", "sync", False),
        {"web": AppSetPolicy()},
        PRESERVE,
        "resources kept",
        id="no-finalizer-preserves",
    ),
    pytest.param(
        Record("a", "web", "sync", True),
        {"web": AppSetPolicy(preserve_resources=True)},
        PRESERVE,
        "preserveResourcesOnDeletion",
        id="appset-now-preserves",
    ),
    pytest.param(
        Record("a", "", "sync", False), {}, PRESERVE, "resources kept", id="plain-app-without-finalizer"
    ),
    pytest.param(Record("a", "", "sync", True), {}, DELETE, "cascade", id="plain-app-with-finalizer"),
    pytest.param(Record("a", complete=False), {}, KEEP, "older fleet", id="legacy-inventory-is-kept"),
]


@pytest.mark.parametrize("record, appsets, decision, words", CASES)
def test_a_removed_application_is_deleted_preserved_or_kept_as_argo_cd_would(
    record, appsets, decision, words
) -> None:
    found, message = lifecycle.decide(record, Removal(appsets=appsets))
    assert found is decision
    assert words in message


def test_an_applicationset_that_failed_to_generate_keeps_its_applications() -> None:
    record = Record("web-c1", "web", "sync", True)
    found, message = lifecycle.decide(record, Removal(failed_appsets=frozenset({"web"})))
    assert found is KEEP and "failed to generate" in message


FINALIZERS = [
    pytest.param([], False, id="none"),
    pytest.param(["resources-finalizer.argocd.argoproj.io"], True, id="plain"),
    pytest.param(["resources-finalizer.argocd.argoproj.io/background"], True, id="background"),
    pytest.param(["resources-finalizer.argocd.argoproj.io/foreground"], True, id="foreground"),
    pytest.param(["example.com/other"], False, id="another-finalizer"),
    pytest.param(["resources-finalizer.argocd.argoproj.io-x"], False, id="lookalike"),
]


@pytest.mark.parametrize("finalizers, cascade", FINALIZERS)
def test_only_the_resources_finalizer_makes_a_deletion_cascade(finalizers, cascade) -> None:
    assert lifecycle.has_resources_finalizer(finalizers) is cascade


HOOK = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "drain", "annotations": {"argocd.argoproj.io/hook": "PreDelete"}},
    "spec": {"template": {"spec": {"containers": [{"name": "x", "image": "busybox"}]}}},
}


def test_the_inventory_records_what_the_deletion_needs_and_reads_back() -> None:
    inv = inventory.new([inventory.Entry(inventory.ObjectRef("", "ConfigMap", "web", "x"), "v1")])
    cm = lifecycle.inventory_configmap(
        "web-c1",
        inv,
        appset="web",
        applications_sync="create-update",
        cascade=False,
        namespace="web",
        hooks=[HOOK],
    )
    record = lifecycle.read(cm)
    assert (record.app, record.appset, record.applications_sync, record.cascade, record.namespace) == (
        "web-c1",
        "web",
        "create-update",
        False,
        "web",
    )
    assert record.hooks == (HOOK,) and record.complete
    assert inventory.from_configmap(cm) == inv
    assert not lifecycle.differs(cm, cm)
    changed = lifecycle.inventory_configmap(
        "web-c1", inv, appset="web", applications_sync="sync", cascade=False, namespace="web", hooks=[HOOK]
    )
    assert lifecycle.differs(cm, changed)
    legacy = inventory.to_configmap("web-c1", inv)
    assert not lifecycle.read(legacy).complete and lifecycle.differs(legacy, cm)


def test_only_delete_hooks_are_recorded() -> None:
    presync = {**HOOK, "metadata": {"name": "m", "annotations": {"argocd.argoproj.io/hook": "PreSync"}}}
    both = {
        **HOOK,
        "metadata": {"name": "b", "annotations": {"argocd.argoproj.io/hook": "PostSync,PostDelete"}},
    }
    plain = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    assert lifecycle.delete_hooks([HOOK, presync, both, plain]) == [HOOK, both]


def test_removed_are_the_inventories_no_longer_generated_nor_kept() -> None:
    inventories = {"web-c1": {}, "web-c2": {}, "api-c1": {}, "unsure": {}}
    removal = Removal(keep=frozenset({"unsure"}))
    assert lifecycle.removed(inventories, removal, present=["api-c1"]) == ["web-c1", "web-c2"]
