"""Dependencies between the Applications of a cluster (fleet.gitops.io/depends-on, templated by
the ApplicationSet): cert-manager -> ingress -> app, where cert-manager goes Degraded, leaves
ingress and app untouched with DependencyNotReady while an independent Application still syncs;
once cert-manager is fixed the chain syncs in order; a cycle is a generation error naming it."""

from __future__ import annotations

import shutil

from fleet.status import OperationPhase, Reason
from tests.fixtures.sync import DATA, REPO_URL

CHAIN = [("cert-manager", ""), ("ingress", "cert-manager"), ("app", "ingress"), ("independent", "")]


def appset(chain) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "stack", "namespace": "argocd"},
        "spec": {
            "generators": [{"list": {"elements": [{"app": a, "deps": d} for a, d in chain]}}],
            "template": {
                "metadata": {"name": "{{app}}", "annotations": {"fleet.gitops.io/depends-on": "{{deps}}"}},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": REPO_URL, "targetRevision": "HEAD", "path": "apps/{{app}}"},
                    "destination": {"name": "c001", "namespace": "{{app}}"},
                    "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
                },
            },
        },
    }


def stack(env, chain, *, broken: str = "") -> None:
    env.remove("appset.yaml")
    for name, _ in chain:
        shutil.copytree(DATA / "basic" / "apps" / "web", env.root / "apps" / name, dirs_exist_ok=True)
        if name == broken:
            path = env.root / "apps" / name / "deployment.yaml"
            text = path.read_text().replace("image: nginx:1.27", "image: nginx:bad")
            path.write_text(text.replace("replicas: 2", "replicas: 2\n  progressDeadlineSeconds: 1"))
    env.write("appset.yaml", appset(chain))


def test_a_degraded_dependency_leaves_the_chain_untouched_and_independent_apps_sync(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    stack(env, CHAIN, broken="cert-manager")
    run = env.sync("--health-timeout", "20")
    assert run.exit_code == 1
    assert run.app("c001", "cert-manager").reason is Reason.HEALTH_CHECK_FAILED
    for name, dep in (("ingress", "cert-manager"), ("app", "ingress")):
        found = run.app("c001", name)
        assert (found.reason, found.phase) == (Reason.DEPENDENCY_NOT_READY, OperationPhase.NOT_STARTED)
        assert dep in found.message
        assert env.names("c001", name, "Deployment") == []  # untouched
    assert run.app("c001", "independent").ok


def test_a_healthy_chain_syncs_in_dependency_order(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    stack(env, CHAIN)
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    apps = {name: run.app("c001", name) for name, _ in CHAIN}
    assert all(a.ok for a in apps.values())
    assert apps["ingress"].started_at >= apps["cert-manager"].started_at
    assert apps["app"].started_at >= apps["ingress"].started_at


def test_a_cycle_and_a_missing_dependency_are_generation_errors_naming_them(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    stack(env, [("a", "b"), ("b", "a"), ("c", "nowhere"), ("independent", "")])
    run = env.sync()
    assert run.exit_code == 1
    assert "cycle: a -> b -> a" in run.stderr
    assert "c on cluster c001: depends on nowhere" in run.stderr
    names = {a.name for a in run.run_result.apps()}
    assert names == {"independent"}  # the others are not synced at all
    assert env.names("c001", "a", "Deployment") == [] and env.names("c001", "c", "Deployment") == []
