"""A fleet that generates no Application is refused (exit 2, nothing touched) unless the user
says it is meant to be empty with --allow-empty (issue 8, item 1).

The issue's first scenario: after syncing a fleet, `fleet sync` run from an empty directory
against the same clusters exited 0, "sync OK", having deleted every Application on every cluster.
"""

from __future__ import annotations

import pytest
import yaml

from fleet.results import Deletion

INVENTORY = ("v1", "ConfigMap", "fleet-system")


def untouched(env) -> None:
    for cluster in env.cluster_names:
        assert env.names(cluster, "web", "Deployment") == ["web"], cluster
        assert env.sim.get_object(cluster, *INVENTORY, f"inventory-web-{cluster}") is not None, cluster


@pytest.mark.parametrize("command", ["sync", "dry-run", "diff"])
def test_an_empty_directory_is_refused_and_nothing_is_deleted(make_fleet, tmp_path, command) -> None:
    env = make_fleet("basic")
    assert env.sync().exit_code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ["--clusters", str(env.clusters_file), "--executor", "local", "--state-dir", str(env.state_dir)]
    verb = "diff" if command == "diff" else "sync"
    extra = ["--dry-run"] if command == "dry-run" else []
    run = env.run("--log-format", "json", verb, str(empty), *args, *extra)
    assert run.exit_code == 2, run.stdout + run.stderr
    assert str(empty) in run.stderr and "holds no ApplicationSet and no Application" in run.stderr
    assert "--allow-empty" in run.stderr
    untouched(env)


def test_applicationsets_that_generate_nothing_are_refused_too(make_fleet) -> None:
    env = make_fleet("basic")
    assert env.sync().exit_code == 0
    doc = yaml.safe_load((env.root / "appset.yaml").read_text())
    # A selector no cluster matches (a wrong label, a wrong clusters file): nothing is generated.
    doc["spec"]["generators"] = [{"clusters": {"selector": {"matchLabels": {"env": "nowhere"}}}}]
    env.write("appset.yaml", doc)
    run = env.sync()
    assert run.exit_code == 2
    assert "1 ApplicationSet(s) generate no Application for the registered clusters" in run.stderr
    untouched(env)


def test_a_fleet_meant_to_be_empty_runs_with_allow_empty_and_still_meets_the_deletion_guard(
    make_fleet,
) -> None:
    env = make_fleet("basic", clusters=2)
    assert env.sync().exit_code == 0
    env.remove("appset.yaml")
    guarded = env.sync("--allow-empty")
    assert guarded.exit_code == 1, guarded.stderr  # every Application of every cluster would go
    assert {a.deletion for a in guarded.run_result.apps()} == {Deletion.BLOCKED}
    untouched(env)
    emptied = env.sync("--allow-empty", "--allow-mass-delete")
    assert emptied.exit_code == 0, emptied.stderr
    assert {a.deletion for a in emptied.run_result.apps()} == {Deletion.DELETED}
    assert all(env.names(c, "web", "Deployment") == [] for c in env.cluster_names)
