"""A Ray worker process killed in the middle of a sync loses only the clusters it was running:
they are reported as WorkerLost while every other cluster finishes and syncs."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from fleet.status import Reason

pytestmark = pytest.mark.slow


def descendants(root: int) -> list[int]:
    """Process ids below ``root`` (Ray's raylet and its workers are children of this process)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def ray_actor_processes() -> list[int]:
    actors = []
    for pid in descendants(os.getpid()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(b"ray::_WorkerImpl"):
            actors.append(pid)
    return sorted(actors)


def wait_for(check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_a_killed_worker_loses_only_its_clusters(make_fleet) -> None:
    env = make_fleet("basic", clusters=4)
    for cluster in env.cluster_names:
        env.sim.set_fault(cluster, latency=0.3)  # each cluster's sync takes seconds: time to kill mid-run
    outcome: dict = {}
    worker = threading.Thread(target=lambda: outcome.update(run=env.sync(executor="ray")), daemon=True)
    worker.start()
    wait_for(lambda: all(env.sim.request_counts(c)["total"] > 0 for c in env.cluster_names), timeout=90)
    actors = ray_actor_processes()
    assert len(actors) >= 2, actors
    os.kill(actors[0], signal.SIGKILL)
    worker.join(timeout=180)
    assert not worker.is_alive()
    run = outcome["run"]
    assert run.exit_code == 1 and run.run_result is not None, (run.stdout[-2000:], run.stderr[-3000:])
    clusters = run.run_result.clusters
    lost = [c for c in clusters if c.reason is Reason.WORKER_LOST]
    finished = [c for c in clusters if c.reason is None]
    assert 1 <= len(lost) < len(clusters)
    assert len(lost) + len(finished) == len(clusters)
    assert all(c.ok for c in finished)
    assert all("worker process died" in c.message for c in lost)
    for cluster in finished:
        assert env.names(cluster.cluster, "web", "Deployment") == ["web"]
