"""DaemonSet controller: one pod per simulated node; rolling updates replace one pod at a time
(``maxUnavailable: 1``) once the others are ready."""

from __future__ import annotations

from typing import Any

from fleet.clusters.sim import controllers as ctl
from fleet.clusters.sim import events
from fleet.clusters.sim.controllers import _pods

MANAGER = "kube-controller-manager"
REVISION_LABEL = "controller-revision-hash"


class DaemonSetController:
    name = "daemonset-controller"
    kinds = (("apps", "DaemonSet"),)

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        entry = ctx.entry("apps", "DaemonSet", ref[2], ref[3])
        if entry is None or ctl.is_terminating(entry.obj):
            return None
        ds = entry.obj
        meta, spec = ds["metadata"], ds.get("spec") or {}
        template = spec.get("template") or {}
        revision = _pods.template_hash(template)
        nodes = _pods.node_names(ctx)
        pods = _pods.live_pods(ctx.owned(ds, "", "Pod"))
        by_node: dict[str, list[Any]] = {}
        for pod in pods:
            by_node.setdefault(str((pod.obj.get("spec") or {}).get("nodeName", "")), []).append(pod)
        for node in nodes:
            if node not in by_node:
                pod = _pods.new_pod(
                    ds,
                    template,
                    name=_pods.random_name(meta["name"]),
                    node=node,
                    extra_labels={
                        REVISION_LABEL: revision,
                        "pod-template-generation": str(meta.get("generation", 1)),
                    },
                )
                created = ctx.create(pod, manager=MANAGER)
                ctx.event(
                    ds,
                    events.EventType.NORMAL,
                    "SuccessfulCreate",
                    f"Created pod: {created['metadata']['name']}",
                    component=self.name,
                )
        for node, node_pods in by_node.items():
            for pod in node_pods if node not in nodes else node_pods[1:]:
                ctx.delete("", "Pod", pod.namespace, pod.name)
        if (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            pods = _pods.live_pods(ctx.owned(ds, "", "Pod"))
            if all(ctl.is_ready(p.obj) for p in pods):
                stale = [
                    p for p in pods if (p.obj["metadata"].get("labels") or {}).get(REVISION_LABEL) != revision
                ]
                if stale:
                    ctx.delete("", "Pod", stale[0].namespace, stale[0].name)
        return self._status(ctx, ref, revision, len(nodes))

    def _status(self, ctx: ctl.Context, ref: ctl.Ref, revision: str, desired: int) -> float | None:
        entry = ctx.entry("apps", "DaemonSet", ref[2], ref[3])
        if entry is None:
            return None
        ds = entry.obj
        pods = _pods.live_pods(ctx.owned(ds, "", "Pod"))
        ready = sum(1 for p in pods if ctl.is_ready(p.obj))
        updated = sum(
            1 for p in pods if (p.obj["metadata"].get("labels") or {}).get(REVISION_LABEL) == revision
        )
        status = {
            "currentNumberScheduled": len(pods),
            "desiredNumberScheduled": desired,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberAvailable": ready,
            "numberUnavailable": max(desired - ready, 0),
            "updatedNumberScheduled": updated,
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        status = {
            k: v
            for k, v in status.items()
            if v
            or k in ("currentNumberScheduled", "desiredNumberScheduled", "numberMisscheduled", "numberReady")
        }
        if (ds.get("status") or {}) != status:
            new = entry.copy()
            new["status"] = status
            ctx.update_status(new, manager=MANAGER)
        return None


ctl.register(DaemonSetController())
