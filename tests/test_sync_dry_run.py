"""--dry-run does everything but the writes (the API server validates each change with a
server-side dry run) and `fleet diff` only compares: neither changes a single object."""

from __future__ import annotations

import pytest

from fleet import results
from fleet.status import SyncStatus


def snapshot(env) -> dict[str, list[tuple[str, str, str, str]]]:
    return {
        c: [
            (
                o["kind"],
                o["metadata"].get("namespace", ""),
                o["metadata"]["name"],
                o["metadata"]["resourceVersion"],
            )
            for o in env.sim.objects(c)
        ]
        for c in env.cluster_names
    }


@pytest.mark.parametrize("command", ["sync --dry-run", "diff"], ids=["dry-run", "diff"])
def test_nothing_changes_on_empty_clusters(make_fleet, command: str) -> None:
    env = make_fleet("basic", clusters=2)
    before = snapshot(env)
    if command == "diff":
        run = env.diff(output="json")
    else:
        run = env.sync("--dry-run")
    assert run.exit_code == 1  # everything would be created: not in sync
    assert snapshot(env) == before
    assert run.run_result.kind.value == ("diff" if command == "diff" else "dry-run")
    for app in run.run_result.apps():
        assert app.sync_status is SyncStatus.OUT_OF_SYNC
        assert {r.action for r in app.resources} == {results.Action.WOULD_CREATE}


def test_dry_run_reports_a_git_change_with_its_diff_and_leaves_the_cluster_alone(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    text = (env.root / "apps/web/configmap.yaml").read_text().replace("colour: blue", "colour: green")
    (env.root / "apps/web/configmap.yaml").write_text(text)
    env.remove("apps/web/service.yaml")
    before = snapshot(env)
    env.sim.reset_counts()
    run = env.sync("--dry-run")
    assert run.exit_code == 1
    assert snapshot(env) == before
    rows = {r.name if r.kind != "Service" else "svc": r for r in run.app("c001", "web-c001").resources}
    assert (
        rows["web-config"].action is results.Action.WOULD_CONFIGURE
        and "+  colour: green" in rows["web-config"].diff
    )
    assert rows["svc"].action is results.Action.WOULD_PRUNE
    verbs = env.sim.request_counts("c001")["verbs"]
    assert verbs.get("apply") == 1 and verbs.get("delete") == 1  # both with dryRun=All
    assert env.sim.get_object("c001", "v1", "Service", "web", "web") is not None


def test_dry_run_reports_what_the_api_server_would_refuse(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    env.write(
        "apps/web/bad.yaml",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_Valid"}, "data": {"a": "b"}},
    )
    run = env.sync("--dry-run")
    assert run.exit_code == 1
    app = run.app("c001", "web-c001")
    (bad,) = [r for r in app.resources if r.name == "Not_Valid"]
    assert bad.action is results.Action.FAILED and "422" in bad.message
    assert app.reason.value == "ApplyFailed"
    assert "Not_Valid" not in env.names("c001", "web", "ConfigMap")


def test_diff_of_an_unchanged_fleet_exits_0(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    assert env.sync().exit_code == 0
    run = env.diff()
    assert run.exit_code == 0, run.stdout
    assert "diff: 0 of 2 applications differ on 2 clusters" in run.stdout
