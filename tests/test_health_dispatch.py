"""The health dispatcher: order of statuses, aggregation, Missing, fall-backs and failures."""

from __future__ import annotations

import pytest

from fleet import health
from fleet.health import custom
from tests import health_data

H = health.Health

WORSE_CASES = [
    (H.HEALTHY, H.SUSPENDED, True),
    (H.SUSPENDED, H.PROGRESSING, True),
    (H.PROGRESSING, H.MISSING, True),
    (H.MISSING, H.DEGRADED, True),
    (H.DEGRADED, H.UNKNOWN, True),
    (H.DEGRADED, H.HEALTHY, False),
    (H.PROGRESSING, H.PROGRESSING, False),
]


@pytest.mark.parametrize(("current", "new", "worse"), WORSE_CASES, ids=lambda v: str(v))
def test_is_worse_follows_the_fixed_best_to_worst_order(current: H, new: H, worse: bool) -> None:
    assert health.is_worse(current, new) is worse


def test_a_missing_object_is_missing() -> None:
    assert health.check(None).status is H.MISSING


def test_aggregate_is_the_worst_status() -> None:
    statuses = [
        health.check(health_data.load(c)) for c in ("deployment/healthy", "pod/crash-loop", "job/running")
    ]
    assert health.aggregate(statuses) is H.DEGRADED
    assert health.aggregate([]) is H.HEALTHY


def test_a_suspended_job_does_not_make_the_application_suspended() -> None:
    job = health.check(health_data.load("job/suspended"))
    assert job.status is H.SUSPENDED
    assert health.aggregate([job, health.check(health_data.load("deployment/healthy"))]) is H.HEALTHY


def test_dispatcher_is_keyed_by_group_and_kind() -> None:
    assert health.HEALTH_CHECKS[("apps", "Deployment")] is health.lookup("apps", "Deployment")
    # A Deployment-looking object in another group is a custom resource: generic rules apply.
    from fleet.health import generic

    assert health.lookup("example.com", "Deployment") is generic.check


def test_a_check_that_raises_gives_unknown_instead_of_an_exception() -> None:
    def broken(obj: object) -> health.HealthStatus:
        raise RuntimeError("boom")

    custom.register("example.com", "Broken", broken)
    try:
        result = health.check({"apiVersion": "example.com/v1", "kind": "Broken", "metadata": {"name": "b"}})
    finally:
        custom.unregister("example.com", "Broken")
    assert result.status is H.UNKNOWN
    assert "boom" in result.message
