"""PersistentVolumeClaim health: Bound, Lost, Pending with and without a provisioner."""

from __future__ import annotations

import pytest

from fleet import health
from tests import health_data

H = health.Health

CASES = [
    ("bound", H.HEALTHY, ""),
    ("lost", H.DEGRADED, "lost"),
    ("pending-provisioning", H.PROGRESSING, "Provisioning volume"),
    ("pending-wait-for-consumer", H.HEALTHY, "Waiting for consumer"),
]


@pytest.mark.parametrize(("case", "expected", "message"), CASES, ids=[c[0] for c in CASES])
def test_pvc_health_follows_its_status(case: str, expected: health.Health, message: str) -> None:
    result = health.check(health_data.load(f"pvc/{case}"))
    assert result.status is expected
    assert message in result.message
