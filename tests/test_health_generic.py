"""Generic health for custom resources: conditions, kstatus conventions, phase; no status is healthy."""

from __future__ import annotations

import pytest

from fleet import health
from tests import health_data

H = health.Health

CASES = [
    ("configmap-no-status", H.HEALTHY, ""),
    ("cr-ready-true", H.HEALTHY, "all good"),
    ("cr-ready-false", H.DEGRADED, "InvalidConfig: spec.size must be positive"),
    ("cr-ready-false-progressing", H.PROGRESSING, "creating instances"),
    ("cr-generation-not-observed", H.PROGRESSING, "observe the latest spec"),
    ("cr-available-unknown", H.PROGRESSING, ""),
    ("cr-stalled", H.DEGRADED, "QuotaExceeded"),
    ("cr-phase-failed", H.DEGRADED, "could not start"),
    ("cr-phase-running", H.HEALTHY, ""),
    ("cr-phase-pending", H.PROGRESSING, ""),
]


@pytest.mark.parametrize(("case", "expected", "message"), CASES, ids=[c[0] for c in CASES])
def test_generic_health_follows_its_status(case: str, expected: health.Health, message: str) -> None:
    result = health.check(health_data.load(f"generic/{case}"))
    assert result.status is expected
    assert message in result.message
