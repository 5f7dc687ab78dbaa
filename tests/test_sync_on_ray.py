"""`fleet sync --executor ray` (the default) starts Ray locally (ray.init embedded), runs every
cluster on a few long-lived worker processes, and gives the same results as the local executor."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.slow


def test_sync_on_local_ray_runs_clusters_in_worker_processes(make_fleet) -> None:
    env = make_fleet("basic", clusters=4)
    run = env.sync(executor="ray")
    assert run.exit_code == 0, run.stderr
    result = run.run_result
    assert result.executor == "ray" and result.ok
    pids = {int(c.worker.rsplit(":", 1)[1]) for c in result.clusters}
    assert os.getpid() not in pids
    assert 1 <= len(pids) <= os.cpu_count()  # few long-lived workers, many clusters each
    for cluster in env.cluster_names:
        assert env.names(cluster, "web", "Deployment") == ["web"]

    env.sim.reset_counts()
    again = env.sync(executor="ray")
    assert again.exit_code == 0, again.stderr
    for cluster, counts in env.sim.request_counts().items():
        assert set(counts["verbs"]) <= {"list", "discovery"}, (cluster, counts)
