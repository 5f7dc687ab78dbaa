"""The scale subresource (``autoscaling/v1`` Scale) of Deployments, ReplicaSets and StatefulSets.

Served to clients at ``.../NAME/scale`` and read and written by the simulated
HorizontalPodAutoscaler controller the same way, so both see one definition of a target's scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fleet.clusters.sim import resources, status

if TYPE_CHECKING:
    from fleet.clusters.sim import cluster as cluster_mod


def selector_text(obj: Mapping[str, Any]) -> str:
    """The target's label selector as text (``status.selector`` of its Scale)."""
    selector = (obj.get("spec") or {}).get("selector") or {}
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def of(rt: resources.ResourceType, obj: Mapping[str, Any]) -> dict[str, Any]:
    """The Scale of an object with a scale subresource."""
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": int((obj.get("spec") or {}).get("replicas", 0))},
        "status": {
            "replicas": int((obj.get("status") or {}).get("replicas", 0)),
            "selector": selector_text(obj),
        },
    }


def write(
    sim: cluster_mod.SimCluster,
    rt: resources.ResourceType,
    namespace: str,
    name: str,
    replicas: Any,
    *,
    manager: str,
) -> None:
    """Set ``spec.replicas`` through the scale subresource (422 for anything but a count)."""
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise status.invalid("Scale", "autoscaling", name, [("spec.replicas", "Invalid value")])
    obj = sim.get(rt, namespace, name).copy()
    obj["spec"]["replicas"] = replicas
    sim.update(rt, namespace, name, obj, manager=manager)
