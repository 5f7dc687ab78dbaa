"""AppProject restrictions through the CLI on the simulator: an Application whose project does
not permit its source repository or destination is refused when the fleet is generated (naming the
Application and the project); one that renders an object of a kind the project does not permit
fails with ProjectDenied before anything is written; permitted Applications sync as usual."""

from __future__ import annotations

import pytest
import yaml

from fleet.status import Reason

REPO = "https://git.example.com/fleet.git"


def use_project(env, **spec) -> None:
    env.write(
        "projects.yaml",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "team", "namespace": "argocd"},
            "spec": spec,
        },
    )
    doc = yaml.safe_load((env.root / "appset.yaml").read_text())
    doc["spec"]["template"]["spec"]["project"] = "team"
    env.write("appset.yaml", doc)


OPEN = {"sourceRepos": [REPO], "destinations": [{"server": "*", "namespace": "web"}]}

REFUSED = [
    pytest.param(
        {**OPEN, "sourceRepos": ["https://git.example.com/other/*"]}, "source repository", id="source"
    ),
    pytest.param({**OPEN, "sourceRepos": ["!" + REPO, "*"]}, "source repository", id="denied-source"),
    pytest.param(
        {**OPEN, "destinations": [{"server": "*", "namespace": "team-*"}]}, "destination", id="namespace"
    ),
    pytest.param(
        {**OPEN, "destinations": [{"name": "!c002", "namespace": "*"}, {"name": "*", "namespace": "*"}]},
        "destination cluster c002",
        id="negated-cluster",
    ),
]


@pytest.mark.parametrize("spec, words", REFUSED)
def test_an_application_its_project_does_not_permit_is_refused_at_generation(make_fleet, spec, words) -> None:
    env = make_fleet("basic", clusters=2)
    use_project(env, **spec)
    run = env.sync()
    assert run.exit_code == 1
    refused = [e for e in run.run_result.errors if "(project team)" in e]
    assert refused and all(words in e and "not permitted in project team" in e for e in refused)
    for error in refused:
        name = error.split()[1]
        cluster = name.removeprefix("web-")
        # Nothing is written for it (the cluster is only read for Applications removed from Git).
        assert set(env.sim.request_counts(cluster)["verbs"]) <= {"list", "discovery"}
        assert env.names(cluster, "web", "Deployment") == []
    assert any("Application web-c002 (project team)" in e for e in refused)


def test_an_object_of_a_kind_the_project_does_not_permit_fails_the_application_before_any_write(
    make_fleet,
) -> None:
    env = make_fleet("basic", clusters=1)
    use_project(env, **OPEN, namespaceResourceBlacklist=[{"group": "", "kind": "Service"}])
    env.write(
        "apps/web/role.yaml",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "web-reader"},
            "rules": [],
        },
    )
    run = env.sync()
    assert run.exit_code == 1
    app = run.app("c001", "web-c001")
    assert app.reason is Reason.PROJECT_DENIED
    assert (
        "cluster-scoped resource rbac.authorization.k8s.io/ClusterRole is not permitted in project team"
        in app.message
    )
    assert "namespaced resource ''/Service is not permitted in project team" in app.message
    verbs = set(env.sim.request_counts("c001")["verbs"])
    assert verbs <= {"list", "discovery"}, verbs  # refused before anything was written
    assert env.names("c001", "web", "Deployment") == []


def test_a_permitting_project_syncs_as_usual(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    use_project(env, **OPEN, clusterResourceWhitelist=[{"group": "", "kind": "Namespace"}])
    run = env.sync()
    assert run.exit_code == 0, run.stdout + run.stderr
    assert all(a.ok for a in run.run_result.apps())


def test_an_invalid_project_is_bad_input(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    use_project(env, sourceRepos=["!*"], destinations=[{"server": "*", "namespace": "*"}])
    run = env.sync()
    assert run.exit_code == 2
    assert "AppProject team" in run.stderr and "spec.sourceRepos[0]" in run.stderr
    assert env.sim.request_counts("c001")["total"] == 0
