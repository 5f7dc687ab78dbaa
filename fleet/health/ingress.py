"""Ingress health: Progressing until the controller publishes a load-balancer address."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import health


def check(obj: Mapping[str, Any]) -> health.HealthStatus:
    ingress = (((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress")) or []
    if ingress:
        return health.HealthStatus(health.Health.HEALTHY)
    return health.HealthStatus(
        health.Health.PROGRESSING, "Waiting for the ingress controller to publish an address"
    )
