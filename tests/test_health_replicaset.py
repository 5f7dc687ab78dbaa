"""ReplicaSet health: ReplicaFailure degrades, missing replicas progress."""

from __future__ import annotations

import pytest

from fleet import health
from tests import health_data

H = health.Health

CASES = [
    ("healthy", H.HEALTHY, ""),
    ("replica-failure", H.DEGRADED, "exceeded quota"),
    ("scaling", H.PROGRESSING, "1 out of 3 new replicas are available"),
]


@pytest.mark.parametrize(("case", "expected", "message"), CASES, ids=[c[0] for c in CASES])
def test_replicaset_health_follows_its_status(case: str, expected: health.Health, message: str) -> None:
    result = health.check(health_data.load(f"replicaset/{case}"))
    assert result.status is expected
    assert message in result.message
