"""A bad change rolled out in steps stops where it fails: a bad image in the dev step leaves
staging and prod untouched (the simulator counts no request at all for them), the run exits 1,
and the result, the table and the status store say where the rollout stopped and why."""

from __future__ import annotations

import json

import pytest

from fleet.results import RolloutState, StepState
from fleet.status import Reason

ENVS = {"c001": "dev", "c002": "staging", "c003": "prod"}


def break_image(env) -> None:
    text = (env.root / "apps/web/deployment.yaml").read_text()
    text = text.replace("image: nginx:1.27", "image: nginx:bad").replace(
        "replicas: 2", "replicas: 2\n  progressDeadlineSeconds: 1"
    )
    (env.root / "apps/web/deployment.yaml").write_text(text)


CASES = [
    pytest.param("rolling", (), id="applicationset-rolling-sync"),
    pytest.param(
        "basic", ("--rollout", "env=dev", "--rollout", "env=staging", "--rollout", "env=prod"), id="cli"
    ),
]


@pytest.mark.parametrize("fleet, flags", CASES)
def test_a_bad_image_in_the_dev_step_leaves_staging_and_prod_untouched(make_fleet, fleet, flags) -> None:
    env = make_fleet(fleet)
    assert env.sync(*flags).exit_code == 0
    env.sim.reset_counts()
    break_image(env)
    run = env.sync(*flags, "--health-timeout", "20")
    assert run.exit_code == 1
    counts = env.sim.request_counts()
    assert counts["c001"]["verbs"].get("apply", 0) > 0  # the dev step ran
    for cluster in ("c002", "c003"):
        assert counts[cluster]["total"] == 0, counts[cluster]  # not even a LIST
        image = env.sim.get_object(cluster, "apps/v1", "Deployment", "web", "web")["spec"]["template"]["spec"]
        assert image["containers"][0]["image"] == "nginx:1.27"
    (found,) = run.run_result.rollouts
    assert found.stopped_at == 1
    assert [s.state for s in found.steps] == [StepState.FAILED, StepState.NOT_STARTED, StepState.NOT_STARTED]
    assert "c001/web-c001" in found.message and "HealthCheckFailed" in found.message
    dev = run.app("c001", "web-c001")
    assert dev.rollout.state is RolloutState.FAILED and dev.reason is Reason.HEALTH_CHECK_FAILED
    for cluster, step in (("c002", 2), ("c003", 3)):
        waiting = run.app(cluster, f"web-{cluster}")
        assert (waiting.rollout.state, waiting.rollout.step, waiting.reason) == (
            RolloutState.WAITING,
            step,
            Reason.ROLLOUT_WAITING,
        )
        assert waiting.message == f"step {step} did not start: step 1 failed"


def test_the_table_says_where_the_rollout_stopped_and_status_keeps_the_last_known_state(make_fleet) -> None:
    env = make_fleet("rolling")
    assert env.sync().exit_code == 0
    break_image(env)
    run = env.sync("--health-timeout", "20", output="table")
    assert run.exit_code == 1
    assert "rollout web: STOPPED at step 1/3 (0 completed)" in run.stdout
    assert "RolloutWaiting" in run.stdout and "sync NOT OK" in run.stdout
    # Staging and prod were not looked at: `fleet status` still shows what the first run found.
    status = env.run("status", "--state-dir", str(env.state_dir), "-o", "json")
    states = {a["cluster"]: a for a in json.loads(status.stdout)["applications"]}
    assert states["c001"]["health"] == "Degraded"
    assert (states["c003"]["sync_status"], states["c003"]["health"]) == ("Synced", "Healthy")


def test_a_render_failure_in_the_first_step_stops_the_rollout_before_any_write(
    make_fleet,
) -> None:
    env = make_fleet("rolling")
    env.write("apps/web/broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n")
    run = env.sync()
    assert run.exit_code == 1
    (found,) = run.run_result.rollouts
    assert found.stopped_at == 1 and "RenderFailed" in found.message
    # The dev cluster is only read (removed Applications are looked for there); nothing is written.
    assert set(env.sim.request_counts("c001")["verbs"]) <= {"list", "discovery"}
    assert env.sim.request_counts("c002")["total"] == 0 and env.sim.request_counts("c003")["total"] == 0
