"""Deployment health: the rollout rules of ``kubectl rollout status``, as gitops-engine applies them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import health


def check(obj: Mapping[str, Any]) -> health.HealthStatus:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    name = (obj.get("metadata") or {}).get("name", "")
    if spec.get("paused"):
        return health.HealthStatus(health.Health.SUSPENDED, "Deployment is paused")
    generation = health.as_int((obj.get("metadata") or {}).get("generation"))
    if generation > health.as_int(status.get("observedGeneration")):
        return health.HealthStatus(
            health.Health.PROGRESSING,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        )
    progressing = health.condition(obj, "Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return health.HealthStatus(
            health.Health.DEGRADED, f"Deployment {name!r} exceeded its progress deadline"
        )
    updated = health.as_int(status.get("updatedReplicas"))
    replicas = spec.get("replicas")
    # An unset spec.replicas is defaulted to 1 by the API server; a live object always has it.
    if replicas is not None and updated < health.as_int(replicas):
        return health.HealthStatus(
            health.Health.PROGRESSING,
            f"Waiting for rollout to finish: {updated} out of {health.as_int(replicas)} new replicas have been updated...",
        )
    total = health.as_int(status.get("replicas"))
    if total > updated:
        return health.HealthStatus(
            health.Health.PROGRESSING,
            f"Waiting for rollout to finish: {total - updated} old replicas are pending termination...",
        )
    available = health.as_int(status.get("availableReplicas"))
    if available < updated:
        return health.HealthStatus(
            health.Health.PROGRESSING,
            f"Waiting for rollout to finish: {available} of {updated} updated replicas are available...",
        )
    return health.HealthStatus(health.Health.HEALTHY)
