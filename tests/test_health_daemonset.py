"""DaemonSet health: generation, updated and available pods, OnDelete."""

from __future__ import annotations

import pytest

from fleet import health
from tests import health_data

H = health.Health

CASES = [
    ("healthy", H.HEALTHY, ""),
    ("updating", H.PROGRESSING, "1 out of 3 new pods have been updated"),
    ("unavailable", H.PROGRESSING, "2 of 3 updated pods are available"),
    ("on-delete", H.HEALTHY, "1 out of 3"),
    ("not-observed", H.PROGRESSING, "observed daemon set generation"),
]


@pytest.mark.parametrize(("case", "expected", "message"), CASES, ids=[c[0] for c in CASES])
def test_daemonset_health_follows_its_status(case: str, expected: health.Health, message: str) -> None:
    result = health.check(health_data.load(f"daemonset/{case}"))
    assert result.status is expected
    assert message in result.message
