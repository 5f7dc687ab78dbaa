"""Ingress health: an address published by the controller makes it healthy (both API groups)."""

from __future__ import annotations

import pytest

from fleet import health
from tests import health_data

H = health.Health

CASES = [
    ("ready", H.HEALTHY, ""),
    ("pending", H.PROGRESSING, "publish an address"),
    ("legacy-extensions-pending", H.PROGRESSING, "publish an address"),
]


@pytest.mark.parametrize(("case", "expected", "message"), CASES, ids=[c[0] for c in CASES])
def test_ingress_health_follows_its_status(case: str, expected: health.Health, message: str) -> None:
    result = health.check(health_data.load(f"ingress/{case}"))
    assert result.status is expected
    assert message in result.message
