"""`fleet sync` as a Ray Job (issue 12): `ray job submit -- fleet sync ...` on a Ray head with the
job server (tests/fixtures/ray_cluster.py ``ray_job_cluster``). The job's driver runs on the head,
joins the cluster through the ``RAY_ADDRESS`` Ray gives it (no ``--ray-address``), reconciles
``fleet sim`` clusters named by absolute paths on this machine, and its JSON log lines are the
job's logs. The test waits on the job's state through the Jobs API (the log stream ends when the
job does), never for a fixed time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from fleet import store

# A Ray head with the dashboard (a dozen Python processes) and a driver of its own: on a loaded
# machine that takes longer than the suite's default 300 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

RAY = Path(sys.executable).parent / "ray"
JOB_TIMEOUT = 600.0  # seconds the job may take on a loaded machine (a driver and a worker to start)


def log_lines(text: str) -> list[dict[str, Any]]:
    """The lines of the job's log that are JSON objects (fleet's log lines, and -o json's result
    when it fits one line)."""
    found = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


# Waits for the job at argv[1] (submission id argv[2]) through Ray's Jobs API: follows its log
# stream, which the job server closes when the job has ended, then prints its status, message and
# logs as JSON. In a process of its own: Ray reads the token of its HTTP authentication once per
# process, and this one is the cluster's (``RayCluster.env``).
_WAIT_FOR_JOB = """
import asyncio, json, sys
from ray.job_submission import JobSubmissionClient
client = JobSubmissionClient(sys.argv[1])
async def follow():
    async for _ in client.tail_job_logs(sys.argv[2]):
        pass
asyncio.run(follow())
info = client.get_job_info(sys.argv[2])
print(json.dumps({"status": str(info.status.value), "message": info.message or "",
                  "logs": client.get_job_logs(sys.argv[2])}))
"""


def test_fleet_sync_submitted_as_a_ray_job_applies_the_fleet_and_logs_json_lines(
    make_fleet, ray_job_cluster, tmp_path
) -> None:
    env = make_fleet("basic", clusters=2)
    cluster = ray_job_cluster
    submission = f"fleet-sync-{uuid.uuid4().hex[:8]}"
    runtime_env = {"env_vars": {"FLEET_CACHE_DIR": str(tmp_path / "job-cache")}}
    # The command the README documents, with this machine's absolute paths: the job's driver runs on
    # the head, where `fleet` is on the PATH (as in fleet's image) and RAY_ADDRESS names the cluster.
    submitted = subprocess.run(
        [
            str(RAY), "job", "submit", "--address", cluster.dashboard_url, "--submission-id", submission,
            "--no-wait", "--runtime-env-json", json.dumps(runtime_env), "--",
            "fleet", "--log-format", "json", "-v", "sync", *env.args(executor="ray"),
            "--ray-runtime-env", "none",
        ],
        env=cluster.env(), capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stdout[-2000:] + submitted.stderr[-2000:]

    waited = subprocess.run(
        [sys.executable, "-c", _WAIT_FOR_JOB, cluster.dashboard_url, submission],
        env=cluster.env(), capture_output=True, text=True, check=False, timeout=JOB_TIMEOUT,
    )  # fmt: skip
    assert waited.returncode == 0, waited.stderr[-3000:]
    job = json.loads(waited.stdout.splitlines()[-1])
    logs = job["logs"]
    assert job["status"] == "SUCCEEDED", f"{job['status']}: {job['message']}\n{logs[-4000:]}"

    # Applied in the simulator.
    for name in env.cluster_names:
        assert env.names(name, "web", "Deployment") == ["web"], name

    # The job's logs carry fleet's JSON log lines: the run, and each cluster dispatched to a worker
    # on the head, the one node of the cluster the driver joined (not a Ray private to the run).
    lines = log_lines(logs)
    head = cluster.nodes["head"].node_id
    dispatched = {line["unit"]: line["ray_node"] for line in lines if line.get("msg") == "unit dispatched"}
    assert dispatched == dict.fromkeys(env.cluster_names, head), logs[-4000:]
    (finished,) = [line for line in lines if line.get("msg") == "sync finished"]
    assert finished["ok"] is True and finished["clusters"] == 2 and finished["synced"] == 2, finished
    # Ray's own notices (its token-authentication warning) do not break the driver's JSON lines.
    assert "Token authentication" not in logs

    # The run's result, recorded by the job's driver in the store it was told of, names the node.
    (run,) = store.open(state_dir=env.state_dir).runs()
    assert {c.cluster: c.ray_node for c in run.clusters} == dict.fromkeys(env.cluster_names, head)
    assert all(c.ok for c in run.clusters)
    assert not os.environ.get("RAY_ADDRESS")  # the test process itself never joined
