"""StatefulSet controller: pods ``NAME-0..N-1`` created in order, each once the previous is Ready
(OrderedReady; Parallel creates them all), PVCs from ``volumeClaimTemplates``, and rolling
updates that replace pods from the highest ordinal down, one at a time, above ``partition``."""

from __future__ import annotations

from typing import Any

from fleet.clusters.sim import controllers as ctl
from fleet.clusters.sim import events
from fleet.clusters.sim.controllers import _pods

MANAGER = "kube-controller-manager"
REVISION_LABEL = "controller-revision-hash"


class StatefulSetController:
    name = "statefulset-controller"
    kinds = (("apps", "StatefulSet"),)

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        entry = ctx.entry("apps", "StatefulSet", ref[2], ref[3])
        if entry is None or ctl.is_terminating(entry.obj):
            return None
        sts = entry.obj
        meta, spec = sts["metadata"], sts.get("spec") or {}
        name, ns = meta["name"], meta["namespace"]
        desired = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        revision = f"{name}-{_pods.template_hash(template)}"
        ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        partition = int(((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition", 0))
        rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
        pods = {e.name: e for e in ctx.owned(sts, "", "Pod")}
        nodes = _pods.node_names(ctx) or [""]
        for i in range(desired):
            pod_name = f"{name}-{i}"
            if pod_name in pods:
                if ordered and not ctl.is_ready(pods[pod_name].obj):
                    break
                continue
            self._claims(ctx, sts, i)
            pod = _pods.new_pod(
                sts,
                template,
                name=pod_name,
                node=nodes[i % len(nodes)],
                extra_labels={
                    REVISION_LABEL: revision,
                    "statefulset.kubernetes.io/pod-name": pod_name,
                    "apps.kubernetes.io/pod-index": str(i),
                },
            )
            pod["spec"].setdefault("hostname", pod_name)
            if spec.get("serviceName"):
                pod["spec"].setdefault("subdomain", spec["serviceName"])
            volumes = pod["spec"].setdefault("volumes", [])
            for claim in spec.get("volumeClaimTemplates") or []:
                cname = (claim.get("metadata") or {}).get("name", "")
                if not any(v.get("name") == cname for v in volumes):
                    volumes.append(
                        {"name": cname, "persistentVolumeClaim": {"claimName": f"{cname}-{name}-{i}"}}
                    )
            if not volumes:
                del pod["spec"]["volumes"]
            ctx.create(pod, manager=MANAGER)
            ctx.event(
                sts,
                events.EventType.NORMAL,
                "SuccessfulCreate",
                f"create Pod {pod_name} in StatefulSet {name} successful",
                component=self.name,
            )
            created = ctx.entry("", "Pod", ns, pod_name)
            if created is not None:
                pods[pod_name] = created
            if ordered:
                break
        extra = sorted((p for p in pods if _ordinal(p, name) >= desired), key=lambda p: -_ordinal(p, name))
        for pod_name in extra[: 1 if ordered else len(extra)]:
            ctx.delete("", "Pod", ns, pod_name)
            ctx.event(
                sts,
                events.EventType.NORMAL,
                "SuccessfulDelete",
                f"delete Pod {pod_name} in StatefulSet {name} successful",
                component=self.name,
            )
        current = [pods[f"{name}-{i}"] for i in range(desired) if f"{name}-{i}" in pods]
        all_ready = len(current) == desired and all(ctl.is_ready(p.obj) for p in current)
        if rolling and all_ready:
            for i in range(desired - 1, partition - 1, -1):
                entry = pods[f"{name}-{i}"]
                if (entry.obj["metadata"].get("labels") or {}).get(REVISION_LABEL) != revision:
                    ctx.delete("", "Pod", ns, entry.name)
                    break
        return self._status(ctx, ref, revision, desired)

    @staticmethod
    def _claims(ctx: ctl.Context, sts: dict[str, Any], ordinal: int) -> None:
        meta = sts["metadata"]
        for claim in (sts.get("spec") or {}).get("volumeClaimTemplates") or []:
            cname = (claim.get("metadata") or {}).get("name", "")
            pvc_name = f"{cname}-{meta['name']}-{ordinal}"
            if ctx.entry("", "PersistentVolumeClaim", meta["namespace"], pvc_name) is not None:
                continue
            labels = {
                **((claim.get("metadata") or {}).get("labels") or {}),
                **(((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}),
            }
            pvc = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": pvc_name, "namespace": meta["namespace"], "labels": labels},
                "spec": dict(claim.get("spec") or {}),
            }
            ctx.create(pvc, manager=MANAGER)

    def _status(self, ctx: ctl.Context, ref: ctl.Ref, revision: str, desired: int) -> float | None:
        entry = ctx.entry("apps", "StatefulSet", ref[2], ref[3])
        if entry is None:
            return None
        sts = entry.obj
        pods = _pods.live_pods(ctx.owned(sts, "", "Pod"))
        ready = sum(1 for p in pods if ctl.is_ready(p.obj))
        updated = sum(
            1 for p in pods if (p.obj["metadata"].get("labels") or {}).get(REVISION_LABEL) == revision
        )
        old_status = sts.get("status") or {}
        current_revision = old_status.get("currentRevision") or revision
        if updated == desired and len(pods) == desired and ready == desired:
            current_revision = revision
        current = sum(
            1 for p in pods if (p.obj["metadata"].get("labels") or {}).get(REVISION_LABEL) == current_revision
        )
        status: dict[str, Any] = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(pods),
            "readyReplicas": ready,
            "currentReplicas": current,
            "updatedReplicas": updated,
            "availableReplicas": ready,
            "currentRevision": current_revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
        status = {
            k: v
            for k, v in status.items()
            if v or k in ("replicas", "observedGeneration", "availableReplicas")
        }
        if old_status != status:
            new = entry.copy()
            new["status"] = status
            ctx.update_status(new, manager=MANAGER)
        return None


def _ordinal(pod_name: str, sts_name: str) -> int:
    try:
        return int(pod_name[len(sts_name) + 1 :])
    except ValueError:
        return -1


ctl.register(StatefulSetController())
