"""Progressive rollouts through the CLI on the simulator: an ApplicationSet's RollingSync steps
and `fleet sync --rollout` cluster selectors run dev, then staging, then prod, each step only once
the one before is Synced and Healthy; the result, the table and the report show the steps."""

from __future__ import annotations

import datetime as dt

import pytest

from fleet import report, results, store
from fleet.results import RolloutState, StepState

# A second per pod start: each step's Deployment needs that long to become healthy, so a later
# step's objects are created in a later second than the earlier step's (creationTimestamp).
SLOW_ROLLOUT = 1.0
CLOCK_SKEW = 0.1  # seconds; well under SLOW_ROLLOUT
ENVS = {"c001": "dev", "c002": "staging", "c003": "prod"}


def when(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def created(env, cluster: str) -> dt.datetime:
    obj = env.sim.get_object(cluster, "apps/v1", "Deployment", "web", "web")
    return dt.datetime.strptime(obj["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")


CASES = [
    pytest.param("rolling", (), "web", id="applicationset-rolling-sync"),
    pytest.param(
        "basic",
        ("--rollout", "env=dev", "--rollout", "env=staging", "--rollout", "env=prod"),
        "--rollout",
        id="cli-rollout",
    ),
]


@pytest.mark.parametrize("fleet, flags, name", CASES)
def test_steps_run_in_order_each_after_the_one_before_is_healthy(make_fleet, fleet, flags, name) -> None:
    env = make_fleet(fleet, rollout_seconds=SLOW_ROLLOUT)
    run = env.sync(*flags)
    assert run.exit_code == 0, run.stdout + run.stderr
    (found,) = run.run_result.rollouts
    assert found.name == name and found.stopped_at == 0
    assert [(s.step, s.state, s.clusters) for s in found.steps] == [
        (1, StepState.COMPLETED, ("c001",)),
        (2, StepState.COMPLETED, ("c002",)),
        (3, StepState.COMPLETED, ("c003",)),
    ]
    for earlier, later in zip(found.steps, found.steps[1:], strict=False):
        assert when(later.started_at) >= when(earlier.finished_at)
    apps = {c: run.app(c, f"web-{c}") for c in ENVS}
    assert [apps[c].rollout.step for c in ("c001", "c002", "c003")] == [1, 2, 3]
    assert {a.rollout.state for a in apps.values()} == {RolloutState.HEALTHY}
    # What the clusters saw: each step's objects were created after the step before became healthy.
    for earlier, later in (("c001", "c002"), ("c002", "c003")):
        assert created(env, later) > created(env, earlier)
        # started_at is wall-clock time and seconds a monotonic duration: on a loaded machine the two
        # clocks disagree by some milliseconds, far less than a step's rollout (SLOW_ROLLOUT), which
        # is what a step started too early would be off by.
        finished = when(apps[earlier].started_at) + dt.timedelta(seconds=apps[earlier].seconds)
        assert when(apps[later].started_at) >= finished - dt.timedelta(seconds=CLOCK_SKEW)


def test_the_table_and_the_report_show_the_steps(make_fleet) -> None:
    env = make_fleet("rolling")
    run = env.sync(output="table")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "ROLLOUT" in run.stdout and "env in (staging)" in run.stdout
    assert "rollout web: 3/3 steps completed" in run.stdout
    latest = store.Store(env.state_dir).latest_run()
    markdown = report.render(latest, [latest], fmt="markdown")
    assert "## Rollouts" in markdown and "| 2 | `env in (staging)` |" in markdown
    assert "| c003 | web-c003 | 3 | 1 | Healthy |" in markdown
    metrics = report.render(latest, [latest], fmt="metrics")
    assert 'fleet_rollout_step{rollout="web",state="Completed",step="3"} 1.0' in metrics


def test_a_dry_run_plans_the_steps_and_changes_nothing(make_fleet) -> None:
    env = make_fleet("rolling")
    run = env.sync("--dry-run")
    (found,) = run.run_result.rollouts
    assert {s.state for s in found.steps} == {StepState.PLANNED}
    assert {a.rollout.state for a in run.run_result.apps()} == {RolloutState.PLANNED}
    assert all(env.names(c, "web", "Deployment") == [] for c in ENVS)


def test_an_application_selected_by_no_step_is_skipped_and_app_syncs_it(make_fleet) -> None:
    env = make_fleet("basic", labels={**{c: {"env": e} for c, e in ENVS.items()}, "c003": {"env": "test"}})
    run = env.sync("--rollout", "env=dev", "--rollout", "env=staging")
    assert run.exit_code == 0, run.stderr  # skipped on purpose is not a failure
    skipped = run.app("c003", "web-c003")
    assert skipped.skipped and skipped.rollout.state is RolloutState.SKIPPED
    assert "--app" in skipped.message and skipped.reason.value == "NotInRollout"
    assert env.sim.request_counts("c003")["total"] == 0
    assert run.run_result.summary()["rollout_skipped"] == 1
    table = env.sync("--rollout", "env=dev", "--rollout", "env=staging", output="table")
    assert "1 Applications selected by no step were not synced" in table.stdout
    named = env.sync("--rollout", "env=dev", "--app", "web-c003")
    assert named.exit_code == 0
    assert named.app("c003", "web-c003").ok
    assert env.names("c003", "web", "Deployment") == ["web"]


def test_an_unsupported_operator_is_an_invalid_rollout_config_and_nothing_syncs(make_fleet) -> None:
    env = make_fleet("rolling")
    text = (
        (env.root / "appset.yaml")
        .read_text()
        .replace("operator: In\n              values: [prod]", "operator: Exists")
    )
    (env.root / "appset.yaml").write_text(text)
    run = env.sync()
    assert run.exit_code == 1
    (error,) = run.run_result.errors
    assert "InvalidRolloutConfig" in error and "steps[2].matchExpressions[0].operator" in error
    assert all(a.reason.value == "InvalidRolloutConfig" for a in run.run_result.apps())
    assert sum(env.sim.request_counts(c)["total"] for c in ENVS) == 0


def test_rollout_results_survive_the_status_store(make_fleet) -> None:
    env = make_fleet("rolling", clusters=3)
    assert env.sync().exit_code == 0
    (found,) = store.Store(env.state_dir).latest_run().rollouts
    assert isinstance(found, results.RolloutResult) and found.completed
