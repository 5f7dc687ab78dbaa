"""The simulated CronJob controller runs Jobs on schedule, on a clock tests move forward."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

from fleet.clusters.sim import SimServer


def cronjob(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "schedule": "*/5 * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}
                    }
                }
            },
            **spec,
        },
    }


def jobs(sim: SimServer, prefix: str) -> list[dict[str, Any]]:
    return [
        j
        for j in sim.objects("c001", kind="Job", namespace="default")
        if j["metadata"]["name"].startswith(prefix)
    ]


def settle(sim: SimServer) -> None:
    for _ in range(3):
        assert sim.wait_idle(timeout=10)
        time.sleep(0.05)


def test_a_cronjob_creates_one_job_per_scheduled_time_and_keeps_its_history(sim: SimServer) -> None:
    sim.apply_object("c001", cronjob("tick"))
    settle(sim)
    assert jobs(sim, "tick-") == []
    for _ in range(5):
        sim.advance_clock(300)
        settle(sim)
    names = sorted(j["metadata"]["name"] for j in jobs(sim, "tick-"))
    assert len(names) == 3  # successfulJobsHistoryLimit
    minutes = [int(n.rsplit("-", 1)[1]) for n in names]
    assert all(b - a == 5 for a, b in itertools.pairwise(minutes))
    status = sim.get_object("c001", "batch/v1", "CronJob", "default", "tick")["status"]
    assert int(status["lastScheduleTime"][14:16]) % 5 == 0 and status["lastSuccessfulTime"]
    job = jobs(sim, "tick-")[0]
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert "batch.kubernetes.io/cronjob-scheduled-timestamp" in job["metadata"]["annotations"]
    reasons = {
        e["reason"]
        for e in sim.objects("c001", kind="Event", namespace="default")
        if e["involvedObject"]["name"] == "tick"
    }
    assert {"SuccessfulCreate", "SawCompletedJob", "SuccessfulDelete"} <= reasons


def test_a_suspended_cronjob_creates_nothing(sim: SimServer) -> None:
    sim.apply_object("c001", cronjob("paused", suspend=True))
    sim.advance_clock(900)
    settle(sim)
    assert jobs(sim, "paused-") == []


@pytest.mark.parametrize(
    "policy, running_after",
    [("Forbid", 1), ("Replace", 1), ("Allow", 2)],
    ids=["Forbid skips while a job runs", "Replace replaces the running job", "Allow runs both"],
)
def test_concurrency_policy_decides_what_happens_to_a_running_job(
    sim: SimServer, policy: str, running_after: int
) -> None:
    name = f"slow-{policy.lower()}"
    spec = cronjob(name, concurrencyPolicy=policy)
    # The pods of these Jobs take an hour to finish.
    spec["spec"]["jobTemplate"]["spec"]["template"]["metadata"] = {
        "annotations": {"sim.fleet.dev/ready-seconds": "3600"}
    }
    sim.apply_object("c001", spec)
    sim.advance_clock(300)
    first = {j["metadata"]["name"] for j in wait_jobs(sim, name, lambda found: len(found) == 1)}
    sim.advance_clock(300)

    def running(found: list[dict[str, Any]]) -> bool:
        names = {j["metadata"]["name"] for j in found}
        return len(names) == running_after and (policy != "Replace" or names.isdisjoint(first))

    if policy == "Forbid":
        # Nothing new may appear: wait for the controller's say-so (its event), then look.
        wait_events(sim, name, "JobAlreadyActive")
    assert running(wait_jobs(sim, name, running))


def wait_jobs(sim: SimServer, prefix: str, check: Any, timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = [j for j in jobs(sim, prefix) if not j["metadata"].get("deletionTimestamp")]
        if check(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def wait_events(sim: SimServer, name: str, reason: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(
            e["reason"] == reason and e["involvedObject"]["name"] == name
            for e in sim.objects("c001", kind="Event", namespace="default")
        ):
            return
        time.sleep(0.02)
    raise AssertionError(f"no {reason} event for {name}")


def test_an_invalid_schedule_is_refused_naming_the_field(sim: SimServer) -> None:
    from fleet.clusters.sim import status

    with pytest.raises(status.ApiError) as caught:
        sim.apply_object("c001", cronjob("broken", schedule="61 * * * *"))
    assert caught.value.code == 422 and "spec.schedule" in caught.value.message
