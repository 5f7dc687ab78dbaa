"""ReplicaSet controller: keeps ``spec.replicas`` pods from the template, reports their state."""

from __future__ import annotations

from typing import Any

from fleet.clusters.sim import controllers as ctl
from fleet.clusters.sim import events
from fleet.clusters.sim.controllers import _pods


class ReplicaSetController:
    name = "replicaset-controller"
    kinds = (("apps", "ReplicaSet"),)

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        entry = ctx.entry("apps", "ReplicaSet", ref[2], ref[3])
        if entry is None or ctl.is_terminating(entry.obj):
            return None
        rs = entry.obj
        spec = rs.get("spec") or {}
        desired = int(spec.get("replicas", 1))
        pods = _pods.live_pods(ctx.owned(rs, "", "Pod"))
        template = spec.get("template") or {}
        if len(pods) < desired:
            nodes = _pods.node_names(ctx) or [""]
            for i in range(desired - len(pods)):
                pod = _pods.new_pod(
                    rs,
                    template,
                    name=_pods.random_name(rs["metadata"]["name"]),
                    node=nodes[(len(pods) + i) % len(nodes)],
                )
                created = ctx.create(pod, manager="kube-controller-manager")
                ctx.event(
                    rs,
                    events.EventType.NORMAL,
                    "SuccessfulCreate",
                    f"Created pod: {created['metadata']['name']}",
                    component=self.name,
                )
        elif len(pods) > desired:
            # Delete not-ready pods first, then the newest, as the real controller prefers.
            ranked = sorted(
                pods,
                key=lambda e: (ctl.is_ready(e.obj), e.obj["metadata"]["creationTimestamp"]),
                reverse=False,
            )
            for victim in ranked[: len(pods) - desired]:
                ctx.delete("", "Pod", victim.namespace, victim.name)
                ctx.event(
                    rs,
                    events.EventType.NORMAL,
                    "SuccessfulDelete",
                    f"Deleted pod: {victim.name}",
                    component=self.name,
                )
        pods = _pods.live_pods(ctx.owned(rs, "", "Pod"))
        ready = sum(1 for p in pods if ctl.is_ready(p.obj))
        status: dict[str, Any] = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        if not ready:
            del status["readyReplicas"], status["availableReplicas"]
        if (rs.get("status") or {}) != status:
            new = entry.copy()
            new["status"] = status
            ctx.update_status(new, manager="kube-controller-manager")
        return None


ctl.register(ReplicaSetController())
