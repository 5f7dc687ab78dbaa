"""StatefulSet health: observed generation, ready pods, partitions, OnDelete, revisions."""

from __future__ import annotations

import pytest

from fleet import health
from tests import health_data

H = health.Health

CASES = [
    ("healthy", H.HEALTHY, "rolling update complete 2 pods at revision db-1"),
    ("not-observed", H.PROGRESSING, "spec update to be observed"),
    ("pods-not-ready", H.PROGRESSING, "Waiting for 2 pods to be ready"),
    ("rolling-update", H.PROGRESSING, "revision db-2"),
    ("partition-pending", H.PROGRESSING, "1 out of 2 new pods"),
    ("on-delete", H.HEALTHY, "2 ready pods"),
]


@pytest.mark.parametrize(("case", "expected", "message"), CASES, ids=[c[0] for c in CASES])
def test_statefulset_health_follows_its_status(case: str, expected: health.Health, message: str) -> None:
    result = health.check(health_data.load(f"statefulset/{case}"))
    assert result.status is expected
    assert message in result.message
