"""ReplicaSet health: a ReplicaFailure condition degrades it; otherwise wait for available replicas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import health


def check(obj: Mapping[str, Any]) -> health.HealthStatus:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    generation = health.as_int((obj.get("metadata") or {}).get("generation"))
    if generation > health.as_int(status.get("observedGeneration")):
        return health.HealthStatus(
            health.Health.PROGRESSING,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        )
    failure = health.condition(obj, "ReplicaFailure")
    if failure is not None and failure.get("status") == "True":
        return health.HealthStatus(health.Health.DEGRADED, str(failure.get("message") or ""))
    replicas = spec.get("replicas")
    available = health.as_int(status.get("availableReplicas"))
    if replicas is not None and available < health.as_int(replicas):
        return health.HealthStatus(
            health.Health.PROGRESSING,
            f"Waiting for rollout to finish: {available} out of {health.as_int(replicas)} new replicas are available...",
        )
    return health.HealthStatus(health.Health.HEALTHY)
