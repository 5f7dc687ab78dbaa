"""The driver as its callers use it: phases 1 to 5 (``driver.plan_run``) touch no cluster, a run
(``driver.run``) records nothing, and recording is the caller's after-run phase
(``driver.run_recorded``, then ``recording.notify_after``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet import driver, errors
from fleet.driver import recording
from tests.fixtures.sync import REPO_URL, FleetEnv


def request_for(env: FleetEnv) -> driver.RunRequest:
    return driver.RunRequest(
        fleet=str(env.root),
        clusters=tuple(env.sim.clusters()),
        repo_map={REPO_URL: str(env.root)},
        executor="local",
        state_dir=str(env.state_dir),
    )


def test_planning_a_run_plans_every_generated_application_and_touches_no_cluster(
    make_fleet, tmp_path: Path
) -> None:
    env = make_fleet("basic", clusters=2)
    run_plan = driver.plan_run(request_for(env), tmp=tmp_path / "work")
    assert sorted(run_plan.works) == [(name, f"web-{name}") for name in sorted(env.cluster_names)]
    assert not run_plan.driver_results and not run_plan.errors
    assert all(work.manifests for work in run_plan.works.values())
    assert all(counts["total"] == 0 for counts in env.sim.request_counts().values())


def test_a_run_is_recorded_by_its_caller_and_not_by_the_run_itself(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    request = request_for(env)
    db = recording.open_store(request)
    unrecorded = driver.run(request)
    assert unrecorded.ok
    with pytest.raises(errors.InputError, match="holds no status yet"):
        db.runs()
    recorded = driver.run_recorded(request, db=db)
    recording.notify_after(recorded, request, db=db)  # no --notify-*: nothing to send
    assert [run.run_id for run in db.runs()] == [recorded.run_id]
