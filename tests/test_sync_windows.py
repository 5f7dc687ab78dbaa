"""Sync windows through the CLI against the simulator, at times an injected clock sets: a deny
window holds a rollout at the step it blocks (later steps untouched, zero requests), what no
rollout orders is skipped with SyncWindowClosed, --ignore-windows passes only windows with
manualSync, `fleet windows` says what is blocked and when it opens, and a bad window is bad input."""

from __future__ import annotations

import json

import pytest

from fleet import clocks
from fleet.results import RolloutState, StepState
from fleet.status import Reason
from tests.change_control_helpers import clock_at, project
from tests.fixtures.sync import REPO_URL

# 22:00 to 06:00 in Berlin (UTC+2 in June): 20:00 to 04:00 UTC.
NIGHT = {
    "kind": "deny",
    "schedule": "0 22 * * *",
    "duration": "8h",
    "timeZone": "Europe/Berlin",
    "clusters": ["c002"],
}
AT_NIGHT = "2026-06-01T21:30:00Z"
AT_NOON = "2026-06-01T10:00:00Z"


def test_a_deny_window_holds_the_rollout_at_the_step_it_blocks_and_later_steps_get_no_request(
    make_fleet,
) -> None:
    env = make_fleet("rolling")
    env.write("project.yaml", project([NIGHT]))
    with clocks.installed(clock_at(AT_NIGHT)):
        run = env.sync()
    assert run.exit_code == 0, run.stderr  # held by a window is not a failure
    (found,) = run.run_result.rollouts
    assert [s.state for s in found.steps] == [StepState.COMPLETED, StepState.HELD, StepState.NOT_STARTED]
    assert found.stopped_at == 2 and "sync window" in found.message and "deny window" in found.message
    for cluster in ("c002", "c003"):
        assert env.sim.request_counts(cluster)["total"] == 0, cluster
    staging = run.app("c002", "web-c002")
    assert staging.reason is Reason.SYNC_WINDOW_CLOSED and staging.rollout.state is RolloutState.HELD
    prod = run.app("c003", "web-c003")
    assert prod.rollout.state is RolloutState.HELD and "step 2 is held" in prod.rollout.message
    # By day the window is closed: the next run goes through.
    with clocks.installed(clock_at(AT_NOON)):
        later = env.sync()
    assert later.exit_code == 0, later.stderr
    assert all(s.state is StepState.COMPLETED for s in later.run_result.rollouts[0].steps)
    assert env.sim.request_counts("c003")["verbs"].get("apply", 0) > 0


def test_an_application_outside_any_rollout_is_skipped_with_sync_window_closed(make_fleet) -> None:
    env = make_fleet("basic")
    env.write("project.yaml", project([NIGHT]))
    with clocks.installed(clock_at(AT_NIGHT)):
        run = env.sync()
    assert run.exit_code == 0, run.stderr
    blocked = run.app("c002", "web-c002")
    assert blocked.reason is Reason.SYNC_WINDOW_CLOSED and "deny window default[0]" in blocked.message
    assert env.sim.request_counts("c002")["total"] == 0
    assert run.app("c001", "web-c001").ok and run.app("c003", "web-c003").ok


@pytest.mark.parametrize(
    "manual_sync, synced",
    [
        pytest.param(False, False, id="without-manualSync-the-window-holds"),
        pytest.param(True, True, id="with-manualSync-it-passes"),
    ],
)
def test_ignore_windows_passes_only_windows_that_allow_manual_syncs(make_fleet, manual_sync, synced) -> None:
    env = make_fleet("basic", clusters=2)
    env.write("project.yaml", project([{**NIGHT, "manualSync": manual_sync}]))
    with clocks.installed(clock_at(AT_NIGHT)):
        run = env.sync("--ignore-windows")
    staging = run.app("c002", "web-c002")
    assert staging.ok is synced
    if not synced:
        assert staging.reason is Reason.SYNC_WINDOW_CLOSED and "manualSync: true" in staging.message


def windows_args(env) -> list[str]:
    return [str(env.root), "--clusters", str(env.clusters_file), "--repo-map", f"{REPO_URL}={env.root}"]


def test_allow_windows_block_outside_them_and_fleet_windows_says_when_it_opens(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    allow = {"kind": "allow", "schedule": "0 9 * * 1-5", "duration": "2h", "applications": ["web-*"]}
    env.write("project.yaml", project([allow, NIGHT]))
    with clocks.installed(clock_at(AT_NIGHT)):  # a Monday evening: no allow window is active
        listed = env.run("windows", *windows_args(env), "-o", "json")
    assert listed.exit_code == 1, listed.stderr
    doc = json.loads(listed.stdout)
    assert [(w["kind"], w["active"]) for w in doc["windows"]] == [("allow", False), ("deny", True)]
    opens = {b["cluster"]: b["opens"] for b in doc["blocked"]}
    # c001: the next weekday 09:00 UTC; c002: the deny window ends at 04:00 UTC, but no allow
    # window is active before 09:00.
    assert opens == {"c001": "2026-06-02T09:00:00Z", "c002": "2026-06-02T09:00:00Z"}
    with clocks.installed(clock_at("2026-06-02T09:30:00Z")):
        table = env.run("windows", *windows_args(env))
    assert table.exit_code == 0 and "nothing is blocked now" in table.stdout


@pytest.mark.parametrize(
    "window, field",
    [
        pytest.param({**NIGHT, "schedule": "every night"}, "spec.syncWindows[0].schedule", id="schedule"),
        pytest.param({**NIGHT, "duration": "8 hours"}, "spec.syncWindows[0].duration", id="duration"),
        pytest.param({**NIGHT, "timeZone": "Mars/Olympus"}, "spec.syncWindows[0].timeZone", id="time-zone"),
        pytest.param({**NIGHT, "kind": "maybe"}, "spec.syncWindows[0].kind", id="kind"),
    ],
)
def test_a_bad_window_is_bad_input_naming_file_project_and_field_and_nothing_is_touched(
    make_fleet, window, field
) -> None:
    env = make_fleet("basic", clusters=1)
    env.write("project.yaml", project([window]))
    run = env.sync()
    assert run.exit_code == 2
    assert "project.yaml" in run.stderr and "AppProject default" in run.stderr and field in run.stderr
    assert env.sim.request_counts("c001")["total"] == 0
