"""Drift: an object changed by hand while Git did not change is reported OutOfSync with its
masked diff (exit 1) and healed only when the Application has selfHeal; a change in Git is
applied by every sync and is not drift."""

from __future__ import annotations

import pytest

from fleet import results
from fleet.status import SyncStatus


def edit_greeting(env, cluster: str, value: str) -> None:
    env.sim.edit_object(
        cluster, "v1", "ConfigMap", "web", "web-config", lambda o: o["data"].update(greeting=value)
    )


def greeting(env, cluster: str) -> str:
    return env.sim.get_object(cluster, "v1", "ConfigMap", "web", "web-config")["data"]["greeting"]


def enable_self_heal(env) -> None:
    text = (
        (env.root / "appset.yaml").read_text().replace("prune: true", "prune: true\n          selfHeal: true")
    )
    (env.root / "appset.yaml").write_text(text)


def test_manual_edit_is_reported_with_its_diff_and_not_healed_without_self_heal(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    assert env.sync().exit_code == 0
    edit_greeting(env, "c002", "edited-by-hand")
    run = env.sync()
    assert run.exit_code == 1
    app = run.app("c002", "web-c002")
    (row,) = [r for r in app.resources if r.drift]
    assert (row.name, row.action, row.status) == (
        "web-config",
        results.Action.DRIFTED,
        SyncStatus.OUT_OF_SYNC,
    )
    assert "-  greeting: edited-by-hand" in row.diff and "+  greeting: hello" in row.diff
    assert app.sync_status is SyncStatus.OUT_OF_SYNC
    assert greeting(env, "c002") == "edited-by-hand"
    assert run.app("c001", "web-c001").ok


def test_fleet_diff_shows_the_manual_edit_and_exits_1(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    assert env.sync().exit_code == 0
    edit_greeting(env, "c001", "edited-by-hand")
    run = env.diff()
    assert run.exit_code == 1
    assert "=== cluster c001 / application web-c001: OutOfSync" in run.stdout
    assert "-  greeting: edited-by-hand" in run.stdout and "+  greeting: hello" in run.stdout
    assert "web-c002" not in run.stdout
    assert greeting(env, "c001") == "edited-by-hand"


def test_self_heal_restores_the_object_and_reports_the_drift(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    enable_self_heal(env)
    assert env.sync().exit_code == 0
    edit_greeting(env, "c001", "edited-by-hand")
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    (row,) = [r for r in run.app("c001", "web-c001").resources if r.drift]
    assert row.action is results.Action.CONFIGURED and "healed" in row.message
    assert "-  greeting: edited-by-hand" in row.diff
    assert greeting(env, "c001") == "hello"
    assert env.diff().exit_code == 0


@pytest.mark.parametrize("self_heal", [False, True], ids=["without-self-heal", "with-self-heal"])
def test_a_change_in_git_is_applied_and_is_not_drift(make_fleet, self_heal: bool) -> None:
    env = make_fleet("basic", clusters=1)
    if self_heal:
        enable_self_heal(env)
    assert env.sync().exit_code == 0
    text = (env.root / "apps/web/configmap.yaml").read_text().replace("greeting: hello", "greeting: bonjour")
    (env.root / "apps/web/configmap.yaml").write_text(text)
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    (row,) = [r for r in run.app("c001", "web-c001").resources if r.name == "web-config"]
    assert (row.action, row.drift, row.message) == (results.Action.CONFIGURED, False, "changed in Git")
    assert greeting(env, "c001") == "bonjour"
