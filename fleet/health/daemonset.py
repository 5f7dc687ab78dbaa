"""DaemonSet health: observed generation, then updated and available pods against desired."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import health


def check(obj: Mapping[str, Any]) -> health.HealthStatus:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    name = (obj.get("metadata") or {}).get("name", "")
    generation = health.as_int((obj.get("metadata") or {}).get("generation"))
    if generation > health.as_int(status.get("observedGeneration")):
        return health.HealthStatus(
            health.Health.PROGRESSING,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        )
    desired = health.as_int(status.get("desiredNumberScheduled"))
    updated = health.as_int(status.get("updatedNumberScheduled"))
    if ((spec.get("updateStrategy") or {}).get("type")) == "OnDelete":
        return health.HealthStatus(
            health.Health.HEALTHY, f"daemon set {updated} out of {desired} new pods have been updated"
        )
    if updated < desired:
        return health.HealthStatus(
            health.Health.PROGRESSING,
            f"Waiting for daemon set {name!r} rollout to finish: {updated} out of {desired} new pods have been updated...",
        )
    available = health.as_int(status.get("numberAvailable"))
    if available < desired:
        return health.HealthStatus(
            health.Health.PROGRESSING,
            f"Waiting for daemon set {name!r} rollout to finish: {available} of {desired} updated pods are available...",
        )
    return health.HealthStatus(health.Health.HEALTHY)
