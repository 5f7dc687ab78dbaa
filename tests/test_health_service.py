"""Service health: only a LoadBalancer without an address is not healthy."""

from __future__ import annotations

import pytest

from fleet import health
from tests import health_data

H = health.Health

CASES = [
    ("cluster-ip", H.HEALTHY, ""),
    ("load-balancer-pending", H.PROGRESSING, "load balancer"),
    ("load-balancer-ready", H.HEALTHY, ""),
]


@pytest.mark.parametrize(("case", "expected", "message"), CASES, ids=[c[0] for c in CASES])
def test_service_health_follows_its_status(case: str, expected: health.Health, message: str) -> None:
    result = health.check(health_data.load(f"service/{case}"))
    assert result.status is expected
    assert message in result.message
