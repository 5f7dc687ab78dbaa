"""StatefulSet health: observed generation, ready replicas, partitioned and OnDelete updates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import health


def check(obj: Mapping[str, Any]) -> health.HealthStatus:
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    observed = health.as_int(status.get("observedGeneration"))
    generation = health.as_int((obj.get("metadata") or {}).get("generation"))
    if observed == 0 or generation > observed:
        return health.HealthStatus(
            health.Health.PROGRESSING, "Waiting for statefulset spec update to be observed..."
        )
    replicas = spec.get("replicas")
    ready = health.as_int(status.get("readyReplicas"))
    if replicas is not None and ready < health.as_int(replicas):
        return health.HealthStatus(
            health.Health.PROGRESSING, f"Waiting for {health.as_int(replicas) - ready} pods to be ready..."
        )
    strategy = spec.get("updateStrategy") or {}
    strategy_type = strategy.get("type") or "RollingUpdate"
    updated = health.as_int(status.get("updatedReplicas"))
    rolling = strategy.get("rollingUpdate")
    if strategy_type == "RollingUpdate" and rolling is not None:
        partition = rolling.get("partition")
        if replicas is not None and partition is not None:
            wanted = health.as_int(replicas) - health.as_int(partition)
            if updated < wanted:
                return health.HealthStatus(
                    health.Health.PROGRESSING,
                    f"Waiting for partitioned roll out to finish: {updated} out of {wanted} new pods have been updated...",
                )
        return health.HealthStatus(
            health.Health.HEALTHY, f"partitioned roll out complete: {updated} new pods have been updated..."
        )
    if strategy_type == "OnDelete":
        return health.HealthStatus(health.Health.HEALTHY, f"statefulset has {ready} ready pods")
    update_rev = status.get("updateRevision")
    current_rev = status.get("currentRevision")
    if update_rev != current_rev:
        return health.HealthStatus(
            health.Health.PROGRESSING,
            f"waiting for statefulset rolling update to complete {updated} pods at revision {update_rev}...",
        )
    current = health.as_int(status.get("currentReplicas"))
    return health.HealthStatus(
        health.Health.HEALTHY,
        f"statefulset rolling update complete {current} pods at revision {current_rev}...",
    )
