"""HorizontalPodAutoscaler health: conditions AbleToScale / ScalingActive; none yet is Progressing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import health

# ScalingActive=False for these reasons means the autoscaler cannot work (metrics unreachable,
# invalid selector); ScalingDisabled (replicas set to 0 on purpose) is not a failure.
_FAILED_REASONS = {
    "FailedGetResourceMetric",
    "FailedGetExternalMetric",
    "FailedGetObjectMetric",
    "FailedGetPodsMetric",
    "FailedComputeMetricsReplicas",
    "InvalidSelector",
    "FailedGetScale",
    "FailedUpdateScale",
    "InvalidMetricSourceType",
}


def check(obj: Mapping[str, Any]) -> health.HealthStatus:
    conditions = (obj.get("status") or {}).get("conditions") or []
    if not conditions:
        return health.HealthStatus(health.Health.PROGRESSING, "Waiting to Autoscale")
    for cond in conditions:
        failed_state = cond.get("status") == "False" and (
            cond.get("type") == "AbleToScale" or cond.get("reason") in _FAILED_REASONS
        )
        if failed_state:
            return health.HealthStatus(
                health.Health.DEGRADED, str(cond.get("message") or cond.get("reason") or "")
            )
    return health.HealthStatus(health.Health.HEALTHY)
