"""APIService health: the aggregated API is healthy once its Available condition is True."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import health


def check(obj: Mapping[str, Any]) -> health.HealthStatus:
    available = health.condition(obj, "Available")
    if available is not None and available.get("status") == "True":
        return health.HealthStatus(health.Health.HEALTHY, str(available.get("message") or ""))
    if available is None:
        return health.HealthStatus(health.Health.PROGRESSING, "Waiting to be processed")
    reason = available.get("reason") or ""
    return health.HealthStatus(
        health.Health.PROGRESSING, f"{reason}: {available.get('message') or ''}".strip(": ")
    )
