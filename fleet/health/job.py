"""Job health: Complete, Failed and Suspended conditions; anything else is still running."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import health


def check(obj: Mapping[str, Any]) -> health.HealthStatus:
    failed = complete = suspended = False
    fail_message = message = ""
    for cond in (obj.get("status") or {}).get("conditions") or ():
        kind = cond.get("type")
        if kind == "Failed" and cond.get("status", "True") == "True":
            failed = complete = True
            fail_message = str(cond.get("message") or "")
        elif kind == "Complete" and cond.get("status", "True") == "True":
            complete = True
            message = str(cond.get("message") or "")
        elif kind == "Suspended":
            complete = True
            message = str(cond.get("message") or "")
            suspended = cond.get("status") == "True"
    if not complete:
        return health.HealthStatus(health.Health.PROGRESSING, message)
    if failed:
        return health.HealthStatus(health.Health.DEGRADED, fail_message)
    if suspended:
        # Shown as Suspended, but a suspended Job must not make its Application Suspended.
        return health.HealthStatus(health.Health.SUSPENDED, message, aggregate_as=health.Health.HEALTHY)
    return health.HealthStatus(health.Health.HEALTHY, message)
