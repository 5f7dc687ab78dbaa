"""Job health: Complete, Failed, Suspended conditions; running otherwise."""

from __future__ import annotations

import pytest

from fleet import health
from tests import health_data

H = health.Health

CASES = [
    ("complete", H.HEALTHY, ""),
    ("failed", H.DEGRADED, "backoff limit"),
    ("running", H.PROGRESSING, ""),
    ("suspended", H.SUSPENDED, "Job suspended"),
]


@pytest.mark.parametrize(("case", "expected", "message"), CASES, ids=[c[0] for c in CASES])
def test_job_health_follows_its_status(case: str, expected: health.Health, message: str) -> None:
    result = health.check(health_data.load(f"job/{case}"))
    assert result.status is expected
    assert message in result.message
