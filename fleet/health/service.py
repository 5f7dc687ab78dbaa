"""Service health: a LoadBalancer is Progressing until the cloud reports an ingress address."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import health


def check(obj: Mapping[str, Any]) -> health.HealthStatus:
    if (obj.get("spec") or {}).get("type") != "LoadBalancer":
        return health.HealthStatus(health.Health.HEALTHY)
    ingress = (((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress")) or []
    if ingress:
        return health.HealthStatus(health.Health.HEALTHY)
    return health.HealthStatus(health.Health.PROGRESSING, "Waiting for the load balancer to get an address")
