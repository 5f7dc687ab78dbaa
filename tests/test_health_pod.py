"""Pod health: phases, readiness, bad waiting reasons only for restartPolicy Always."""

from __future__ import annotations

import pytest

from fleet import health
from tests import health_data

H = health.Health

CASES = [
    ("running-ready", H.HEALTHY, ""),
    ("image-pull-backoff", H.DEGRADED, "Back-off pulling image"),
    ("crash-loop", H.DEGRADED, "back-off 5m0s"),
    ("hook-pod-image-pull-backoff", H.PROGRESSING, ""),
    ("succeeded", H.HEALTHY, ""),
    ("failed-exit-code", H.DEGRADED, "failed with exit code 3"),
    ("running-never-restart", H.PROGRESSING, ""),
    ("running-not-ready-restarted", H.DEGRADED, ""),
]


@pytest.mark.parametrize(("case", "expected", "message"), CASES, ids=[c[0] for c in CASES])
def test_pod_health_follows_its_status(case: str, expected: health.Health, message: str) -> None:
    result = health.check(health_data.load(f"pod/{case}"))
    assert result.status is expected
    assert message in result.message
