"""HorizontalPodAutoscaler health: failing metrics degrade, no conditions yet progress."""

from __future__ import annotations

import pytest

from fleet import health
from tests import health_data

H = health.Health

CASES = [
    ("scaling", H.HEALTHY, ""),
    ("no-metrics", H.DEGRADED, "unable to get metrics"),
    ("new", H.PROGRESSING, "Waiting to Autoscale"),
]


@pytest.mark.parametrize(("case", "expected", "message"), CASES, ids=[c[0] for c in CASES])
def test_hpa_health_follows_its_status(case: str, expected: health.Health, message: str) -> None:
    result = health.check(health_data.load(f"hpa/{case}"))
    assert result.status is expected
    assert message in result.message
