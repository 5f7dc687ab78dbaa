"""HorizontalPodAutoscaler controller (``autoscaling/v2``): scales a target through its scale
subresource from simulated metrics, as the real controller does from the metrics APIs.

Every sync (on a change, and every ``SYNC_SECONDS`` of simulated time), in order:
1. **Read the target's scale** (``scale.of``); a missing target is AbleToScale=False FailedGetScale.
2. **Read each metric** from the cluster's simulated metrics (``SimServer.set_metric``). A metric
   nobody set reads as exactly its target (a steady load on a cluster with metrics-server); one set
   to ``None`` is unavailable (ScalingActive=False FailedGet<Type>Metric, as without
   metrics-server).
3. **Propose** replicas per metric (ratio of current to target times current replicas, within
   the 10 % tolerance) and take the largest; replicas of 0 disable scaling (ScalingDisabled).
4. **Stabilize and rate-limit** with ``spec.behavior`` (defaults: scale up at once, at most
   +100 % or +4 pods per 15 s; scale down only after 300 s of lower recommendations, at most
   -100 % per 15 s), then **clamp** to min/max (ScalingLimited).
5. **Scale** through the scale subresource (SuccessfulRescale), and write the status.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fleet.clusters.sim import controllers as ctl
from fleet.clusters.sim import events, scale, status

MANAGER = "horizontal-pod-autoscaler"
SYNC_SECONDS = 15.0  # kube-controller-manager's --horizontal-pod-autoscaler-sync-period
TOLERANCE = 0.1
_DEFAULT_UP = {
    "stabilizationWindowSeconds": 0,
    "selectPolicy": "Max",
    "policies": [
        {"type": "Percent", "value": 100, "periodSeconds": 15},
        {"type": "Pods", "value": 4, "periodSeconds": 15},
    ],
}
_DEFAULT_DOWN = {
    "stabilizationWindowSeconds": 300,
    "selectPolicy": "Max",
    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
}


def quantity(value: Any) -> float:
    """A number or Kubernetes quantity ("500m", "1Gi") as a float."""
    from kubernetes.utils import parse_quantity  # imported when an HPA first needs it (heavy)

    return float(parse_quantity(value))


class MetricUnavailable(Exception):
    """The simulated metrics have no value for a metric (set to None)."""


class _Proposal:
    __slots__ = ("current", "description", "replicas")

    def __init__(self, replicas: int, description: str, current: dict[str, Any]) -> None:
        self.replicas = replicas
        self.description = description  # "cpu resource utilization (percentage of request)"
        self.current = current  # the status.currentMetrics entry


def _against_goal(current: int, goal: Mapping[str, Any], value: Any) -> tuple[int, dict[str, str]]:
    """Replicas an Object or External metric asks for, and its ``current`` status entry: its
    value per pod against an AverageValue target, else the whole value against a Value target."""
    if goal.get("type") == "AverageValue":
        wanted = quantity(value) / quantity(goal.get("averageValue") or 1)
        return math.ceil(wanted), {"averageValue": str(value)}
    ratio = quantity(value) / quantity(goal.get("value") or 1)
    return _ratio_replicas(current, ratio), {"value": str(value)}


def _ratio_replicas(current_replicas: int, ratio: float) -> int:
    if abs(ratio - 1.0) <= TOLERANCE:
        return current_replicas
    return math.ceil(ratio * current_replicas)


class HorizontalPodAutoscalerController:
    name = "horizontal-pod-autoscaler"
    kinds = (("autoscaling", "HorizontalPodAutoscaler"),)

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        entry = ctx.entry("autoscaling", "HorizontalPodAutoscaler", ref[2], ref[3])
        if entry is None or ctl.is_terminating(entry.obj):
            return None
        hpa = entry.obj
        spec = hpa.get("spec") or {}
        namespace = hpa["metadata"]["namespace"]
        now = ctx.time()
        old_status = hpa.get("status") or {}
        new_status: dict[str, Any] = {
            "observedGeneration": hpa["metadata"].get("generation", 1),
            "currentReplicas": old_status.get("currentReplicas", 0),
            "desiredReplicas": old_status.get("desiredReplicas", 0),
        }
        if old_status.get("lastScaleTime"):
            new_status["lastScaleTime"] = old_status["lastScaleTime"]
        conditions = [dict(c) for c in old_status.get("conditions") or []]
        stamp = ctx.cluster.now_text()
        # Like the real controller's queue, an autoscaler syncs once per period: its own status
        # writes and its target's changes wait for the next one; a new spec or metric does not.
        synced = ctx.state(self.name).get(hpa["metadata"]["uid"] + "/synced")
        version = (hpa["metadata"].get("generation"), ctx.cluster.metrics.version)
        if synced is not None and synced[1] == version and now - synced[0] < SYNC_SECONDS:
            ctx.enqueue(self.name, ref, after=synced[0] + SYNC_SECONDS - now, background=True)
            return None
        ctx.state(self.name)[hpa["metadata"]["uid"] + "/synced"] = (now, version)
        ctx.enqueue(self.name, ref, after=SYNC_SECONDS, background=True)

        # 1. The target's scale.
        target = spec.get("scaleTargetRef") or {}
        group = str(target.get("apiVersion", "")).rpartition("/")[0]
        rt = ctx.cluster.catalog().kind(group, str(target.get("kind", "")))
        found = None if rt is None else ctx.cluster.find(rt, namespace, str(target.get("name", "")))
        if rt is None or found is None or not rt.scale:
            message = (
                f"the HPA controller was unable to get the target's current scale: "
                f"{rt.plural + '.' + rt.group if rt is not None else target.get('kind', '')} "
                f'"{target.get("name", "")}" not found'
            )
            ctl.set_condition(conditions, "AbleToScale", "False", "FailedGetScale", message, now=stamp)
            ctx.event(hpa, events.EventType.WARNING, "FailedGetScale", message, component=MANAGER)
            return self._write(ctx, entry, new_status, conditions)
        current_scale = scale.of(rt, found.obj)
        current = int(current_scale["spec"]["replicas"])
        new_status["currentReplicas"] = int(current_scale["status"]["replicas"])
        target_key = f"{target.get('kind', '')}/{target.get('name', '')}"
        minimum = int(spec.get("minReplicas") or 1)
        maximum = int(spec.get("maxReplicas") or minimum)

        if current == 0 and minimum != 0:
            ctl.set_condition(
                conditions,
                "AbleToScale",
                "True",
                "SucceededGetScale",
                "the HPA controller was able to get the target's current scale",
                now=stamp,
            )
            ctl.set_condition(
                conditions,
                "ScalingActive",
                "False",
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
                now=stamp,
            )
            new_status["desiredReplicas"] = 0
            return self._write(ctx, entry, new_status, conditions)

        # 2-3. Metrics and the replicas each proposes.
        proposals: list[_Proposal] = []
        failures: list[tuple[str, str]] = []  # (reason, message)
        for metric in spec.get("metrics") or []:
            try:
                proposals.append(self._propose(ctx, namespace, target_key, metric, current))
            except MetricUnavailable as exc:
                failures.append((f"FailedGet{metric.get('type', '')}Metric", str(exc)))
            except (ValueError, TypeError, KeyError) as exc:
                failures.append(("FailedComputeMetricsReplicas", f"invalid metric: {exc}"))
        for reason, message in failures:
            ctx.event(hpa, events.EventType.WARNING, reason, message, component=MANAGER)
        new_status["currentMetrics"] = [p.current for p in proposals]
        if not new_status["currentMetrics"]:
            del new_status["currentMetrics"]
        if failures and not proposals:
            reason, message = failures[0]
            ctl.set_condition(
                conditions,
                "AbleToScale",
                "True",
                "SucceededGetScale",
                "the HPA controller was able to get the target's current scale",
                now=stamp,
            )
            ctl.set_condition(
                conditions,
                "ScalingActive",
                "False",
                reason,
                f"the HPA was unable to compute the replica count: {message}",
                now=stamp,
            )
            new_status["desiredReplicas"] = current
            return self._write(ctx, entry, new_status, conditions)
        best = max(proposals, key=lambda p: p.replicas) if proposals else None
        proposed = best.replicas if best is not None else current
        ctl.set_condition(
            conditions,
            "ScalingActive",
            "True",
            "ValidMetricFound",
            "the HPA was able to successfully calculate a replica count from "
            + (best.description if best is not None else "its metrics"),
            now=stamp,
        )

        # 4. Stabilization, rate limits, bounds.
        desired, stabilized, limited = self._behave(ctx, hpa, spec, current, proposed, now)
        if limited and minimum <= desired <= maximum:
            ctl.set_condition(
                conditions,
                "ScalingLimited",
                "True",
                "ScaleUpLimit" if desired > current else "ScaleDownLimit",
                "the desired replica count is "
                + ("increasing" if desired > current else "decreasing")
                + " faster than the maximum scale rate",
                now=stamp,
            )
        elif desired > maximum:
            desired = maximum
            ctl.set_condition(
                conditions,
                "ScalingLimited",
                "True",
                "TooManyReplicas",
                "the desired replica count is more than the maximum replica count",
                now=stamp,
            )
        elif desired < minimum:
            desired = minimum
            ctl.set_condition(
                conditions,
                "ScalingLimited",
                "True",
                "TooFewReplicas",
                "the desired replica count is less than the minimum replica count",
                now=stamp,
            )
        else:
            ctl.set_condition(
                conditions,
                "ScalingLimited",
                "False",
                "DesiredWithinRange",
                "the desired count is within the acceptable range",
                now=stamp,
            )
        new_status["desiredReplicas"] = desired

        # 5. Scale.
        if desired != current:
            try:
                scale.write(ctx.cluster, rt, namespace, found.name, desired, manager=MANAGER)
            except status.ApiError as exc:
                ctl.set_condition(
                    conditions,
                    "AbleToScale",
                    "False",
                    "FailedUpdateScale",
                    f"the HPA controller was unable to update the target scale: {exc}",
                    now=stamp,
                )
                ctx.event(hpa, events.EventType.WARNING, "FailedRescale", str(exc), component=MANAGER)
                return self._write(ctx, entry, new_status, conditions)
            reason = (
                f"{best.description} above target"
                if desired > current and best
                else "All metrics below target"
            )
            ctx.event(
                hpa,
                events.EventType.NORMAL,
                "SuccessfulRescale",
                f"New size: {desired}; reason: {reason}",
                component=MANAGER,
            )
            ctx.state(self.name).setdefault(hpa["metadata"]["uid"] + "/scales", []).append(
                (now, desired - current)
            )
            new_status["lastScaleTime"] = stamp
            ctl.set_condition(
                conditions,
                "AbleToScale",
                "True",
                "SucceededRescale",
                f"the HPA controller was able to update the target scale to {desired}",
                now=stamp,
            )
        elif stabilized:
            ctl.set_condition(
                conditions,
                "AbleToScale",
                "True",
                "ScaleDownStabilized",
                "recent recommendations were higher than current one, applying the highest recent recommendation",
                now=stamp,
            )
        else:
            ctl.set_condition(
                conditions,
                "AbleToScale",
                "True",
                "ReadyForNewScale",
                "recommended size matches current size",
                now=stamp,
            )
        return self._write(ctx, entry, new_status, conditions)

    # -- metrics ------------------------------------------------------------------------------------

    def _propose(
        self, ctx: ctl.Context, namespace: str, target_key: str, metric: Mapping[str, Any], current: int
    ) -> _Proposal:
        kind = metric.get("type", "")
        if kind in ("Resource", "ContainerResource"):
            source = metric.get("resource" if kind == "Resource" else "containerResource") or {}
            name = str(source.get("name", ""))
            goal = source.get("target") or {}
            value = ctx.cluster.metrics.read(namespace, target_key, name, default=_default(goal))
            if value is None:
                raise MetricUnavailable(
                    f"failed to get {name} utilization: unable to get metrics for resource {name}: "
                    "no metrics returned from resource metrics API"
                )
            field = "resource" if kind == "Resource" else "containerResource"
            entry: dict[str, Any] = {"name": name}
            if kind == "ContainerResource":
                entry["container"] = source.get("container", "")
            if goal.get("type") == "Utilization":
                utilization = quantity(value)
                entry["current"] = {"averageUtilization": round(utilization)}
                replicas = _ratio_replicas(
                    current, utilization / float(goal.get("averageUtilization") or 100)
                )
                description = f"{name} resource utilization (percentage of request)"
            else:
                entry["current"] = {"averageValue": str(value)}
                replicas = _ratio_replicas(current, quantity(value) / quantity(goal.get("averageValue") or 1))
                description = f"{name} resource"
            return _Proposal(replicas, description, {"type": kind, field: entry})
        if kind == "Pods":
            source = metric.get("pods") or {}
            name = str((source.get("metric") or {}).get("name", ""))
            goal = source.get("target") or {}
            value = ctx.cluster.metrics.read(namespace, target_key, name, default=_default(goal))
            if value is None:
                raise MetricUnavailable(
                    f"unable to get metric {name}: no metrics returned from custom metrics API"
                )
            replicas = _ratio_replicas(current, quantity(value) / quantity(goal.get("averageValue") or 1))
            return _Proposal(
                replicas,
                f"pods metric {name}",
                {"type": "Pods", "pods": {"metric": {"name": name}, "current": {"averageValue": str(value)}}},
            )
        if kind == "Object":
            source = metric.get("object") or {}
            described = source.get("describedObject") or {}
            name = str((source.get("metric") or {}).get("name", ""))
            goal = source.get("target") or {}
            value = ctx.cluster.metrics.read(
                namespace,
                f"{described.get('kind', '')}/{described.get('name', '')}",
                name,
                default=_default(goal),
            )
            if value is None:
                raise MetricUnavailable(
                    f"unable to get metric {name}: no metrics returned from custom metrics API"
                )
            replicas, current_entry = _against_goal(current, goal, value)
            return _Proposal(
                replicas,
                f"{described.get('kind', '')} metric {name}",
                {
                    "type": "Object",
                    "object": {
                        "describedObject": dict(described),
                        "metric": {"name": name},
                        "current": current_entry,
                    },
                },
            )
        if kind == "External":
            source = metric.get("external") or {}
            name = str((source.get("metric") or {}).get("name", ""))
            goal = source.get("target") or {}
            value = ctx.cluster.metrics.read(namespace, "", name, default=_default(goal))
            if value is None:
                raise MetricUnavailable(
                    f"unable to get external metric {namespace}/{name}: no metrics returned from external metrics API"
                )
            replicas, current_entry = _against_goal(current, goal, value)
            return _Proposal(
                replicas,
                f"external metric {name}",
                {"type": "External", "external": {"metric": {"name": name}, "current": current_entry}},
            )
        raise ValueError(f"unknown metric source type {kind!r}")

    # -- behavior --------------------------------------------------------------------------------------

    def _behave(
        self,
        ctx: ctl.Context,
        hpa: Mapping[str, Any],
        spec: Mapping[str, Any],
        current: int,
        proposed: int,
        now: float,
    ) -> tuple[int, bool, bool]:
        """Stabilization windows over recent recommendations, then the scaling policies.
        Returns (replicas, held back by the scale-down window, held back by a rate limit)."""
        behavior = spec.get("behavior") or {}
        up = {**_DEFAULT_UP, **(behavior.get("scaleUp") or {})}
        down = {**_DEFAULT_DOWN, **(behavior.get("scaleDown") or {})}
        state = ctx.state(self.name)
        uid = hpa["metadata"]["uid"]
        history: list[tuple[float, int]] = state.setdefault(uid + "/recommendations", [])
        history.append((now, proposed))
        longest = max(
            int(up["stabilizationWindowSeconds"] or 0), int(down["stabilizationWindowSeconds"] or 0)
        )
        history[:] = [(t, r) for t, r in history if now - t <= longest]
        up_window = [r for t, r in history if now - t <= int(up["stabilizationWindowSeconds"] or 0)]
        down_window = [r for t, r in history if now - t <= int(down["stabilizationWindowSeconds"] or 0)]
        stabilized = proposed
        held = False
        if proposed > current:
            stabilized = max(min(up_window or [proposed]), current)
        elif proposed < current:
            stabilized = min(max(down_window or [proposed]), current)
            held = stabilized > proposed
        scales: list[tuple[float, int]] = state.setdefault(uid + "/scales", [])
        scales[:] = [(t, d) for t, d in scales if now - t <= 1800]
        if stabilized > current:
            limit = self._limit(up, scales, current, now, up=True)
            return min(stabilized, limit), held, stabilized > limit
        if stabilized < current:
            limit = self._limit(down, scales, current, now, up=False)
            return max(stabilized, limit), held, stabilized < limit
        return stabilized, held, False

    @staticmethod
    def _limit(
        rules: Mapping[str, Any], scales: list[tuple[float, int]], current: int, now: float, *, up: bool
    ) -> int:
        select = rules.get("selectPolicy") or "Max"
        if select == "Disabled":
            return current
        limits = []
        for policy in rules.get("policies") or []:
            period = int(policy.get("periodSeconds") or 15)
            changed = sum(d for t, d in scales if now - t <= period and (d > 0) == up)
            start = current - changed
            value = int(policy.get("value") or 0)
            if policy.get("type") == "Pods":
                limits.append(start + value if up else start - value)
            elif up:
                limits.append(math.ceil(start * (1 + value / 100)))
            else:
                limits.append(math.floor(start * (1 - value / 100)))
        if not limits:
            return current
        if up:
            return max(limits) if select == "Max" else min(limits)
        return min(limits) if select == "Max" else max(limits)

    def _write(
        self, ctx: ctl.Context, entry: Any, new_status: dict[str, Any], conditions: list[dict[str, Any]]
    ) -> float | None:
        order = {"AbleToScale": 0, "ScalingActive": 1, "ScalingLimited": 2}
        conditions.sort(key=lambda c: order.get(c.get("type", ""), 3))
        new_status["conditions"] = conditions
        if (entry.obj.get("status") or {}) != new_status:
            new = entry.copy()
            new["status"] = new_status
            ctx.update_status(new, manager=MANAGER)
        return None


def _default(goal: Mapping[str, Any]) -> Any:
    """What a metric nobody set reads: exactly its target (a steady load)."""
    for key in ("averageUtilization", "averageValue", "value"):
        if goal.get(key) is not None:
            return goal[key]
    return None


ctl.register(HorizontalPodAutoscalerController())
