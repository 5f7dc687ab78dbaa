"""A second sync of an unchanged fleet changes nothing and costs one LIST per resource type per
cluster: the simulator's request counts show no GET, no apply, no delete, no per-object request."""

from __future__ import annotations

from fleet import results

# The web app renders ConfigMaps, Deployments and Services; CreateNamespace adds Namespaces. The
# inventory ConfigMaps come with the ConfigMap LIST (both are labelled managed-by=fleet).
LISTS_PER_CLUSTER = {"configmaps": 1, "namespaces": 1, "deployments": 1, "services": 1}


def test_resync_of_an_unchanged_fleet_sends_only_one_list_per_resource_type(make_fleet) -> None:
    env = make_fleet("basic")
    assert env.sync().exit_code == 0
    env.sim.reset_counts()
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    counts = env.sim.request_counts()
    for cluster in env.cluster_names:
        verbs = {verb: n for verb, n in counts[cluster]["verbs"].items() if verb != "discovery"}
        assert verbs == {"list": len(LISTS_PER_CLUSTER)}, (cluster, counts[cluster])
        lists = {
            plural: by_verb["list"]
            for plural, by_verb in counts[cluster]["resources"].items()
            if "list" in by_verb
        }
        assert lists == LISTS_PER_CLUSTER


def test_resync_reports_every_object_unchanged(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    run = env.sync()
    app = run.app("c001", "web-c001")
    assert {r.action for r in app.resources} == {results.Action.UNCHANGED}
    assert app.message == "in sync" and run.run_result.summary()["changed"] == 0


def test_resync_in_a_new_process_adds_only_discovery(make_fleet) -> None:
    """Discovery is cached per process: a fresh process (a new Ray worker, a new CLI run) asks
    once per API group version it uses, and still sends nothing per object."""
    from fleet.clusters import discovery

    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    env.sim.reset_counts()
    discovery._shared.clear()  # what a new process starts with
    assert env.sync().exit_code == 0
    verbs = env.sim.request_counts("c001")["verbs"]
    assert verbs["list"] == len(LISTS_PER_CLUSTER)
    assert set(verbs) == {"list", "discovery"} and verbs["discovery"] <= 2  # /api/v1 and /apis/apps/v1
