"""Gates between rollout steps through the CLI against the simulator and the status store: a
manual gate holds the run at step 2 (nothing sent to later steps), `fleet rollout approve` lets
the next run continue from there, `fleet rollout abort` stops it; a soak time holds the next
step until it has passed on an injected clock, or is waited out within the run (--gate-wait).
The approval path runs on both store backends, SQLite and PostgreSQL."""

from __future__ import annotations

import json

from fleet import clocks
from fleet.results import StepState
from tests.change_control_helpers import WallClock


def rollout_cli(env, command: str, *extra: str):
    return env.run("rollout", command, str(env.root), *env.store_args(), *extra)


def states(run) -> list[StepState]:
    return [s.state for s in run.run_result.rollouts[0].steps]


def test_a_manual_gate_holds_until_approved_and_the_next_run_continues_from_there(
    make_fleet, store_url: str
) -> None:
    # Each store backend (SQLite and a real PostgreSQL server) keeps the rollout's position,
    # approvals and aborts between runs and between commands.
    env = make_fleet("rolling", store=store_url)
    first = env.sync("--step-approval")
    assert first.exit_code == 0, first.stderr
    assert states(first) == [StepState.COMPLETED, StepState.HELD, StepState.NOT_STARTED]
    assert "waits for approval" in first.run_result.rollouts[0].message
    assert env.sim.request_counts("c002")["total"] == 0 and env.sim.request_counts("c003")["total"] == 0
    status = rollout_cli(env, "status", "-o", "json")
    assert status.exit_code == 1
    (record,) = json.loads(status.stdout)
    assert (record["rollout"], record["held_at"], record["completed"]) == ("web", 2, [1])

    approved = rollout_cli(env, "approve")
    assert approved.exit_code == 0 and "step 2 approved" in approved.stdout
    second = env.sync("--step-approval")
    assert states(second) == [StepState.COMPLETED, StepState.COMPLETED, StepState.HELD]
    assert env.sim.request_counts("c002")["verbs"].get("apply", 0) > 0
    assert env.sim.request_counts("c003")["total"] == 0

    aborted = rollout_cli(env, "abort", "-m", "prod freeze")
    assert aborted.exit_code == 0
    assert rollout_cli(env, "approve", "--step", "3").exit_code == 0  # an approval does not lift an abort
    third = env.sync("--step-approval")
    assert third.run_result.rollouts[0].steps[0].state is StepState.HELD
    assert (
        "aborted" in third.run_result.rollouts[0].message
        and "prod freeze" in third.run_result.rollouts[0].message
    )
    assert env.sim.request_counts("c003")["total"] == 0


def test_approve_without_a_recorded_rollout_is_bad_input(make_fleet) -> None:
    env = make_fleet("rolling", clusters=1)
    found = rollout_cli(env, "approve")
    assert found.exit_code == 2 and "run `fleet sync`" in found.stderr


def test_a_soak_time_holds_the_next_step_until_it_has_passed(make_fleet) -> None:
    env = make_fleet("rolling")
    clock = WallClock()
    with clocks.installed(clock):
        first = env.sync("--step-soak", "10m")
        assert states(first) == [StepState.COMPLETED, StepState.HELD, StepState.NOT_STARTED]
        assert "soaking" in first.run_result.rollouts[0].message
        assert env.sim.request_counts("c002")["total"] == 0
        clock.advance(11 * 60)  # the soak of step 1 has passed; step 2's starts when it completes
        second = env.sync("--step-soak", "10m")
    assert states(second) == [StepState.COMPLETED, StepState.COMPLETED, StepState.HELD]
    assert env.sim.request_counts("c003")["total"] == 0


def test_a_run_waits_out_a_soak_time_within_gate_wait(make_fleet) -> None:
    env = make_fleet("rolling")
    clock = WallClock()
    with clocks.installed(clock):
        run = env.sync("--step-soak", "10m", "--gate-wait", "15m")
    assert run.exit_code == 0, run.stderr
    assert states(run) == [StepState.COMPLETED] * 3
    soaks = [s for s in clock.slept if s > 60]  # the worker's health polls sleep too, briefly
    assert len(soaks) == 2 and all(540 < s <= 600 for s in soaks)
