"""APIService health: the Available condition."""

from __future__ import annotations

import pytest

from fleet import health
from tests import health_data

H = health.Health

CASES = [
    ("available", H.HEALTHY, "all checks passed"),
    ("unavailable", H.PROGRESSING, "MissingEndpoints"),
]


@pytest.mark.parametrize(("case", "expected", "message"), CASES, ids=[c[0] for c in CASES])
def test_apiservice_health_follows_its_status(case: str, expected: health.Health, message: str) -> None:
    result = health.check(health_data.load(f"apiservice/{case}"))
    assert result.status is expected
    assert message in result.message
