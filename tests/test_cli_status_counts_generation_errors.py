"""`fleet status` reports the generation errors of the last run and exits 1 while there are any,
as that run did (issue 8, item 11: it said "0 need attention" and exited 0)."""

from __future__ import annotations

import json


def test_status_exits_1_and_lists_the_last_runs_generation_errors(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    env.write(
        "broken.yaml",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "lost"},
            "spec": {
                "project": "default",
                "destination": {"name": "nowhere", "namespace": "lost"},
                "source": {"repoURL": "https://git.example.com/fleet.git", "path": "apps/web"},
            },
        },
    )
    run = env.sync()
    assert run.exit_code == 1 and run.run_result.errors
    status = env.run("status", "--state-dir", str(env.state_dir))
    assert status.exit_code == 1
    assert "generation error at the last run" in status.stdout and "nowhere" in status.stdout
    assert (
        "0 need attention; 0 clusters failed at their last run; 1 generation errors at the last run"
        in status.stdout
    )
    doc = json.loads(env.run("status", "--state-dir", str(env.state_dir), "-o", "json").stdout)
    assert len(doc["generation_errors"]) == 1 and doc["last_run"] == run.run_result.run_id
    env.remove("broken.yaml")  # fixed: the next run has none, and status is green again
    assert env.sync().exit_code == 0
    assert env.run("status", "--state-dir", str(env.state_dir)).exit_code == 0
