"""Applications removed from Git, through the CLI on the simulator: a run over the whole fleet
deletes what fleet synced for them before (cascade, with PreDelete/PostDelete hooks) and their
inventory; the ApplicationSet's applicationsSync and preserveResourcesOnDeletion are honoured;
nothing fleet did not create is touched; a run narrowed by --app or --selector deletes nothing;
--dry-run and fleet diff say what would be deleted.

The basic fleet has one Application per cluster, so every removal here empties a cluster, which
the deletion guard stops unless --allow-mass-delete (tests/test_sync_deletion_guard.py), and some
leave the fleet generating nothing, which is refused unless --allow-empty
(tests/test_sync_empty_fleet.py): these tests pass both, to look at the removal itself."""

from __future__ import annotations

import yaml

from fleet.results import Action, Deletion
from fleet.status import Reason

INVENTORY = ("v1", "ConfigMap", "fleet-system")
REMOVING = ("--allow-mass-delete", "--allow-empty")


def only_clusters(env, names: list[str], **sync_policy) -> None:
    """Generate the web Application only for these clusters (the others' are removed from Git)."""
    doc = yaml.safe_load((env.root / "appset.yaml").read_text())
    doc["spec"]["generators"] = [{"list": {"elements": [{"name": n} for n in names]}}]
    if sync_policy:
        doc["spec"]["syncPolicy"] = sync_policy
    env.write("appset.yaml", doc)


def inventory_of(env, cluster: str, app: str):
    return env.sim.get_object(cluster, *INVENTORY, f"inventory-{app}")


def hand_made(env, cluster: str) -> None:
    """Objects fleet did not create: one beside the Application's, one carrying a stray label."""
    env.sim.apply_object(
        cluster,
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "by-hand", "namespace": "web"}},
    )
    env.sim.apply_object(
        cluster,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "labelled",
                "namespace": "web",
                "labels": {"app.kubernetes.io/managed-by": "fleet"},
            },
        },
    )


def test_an_application_removed_from_git_is_deleted_with_its_resources(make_fleet) -> None:
    env = make_fleet("basic")
    assert env.sync(*REMOVING).exit_code == 0
    hand_made(env, "c003")
    only_clusters(env, ["c001", "c002"])
    run = env.sync(*REMOVING)
    assert run.exit_code == 0, run.stderr
    gone = run.app("c003", "web-c003")
    assert (gone.deletion, gone.reason, gone.ok) == (Deletion.DELETED, Reason.SUCCEEDED, True)
    assert {r.kind: r.action for r in gone.resources} == {
        "ConfigMap": Action.PRUNED,
        "Deployment": Action.PRUNED,
        "Service": Action.PRUNED,
    }
    assert env.objects("c003", "web", "Deployment") == [] and env.objects("c003", "web", "Service") == []
    assert inventory_of(env, "c003", "web-c003") is None
    # Nothing fleet did not create: the hand-made objects and the namespace stay.
    assert env.names("c003", "web", "ConfigMap") == ["by-hand", "labelled"]
    assert env.sim.get_object("c003", "v1", "Namespace", "", "web") is not None
    # The other clusters are untouched, and the next run has nothing left to delete.
    assert env.names("c001", "web", "Deployment") == ["web"]
    again = env.sync(*REMOVING)
    assert [a.name for a in again.run_result.apps() if a.deletion] == []
    assert run.run_result.summary()["deleted"] == 1


def test_an_object_taken_over_by_someone_else_is_not_deleted(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync(*REMOVING).exit_code == 0
    # Someone else took the Service over (removed fleet's tracking id).
    env.sim.edit_object(
        "c001",
        "v1",
        "Service",
        "web",
        "web",
        lambda obj: obj["metadata"]["annotations"].pop("fleet.gitops.io/tracking-id"),
    )
    only_clusters(env, [])
    run = env.sync(*REMOVING)
    gone = run.app("c001", "web-c001")
    assert gone.deletion is Deletion.DELETED
    service = next(r for r in gone.resources if r.kind == "Service")
    assert service.action is Action.PRUNE_SKIPPED and "not managed by this application" in service.message
    assert env.names("c001", "web", "Service") == ["web"]
    assert env.names("c001", "web", "Deployment") == []


def test_removing_the_whole_applicationset_deletes_its_applications(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    assert env.sync(*REMOVING).exit_code == 0
    env.write(
        "other.yaml",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "unused", "namespace": "argocd"},
            "spec": {},
        },
    )
    env.remove("appset.yaml")
    run = env.sync(*REMOVING)
    assert run.exit_code == 0, run.stderr
    assert {a.deletion for a in run.run_result.apps()} == {Deletion.DELETED}
    assert all(env.objects(c, "web", "Deployment") == [] for c in env.cluster_names)
    status = env.run("status", "--state-dir", str(env.state_dir), "-o", "json")
    assert '"web-c001"' not in status.stdout  # gone from the latest state


POLICY_CASES = [
    ({"applicationsSync": "create-update"}, Deletion.KEPT, True, True),
    ({"applicationsSync": "create-only"}, Deletion.KEPT, True, True),
    ({"preserveResourcesOnDeletion": True}, Deletion.PRESERVED, True, False),
    ({"applicationsSync": "create-delete"}, Deletion.DELETED, False, False),
]


def test_the_applicationsets_policy_decides_what_a_removal_does(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    for sync_policy, deletion, resources_stay, inventory_stays in POLICY_CASES:
        only_clusters(env, ["c001"], **sync_policy)
        assert env.sync(*REMOVING).exit_code == 0
        only_clusters(env, [], **sync_policy)
        run = env.sync(*REMOVING)
        assert run.exit_code == 0, (sync_policy, run.stderr)
        app = run.app("c001", "web-c001")
        assert app.deletion is deletion, sync_policy
        assert (env.names("c001", "web", "Deployment") == ["web"]) is resources_stay, sync_policy
        assert (inventory_of(env, "c001", "web-c001") is not None) is inventory_stays, sync_policy
        if deletion is Deletion.KEPT:
            assert sync_policy["applicationsSync"] in app.message and "never deletes" in app.message
            env.sim.delete_object("c001", *INVENTORY, "inventory-web-c001")  # start the next case clean
        for kind in ("Deployment", "Service", "ConfigMap"):
            for name in env.names("c001", "web", kind):
                env.sim.delete_object("c001", "apps/v1" if kind == "Deployment" else "v1", kind, "web", name)


def test_the_recorded_policy_holds_once_the_applicationset_is_gone(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    only_clusters(env, ["c001"], applicationsSync="create-only")
    assert env.sync(*REMOVING).exit_code == 0
    env.remove("appset.yaml")
    run = env.sync(*REMOVING)
    app = run.app("c001", "web-c001")
    assert app.deletion is Deletion.KEPT and "now deleted" in app.message
    assert env.names("c001", "web", "Deployment") == ["web"]


def test_a_narrowed_run_deletes_nothing_and_says_so(make_fleet) -> None:
    env = make_fleet("basic")
    assert env.sync(*REMOVING).exit_code == 0
    only_clusters(env, ["c001", "c002"])
    for flags in (("--app", "web-c001"), ("--selector", "env=dev")):
        run = env.sync(*REMOVING, *flags)
        assert run.exit_code == 0
        assert not any(a.deletion for a in run.run_result.apps())
        assert "neither deleted nor reported" in run.stderr and flags[0] in run.stderr
        assert env.names("c003", "web", "Deployment") == ["web"]


def test_dry_run_and_diff_report_what_would_be_deleted_and_change_nothing(make_fleet) -> None:
    env = make_fleet("basic")
    assert env.sync(*REMOVING).exit_code == 0
    only_clusters(env, ["c001", "c002"])
    env.sim.reset_counts()
    dry = env.sync(*REMOVING, "--dry-run")
    assert dry.exit_code == 1
    would = dry.app("c003", "web-c003")
    assert would.deletion is Deletion.WOULD_DELETE
    assert {r.action for r in would.resources} == {Action.WOULD_PRUNE}
    diff = env.diff(*REMOVING)
    assert diff.exit_code == 1
    assert "application web-c003: OutOfSync [WouldDelete" in diff.stdout and "would-prune" in diff.stdout
    writes = {
        v
        for c in env.cluster_names
        for v in env.sim.request_counts(c)["verbs"]
        if v not in ("list", "discovery")
    }
    assert writes <= {"apply"}, writes  # server-side dry-run applies only (dryRun=All)
    assert env.names("c003", "web", "Deployment") == ["web"] and inventory_of(env, "c003", "web-c003")


def test_a_failed_generation_deletes_none_of_its_applications(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync(*REMOVING).exit_code == 0
    doc = yaml.safe_load((env.root / "appset.yaml").read_text())
    doc["spec"]["goTemplate"] = True
    doc["spec"]["template"]["metadata"]["name"] = "web-{{ .name "  # does not parse
    env.write("appset.yaml", doc)
    run = env.sync(*REMOVING)
    assert run.exit_code == 1 and run.run_result.errors
    app = run.app("c001", "web-c001")
    assert app.deletion is Deletion.KEPT and "failed to generate" in app.message
    assert env.names("c001", "web", "Deployment") == ["web"]


def test_delete_hooks_run_around_the_cascade_and_are_recorded_at_sync(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    for phase in ("PreDelete", "PostDelete"):
        env.write(
            f"apps/web/{phase.lower()}.yaml",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": f"hook-{phase.lower()}",
                    "annotations": {"argocd.argoproj.io/hook": phase},
                },
                "data": {"phase": phase},
            },
        )
    assert env.sync(*REMOVING).exit_code == 0
    assert env.names("c001", "web", "ConfigMap") == ["web-config"]  # delete hooks do not run on sync
    assert "hook-predelete" in inventory_of(env, "c001", "web-c001")["data"]["deleteHooks"]
    only_clusters(env, [])
    run = env.sync(*REMOVING)
    gone = run.app("c001", "web-c001")
    assert gone.deletion is Deletion.DELETED, gone.message
    hooks = {r.name: r for r in gone.resources if r.hook}
    assert set(hooks) == {"hook-predelete", "hook-postdelete"}
    pre = env.sim.get_object("c001", "v1", "ConfigMap", "web", "hook-predelete")
    post = env.sim.get_object("c001", "v1", "ConfigMap", "web", "hook-postdelete")
    assert int(pre["metadata"]["resourceVersion"]) < int(post["metadata"]["resourceVersion"])
    assert env.names("c001", "web", "Deployment") == [] and "web-config" not in env.names(
        "c001", "web", "ConfigMap"
    )


def test_a_cluster_left_without_applications_is_still_cleaned(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    assert env.sync(*REMOVING).exit_code == 0
    only_clusters(env, ["c001"])
    env.sim.reset_counts()
    run = env.sync(*REMOVING)
    assert run.app("c002", "web-c002").deletion is Deletion.DELETED
    assert env.names("c002", "web", "Deployment") == []
    env.sim.reset_counts()
    assert env.sync(*REMOVING).exit_code == 0
    verbs = {v: n for v, n in env.sim.request_counts("c002")["verbs"].items() if v != "discovery"}
    assert verbs == {"list": 1}  # a cluster with nothing left costs one LIST of the inventories
