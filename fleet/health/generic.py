"""Generic health for custom resources and any kind without a check of its own.

Reads the conventions most controllers follow (the same ones Flux's kstatus reads):
``metadata.generation`` vs ``status.observedGeneration``, the kstatus ``Reconciling`` / ``Stalled``
conditions, a ``Ready`` / ``Available`` / ``Healthy`` condition, then a ``status.phase`` string.
An object with none of these (a ConfigMap, a Role) is Healthy: existing is all it can do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import health

_READY_TYPES = ("Ready", "Available", "Healthy")
# Ready=False with one of these reasons means "not yet", not "failed".
_IN_PROGRESS_REASONS = {
    "Progressing",
    "Reconciling",
    "Pending",
    "Provisioning",
    "Creating",
    "Initializing",
    "DependencyNotReady",
    "ArtifactInProgress",
    "ProgressingWithRetry",
}
_PHASES = {
    health.Health.HEALTHY: {
        "running",
        "active",
        "succeeded",
        "bound",
        "ready",
        "healthy",
        "available",
        "complete",
        "completed",
        "established",
        "deployed",
    },
    health.Health.PROGRESSING: {
        "pending",
        "progressing",
        "provisioning",
        "creating",
        "initializing",
        "updating",
        "reconciling",
        "waiting",
        "deploying",
        "starting",
    },
    health.Health.DEGRADED: {
        "failed",
        "failure",
        "error",
        "degraded",
        "lost",
        "crashloopbackoff",
        "unhealthy",
    },
    health.Health.SUSPENDED: {"suspended", "paused"},
}


def check(obj: Mapping[str, Any]) -> health.HealthStatus:
    status = obj.get("status")
    if not isinstance(status, Mapping) or not status:
        return health.HealthStatus(health.Health.HEALTHY)
    generation = (obj.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if (
        generation is not None
        and observed is not None
        and health.as_int(generation) > health.as_int(observed)
    ):
        return health.HealthStatus(
            health.Health.PROGRESSING, "Waiting for the controller to observe the latest spec"
        )
    stalled = health.condition(obj, "Stalled")
    if stalled is not None and stalled.get("status") == "True":
        return health.HealthStatus(health.Health.DEGRADED, _text(stalled))
    reconciling = health.condition(obj, "Reconciling")
    if reconciling is not None and reconciling.get("status") == "True":
        return health.HealthStatus(health.Health.PROGRESSING, _text(reconciling))
    for type_ in _READY_TYPES:
        cond = health.condition(obj, type_)
        if cond is None:
            continue
        value = cond.get("status")
        if value == "True":
            return health.HealthStatus(health.Health.HEALTHY, str(cond.get("message") or ""))
        if value == "False" and cond.get("reason") not in _IN_PROGRESS_REASONS:
            return health.HealthStatus(health.Health.DEGRADED, _text(cond))
        return health.HealthStatus(health.Health.PROGRESSING, _text(cond))
    phase = status.get("phase")
    if isinstance(phase, str) and phase:
        for verdict, names in _PHASES.items():
            if phase.lower() in names:
                return health.HealthStatus(verdict, str(status.get("message") or ""))
        return health.HealthStatus(health.Health.UNKNOWN, f"unrecognised phase {phase!r}")
    return health.HealthStatus(health.Health.HEALTHY)


def _text(cond: Mapping[str, Any]) -> str:
    reason = str(cond.get("reason") or "")
    message = str(cond.get("message") or "")
    return f"{reason}: {message}" if reason and message else reason or message
