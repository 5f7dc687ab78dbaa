"""The deletion guard: a run that would delete more of what was removed from Git than
--max-delete allows on a cluster (default 10% of the fleet's Applications there, at least one), or
every Application the fleet has on a cluster, stops before deleting anything anywhere and names
the flags that allow it; dry runs and `fleet diff` report what it would stop (issue 8, item 1)."""

from __future__ import annotations

import pytest

from fleet.results import Deletion
from fleet.status import Reason

APPS = ("a1", "a2", "a3", "a4", "a5")  # five Applications per cluster: 10% allows one


def deploy(env, placed: dict[str, tuple[str, ...]]) -> None:
    """One Application per (app, cluster) pair, each in its own namespace."""
    elements = [{"app": app, "cluster": cluster} for cluster, apps in placed.items() for app in apps]
    env.write(
        "appset.yaml",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": "many", "namespace": "argocd"},
            "spec": {
                "generators": [{"list": {"elements": elements}}],
                "template": {
                    "metadata": {"name": "{{app}}-{{cluster}}"},
                    "spec": {
                        "project": "default",
                        "source": {"repoURL": "https://git.example.com/fleet.git", "path": "apps/web"},
                        "destination": {"name": "{{cluster}}", "namespace": "{{app}}"},
                        "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
                    },
                },
            },
        },
    )


def deployed(env, cluster: str) -> list[str]:
    return [app for app in APPS if env.names(cluster, app, "Deployment") == ["web"]]


CASES = [
    # (what stays in Git per cluster, flags, allowed, the note when the guard stops the run)
    pytest.param({"c001": APPS[:4], "c002": APPS[:4]}, (), True, "", id="one-of-five-per-cluster-passes"),
    pytest.param(
        {"c001": APPS[:3], "c002": APPS[:4]},
        (),
        False,
        "on cluster c001, it would delete 2 of its 5 Applications (--max-delete 10% allows 1). If that is "
        "intended, run again with --allow-mass-delete or a --max-delete above 10%",
        id="two-of-five-stop-the-whole-run",
    ),
    pytest.param(
        {"c001": APPS[:3], "c002": APPS[:4]}, ("--max-delete", "2"), True, "", id="max-delete-count"
    ),
    pytest.param(
        {"c001": APPS[:3], "c002": APPS[:4]}, ("--max-delete", "40%"), True, "", id="max-delete-percent"
    ),
    pytest.param(
        {"c001": (), "c002": APPS},
        ("--max-delete", "100%"),
        False,
        "on cluster c001, it would delete every Application this fleet has there (5). If that is intended, "
        "run again with --allow-mass-delete",
        id="emptying-a-cluster",
    ),
    pytest.param({"c001": (), "c002": APPS}, ("--allow-mass-delete",), True, "", id="allow-mass-delete"),
]


@pytest.mark.parametrize("kept, flags, allowed, says", CASES)
def test_the_deletion_guard_stops_a_run_before_it_deletes_anything(
    make_fleet, kept, flags, allowed, says
) -> None:
    env = make_fleet("basic", clusters=2)
    deploy(env, {"c001": APPS, "c002": APPS})
    assert env.sync().exit_code == 0
    deploy(env, kept)
    run = env.sync(*flags)
    removed = [a for a in run.run_result.apps() if a.deletion]
    assert len(removed) == sum(len(APPS) - len(apps) for apps in kept.values())
    if allowed:
        assert run.exit_code == 0, run.stderr
        assert {a.deletion for a in removed} == {Deletion.DELETED}
        assert {c: deployed(env, c) for c in kept} == {c: list(apps) for c, apps in kept.items()}
        return
    assert run.exit_code == 1
    assert {(a.deletion, a.reason) for a in removed} == {(Deletion.BLOCKED, Reason.DELETION_BLOCKED)}
    # Nothing anywhere: not on the cluster past the guard, not on the one within it.
    assert {c: deployed(env, c) for c in kept} == {c: list(APPS) for c in kept}
    (note,) = run.run_result.notes
    assert note.endswith(says), note
    assert "note: deletion guard: nothing removed from Git was deleted" in run.stderr


def test_dry_run_and_diff_report_what_the_guard_would_stop(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    deploy(env, {"c001": APPS, "c002": APPS})
    assert env.sync().exit_code == 0
    deploy(env, {"c001": APPS[:2], "c002": APPS})
    env.sim.reset_counts()
    dry = env.sync("--dry-run")
    assert dry.exit_code == 1
    assert {a.deletion for a in dry.run_result.apps() if a.deletion} == {Deletion.BLOCKED}
    assert "a sync would delete nothing removed from Git" in dry.run_result.notes[0]
    diff = env.diff()
    assert diff.exit_code == 1
    assert "application a3-c001: OutOfSync [DeleteBlocked" in diff.stdout
    assert "deletion guard: a sync would delete nothing" in diff.stderr
    summary = env.sync("--dry-run", output="table")
    assert "removed from Git: 3 blocked by the deletion guard" in summary.stdout
    assert deployed(env, "c001") == list(APPS)
    writes = {
        v
        for c in env.cluster_names
        for v in env.sim.request_counts(c)["verbs"]
        if v not in ("list", "discovery")
    }
    assert writes <= {"apply"}, writes  # server-side dry runs only
