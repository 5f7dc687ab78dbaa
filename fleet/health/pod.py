"""Pod health: phase, readiness, and container waiting reasons (crash loops, image pulls).

Waiting reasons only degrade long-running pods (restartPolicy Always): a hook pod with
restartPolicy Never that waits on ImagePullBackOff may still run once the image appears, and
failing the hook early would run it after the sync ended (gitops-engine makes the same choice).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import health


def _is_bad_waiting_reason(reason: str) -> bool:
    # ErrImagePull, CreateContainerConfigError, CrashLoopBackOff, ImagePullBackOff, ...
    return reason.startswith("Err") or reason.endswith(("Error", "BackOff"))


def _failure_message(ctr: Mapping[str, Any]) -> str:
    terminated = (ctr.get("state") or {}).get("terminated")
    if not terminated:
        return ""
    if terminated.get("message"):
        return str(terminated["message"])
    if terminated.get("reason") == "OOMKilled":
        return "OOMKilled"
    code = health.as_int(terminated.get("exitCode"))
    if code != 0:
        return f"container {ctr.get('name', '')!r} failed with exit code {code}"
    return ""


def check(obj: Mapping[str, Any]) -> health.HealthStatus:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    restart_policy = spec.get("restartPolicy") or "Always"  # the API server's default
    message = str(status.get("message") or "")
    containers = list(status.get("containerStatuses") or ())
    if restart_policy == "Always":
        waiting_messages = []
        for ctr in containers:
            waiting = (ctr.get("state") or {}).get("waiting") or {}
            reason = str(waiting.get("reason") or "")
            if reason and _is_bad_waiting_reason(reason):
                waiting_messages.append(str(waiting.get("message") or reason))
        if waiting_messages:
            return health.HealthStatus(health.Health.DEGRADED, ", ".join(waiting_messages))
    phase = status.get("phase")
    if phase == "Pending":
        return health.HealthStatus(health.Health.PROGRESSING, message)
    if phase == "Succeeded":
        return health.HealthStatus(health.Health.HEALTHY, message)
    if phase == "Failed":
        if message:
            return health.HealthStatus(health.Health.DEGRADED, message)
        for ctr in [*(status.get("initContainerStatuses") or ()), *containers]:
            text = _failure_message(ctr)
            if text:
                return health.HealthStatus(health.Health.DEGRADED, text)
        return health.HealthStatus(health.Health.DEGRADED, "")
    if phase == "Running":
        if restart_policy != "Always":
            # Finite pods (usually hooks) are Progressing until they succeed.
            return health.HealthStatus(health.Health.PROGRESSING, message)
        ready = health.condition(obj, "Ready")
        if ready is not None and ready.get("status") == "True":
            return health.HealthStatus(health.Health.HEALTHY, message)
        for ctr in containers:
            if (ctr.get("lastState") or {}).get("terminated"):
                return health.HealthStatus(health.Health.DEGRADED, message)
        return health.HealthStatus(health.Health.PROGRESSING, message)
    return health.HealthStatus(health.Health.UNKNOWN, message)
