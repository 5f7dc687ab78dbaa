"""maxUpdate (RollingSync) and --max-update (--rollout) batch a step: each batch Synced and Healthy
before the next starts, and a failing batch stops the rest of its step (its clusters untouched)."""

from __future__ import annotations

import datetime as dt

import yaml

from fleet.results import RolloutState, StepState

PROD = {f"c00{i}": {"env": "prod"} for i in range(1, 5)}


def when(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def set_max_update(env, value) -> None:
    doc = yaml.safe_load((env.root / "appset.yaml").read_text())
    for step in doc["spec"]["strategy"]["rollingSync"]["steps"]:
        step["maxUpdate"] = value
    env.write("appset.yaml", doc)


def test_rolling_sync_max_update_syncs_a_step_in_batches(make_fleet) -> None:
    env = make_fleet("rolling", clusters=4, labels=PROD)
    set_max_update(env, "50%")
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    (found,) = run.run_result.rollouts
    prod = found.steps[2]
    assert (prod.applications, prod.batches, prod.max_update, prod.state) == (
        4,
        2,
        "50%",
        StepState.COMPLETED,
    )
    apps = sorted(run.run_result.apps(), key=lambda a: a.rollout.batch)
    assert [a.rollout.batch for a in apps] == [1, 1, 2, 2]
    first_done = max(when(a.started_at) + dt.timedelta(seconds=a.seconds) for a in apps[:2])
    assert min(when(a.started_at) for a in apps[2:]) >= first_done


def test_a_failing_batch_leaves_the_next_batch_of_clusters_untouched(make_fleet) -> None:
    env = make_fleet("basic", clusters=4, labels=PROD)
    text = (env.root / "apps/web/deployment.yaml").read_text()
    text = text.replace("image: nginx:1.27", "image: nginx:bad").replace(
        "replicas: 2", "replicas: 2\n  progressDeadlineSeconds: 1"
    )
    (env.root / "apps/web/deployment.yaml").write_text(text)
    run = env.sync("--rollout", "env=prod", "--max-unavailable", "1", "--health-timeout", "20")
    assert run.exit_code == 1
    (found,) = run.run_result.rollouts
    assert found.steps[0].batches == 4 and found.steps[0].state is StepState.FAILED
    assert "batch 1/4" in found.message
    assert run.app("c001", "web-c001").rollout.state is RolloutState.FAILED
    for cluster in ("c002", "c003", "c004"):
        app = run.app(cluster, f"web-{cluster}")
        assert app.rollout.state is RolloutState.WAITING and app.rollout.batch > 1
        assert env.sim.request_counts(cluster)["total"] == 0


def test_max_update_zero_pauses_the_rollout_and_touches_nothing_of_that_step(make_fleet) -> None:
    env = make_fleet("rolling", clusters=3)
    doc = yaml.safe_load((env.root / "appset.yaml").read_text())
    doc["spec"]["strategy"]["rollingSync"]["steps"][1]["maxUpdate"] = 0
    env.write("appset.yaml", doc)
    run = env.sync()
    assert run.exit_code == 1
    (found,) = run.run_result.rollouts
    assert [s.state for s in found.steps] == [StepState.COMPLETED, StepState.PAUSED, StepState.NOT_STARTED]
    assert "maxUpdate is 0" in found.message
    assert env.sim.request_counts("c002")["total"] == 0 and env.sim.request_counts("c003")["total"] == 0
