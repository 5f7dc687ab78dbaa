"""PersistentVolumeClaim health: Bound is healthy, Lost is degraded, Pending depends on why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import health

_PROVISIONER_ANNOTATIONS = (
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
)


def check(obj: Mapping[str, Any]) -> health.HealthStatus:
    phase = (obj.get("status") or {}).get("phase")
    if phase == "Bound":
        return health.HealthStatus(health.Health.HEALTHY)
    if phase == "Lost":
        return health.HealthStatus(health.Health.DEGRADED, "claim lost its volume")
    if phase == "Pending":
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if any(key in annotations for key in _PROVISIONER_ANNOTATIONS):
            return health.HealthStatus(health.Health.PROGRESSING, "Provisioning volume")
        # Not being provisioned: usually WaitForFirstConsumer, which binds when a pod uses it.
        return health.HealthStatus(health.Health.HEALTHY, "Waiting for consumer")
    return health.HealthStatus(health.Health.UNKNOWN, f"unexpected phase {phase!r}" if phase else "")
