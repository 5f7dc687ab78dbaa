"""Deployment health: paused, observed generation, progress deadline, rollout counters."""

from __future__ import annotations

import pytest

from fleet import health
from tests import health_data

H = health.Health

CASES = [
    ("healthy", H.HEALTHY, ""),
    ("paused", H.SUSPENDED, "paused"),
    ("generation-not-observed", H.PROGRESSING, "observed deployment generation"),
    ("progress-deadline-exceeded", H.DEGRADED, "exceeded its progress deadline"),
    ("updating-replicas", H.PROGRESSING, "1 out of 3 new replicas"),
    ("old-replicas-terminating", H.PROGRESSING, "1 old replicas are pending termination"),
    ("waiting-available", H.PROGRESSING, "1 of 2 updated replicas are available"),
    ("being-deleted", H.PROGRESSING, "Pending deletion"),
]


@pytest.mark.parametrize(("case", "expected", "message"), CASES, ids=[c[0] for c in CASES])
def test_deployment_health_follows_its_status(case: str, expected: health.Health, message: str) -> None:
    result = health.check(health_data.load(f"deployment/{case}"))
    assert result.status is expected
    assert message in result.message
