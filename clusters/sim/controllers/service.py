"""Load balancers: a Service of type LoadBalancer, and an Ingress, get
``status.loadBalancer.ingress[0].ip`` after ``rollout_seconds`` (health checks wait for it)."""

from __future__ import annotations

import zlib

from fleet.clusters.sim import controllers as ctl
from fleet.clusters.sim import events


def _ip(uid: str) -> str:
    n = zlib.crc32(uid.encode())
    return f"172.18.{(n >> 8) & 0xFF}.{(n & 0xFF) or 1}"


class LoadBalancerController:
    name = "service-lb-controller"
    kinds = (("", "Service"), ("networking.k8s.io", "Ingress"))

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        entry = ctx.entry(ref[0], ref[1], ref[2], ref[3])
        if entry is None or ctl.is_terminating(entry.obj):
            return None
        obj = entry.obj
        if ref[1] == "Service" and (obj.get("spec") or {}).get("type") != "LoadBalancer":
            if ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
                new = entry.copy()
                new["status"]["loadBalancer"] = {}
                ctx.update_status(new, manager="kube-controller-manager")
            return None
        if ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            return None
        state = ctx.state(self.name)
        uid = obj["metadata"]["uid"]
        if uid not in state and ref[1] == "Service":
            ctx.event(
                obj,
                events.EventType.NORMAL,
                "EnsuringLoadBalancer",
                "Ensuring load balancer",
                component="service-controller",
            )
        due = state.setdefault(uid, ctx.time() + ctx.rollout_seconds)
        if ctx.time() < due:
            return due - ctx.time()
        state.pop(uid, None)
        new = entry.copy()
        ingress = {"ip": _ip(uid)}
        if ref[1] == "Service":
            ingress["ipMode"] = "VIP"
        new.setdefault("status", {})["loadBalancer"] = {"ingress": [ingress]}
        ctx.update_status(new, manager="cloud-controller-manager")
        if ref[1] == "Service":
            ctx.event(
                obj,
                events.EventType.NORMAL,
                "EnsuredLoadBalancer",
                "Ensured load balancer",
                component="service-controller",
            )
        return None


ctl.register(LoadBalancerController())
