"""Deployment controller: one ReplicaSet per pod template, rolled out like the real controller.

The ReplicaSet of the current template is scaled to ``spec.replicas``; older ones are scaled
down as the new pods become available (a bad image therefore leaves the old pods serving and
the rollout stuck). Status mirrors the real controller's fields and conditions: Available
(MinimumReplicasAvailable/Unavailable) and Progressing (NewReplicaSetCreated, ReplicaSetUpdated,
NewReplicaSetAvailable, and ProgressDeadlineExceeded once ``progressDeadlineSeconds`` pass without
progress).
"""

from __future__ import annotations

from typing import Any

from fleet.clusters.sim import cluster, events
from fleet.clusters.sim import controllers as ctl
from fleet.clusters.sim.controllers import _pods

MANAGER = "kube-controller-manager"
REVISION = "deployment.kubernetes.io/revision"


class DeploymentController:
    name = "deployment-controller"
    kinds = (("apps", "Deployment"),)

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        entry = ctx.entry("apps", "Deployment", ref[2], ref[3])
        if entry is None or ctl.is_terminating(entry.obj):
            return None
        deploy = entry.obj
        meta, spec = deploy["metadata"], deploy.get("spec") or {}
        desired = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        pod_hash = _pods.template_hash(template)
        owned = [e for e in ctx.owned(deploy, "apps", "ReplicaSet") if not ctl.is_terminating(e.obj)]
        new_rs = next(
            (
                e
                for e in owned
                if (e.obj["metadata"].get("labels") or {}).get("pod-template-hash") == pod_hash
            ),
            None,
        )
        old = [e for e in owned if e is not new_rs]
        paused = bool(spec.get("paused"))
        created = False
        if new_rs is None and not paused:
            revision = 1 + max(
                (int((e.obj["metadata"].get("annotations") or {}).get(REVISION, 0)) for e in owned), default=0
            )
            rs_template = {
                **template,
                "metadata": {
                    **(template.get("metadata") or {}),
                    "labels": {
                        **((template.get("metadata") or {}).get("labels") or {}),
                        "pod-template-hash": pod_hash,
                    },
                },
            }
            selector = dict(spec.get("selector") or {})
            selector["matchLabels"] = {**(selector.get("matchLabels") or {}), "pod-template-hash": pod_hash}
            rs: dict[str, Any] = {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": f"{meta['name']}-{pod_hash}",
                    "namespace": meta["namespace"],
                    "labels": rs_template["metadata"]["labels"],
                    "annotations": {
                        REVISION: str(revision),
                        "deployment.kubernetes.io/desired-replicas": str(desired),
                        "deployment.kubernetes.io/max-replicas": str(desired),
                    },
                    "ownerReferences": [ctl.owner_ref(deploy)],
                },
                "spec": {"replicas": desired, "selector": selector, "template": rs_template},
            }
            ctx.create(rs, manager=MANAGER)
            _scaled(ctx, deploy, f"{meta['name']}-{pod_hash}", 0, desired)
            created = True
            new_rs = ctx.entry("apps", "ReplicaSet", meta["namespace"], rs["metadata"]["name"])
        elif new_rs is not None and not paused and int(new_rs.obj["spec"].get("replicas", 0)) != desired:
            changed = new_rs.copy()
            _scaled(ctx, deploy, new_rs.name, int(changed["spec"].get("replicas", 0)), desired)
            changed["spec"]["replicas"] = desired
            ctx.update(changed, manager=MANAGER)
            new_rs = ctx.entry("apps", "ReplicaSet", meta["namespace"], new_rs.name)
        if new_rs is not None:
            # The real controller copies the new ReplicaSet's revision onto the Deployment, in an
            # Update of its own (its own managedFields entry): every rolled-out Deployment of a
            # real cluster carries it, and kubectl rollout history reads it.
            rs_revision = (new_rs.obj["metadata"].get("annotations") or {}).get(REVISION)
            latest = ctx.entry("apps", "Deployment", ref[2], ref[3])
            if (
                rs_revision
                and latest is not None
                and (latest.obj["metadata"].get("annotations") or {}).get(REVISION) != rs_revision
            ):
                stamped = latest.copy()
                stamped["metadata"].setdefault("annotations", {})[REVISION] = rs_revision
                ctx.update(stamped, manager=MANAGER)
        new_available = int(((new_rs.obj.get("status") or {}) if new_rs else {}).get("availableReplicas", 0))
        if not paused:
            # Old ReplicaSets keep serving until the new pods are available to replace them.
            budget = max(desired - new_available, 0)
            for rs_entry in sorted(old, key=lambda e: e.obj["metadata"]["creationTimestamp"], reverse=True):
                current = int(rs_entry.obj["spec"].get("replicas", 0))
                want = min(current, budget)
                budget -= want
                if want != current:
                    changed = rs_entry.copy()
                    changed["spec"]["replicas"] = want
                    ctx.update(changed, manager=MANAGER)
                    _scaled(ctx, deploy, rs_entry.name, current, want)
        return self._status(ctx, ref, desired, new_rs, created)

    def _status(
        self, ctx: ctl.Context, ref: ctl.Ref, desired: int, new_rs: Any, created: bool
    ) -> float | None:
        entry = ctx.entry("apps", "Deployment", ref[2], ref[3])
        if entry is None:
            return None
        deploy = entry.obj
        spec = deploy.get("spec") or {}
        owned = [e.obj for e in ctx.owned(deploy, "apps", "ReplicaSet")]
        totals = {
            k: sum(int((rs.get("status") or {}).get(k, 0)) for rs in owned)
            for k in ("replicas", "readyReplicas", "availableReplicas")
        }
        new_status = (new_rs.obj.get("status") or {}) if new_rs is not None else {}
        updated = int(new_status.get("replicas", 0))
        available = totals["availableReplicas"]
        max_unavailable = (
            _pods.scaled(
                (spec.get("strategy") or {}).get("rollingUpdate", {}).get("maxUnavailable", "25%"),
                desired,
                round_up=False,
            )
            if (spec.get("strategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
            else 0
        )
        now = ctx.time()
        stamp = cluster.now_text(now)
        old_status = deploy.get("status") or {}
        status: dict[str, Any] = {
            "observedGeneration": deploy["metadata"].get("generation", 1),
            "replicas": totals["replicas"],
            "updatedReplicas": updated,
            "readyReplicas": totals["readyReplicas"],
            "availableReplicas": available,
            "unavailableReplicas": max(totals["replicas"], desired) - available,
        }
        status = {k: v for k, v in status.items() if v or k == "observedGeneration"}
        conditions = [dict(c) for c in old_status.get("conditions") or []]
        if available >= desired - max_unavailable:
            ctl.set_condition(
                conditions,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                now=stamp,
                update_time=True,
            )
        else:
            ctl.set_condition(
                conditions,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now=stamp,
                update_time=True,
            )
        rs_name = new_rs.name if new_rs is not None else ""
        complete = (
            new_rs is not None
            and updated == desired
            and available == desired
            and totals["replicas"] == desired
        )
        state = ctx.state(self.name)
        uid = deploy["metadata"]["uid"]
        signature = (
            deploy["metadata"].get("generation"),
            updated,
            totals["readyReplicas"],
            available,
            totals["replicas"],
        )
        last = state.get(uid)
        if last is None or last[0] != signature:
            last = state[uid] = (signature, now)
        deadline = float(spec.get("progressDeadlineSeconds", 600))
        requeue: float | None = None
        if spec.get("paused"):
            ctl.set_condition(
                conditions,
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused",
                now=stamp,
                update_time=True,
            )
        elif complete:
            ctl.set_condition(
                conditions,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
                now=stamp,
                update_time=True,
            )
        elif now - last[1] >= deadline:
            ctl.set_condition(
                conditions,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs_name}" has timed out progressing.',
                now=stamp,
                update_time=True,
            )
        else:
            reason = "NewReplicaSetCreated" if created else "ReplicaSetUpdated"
            message = (
                f'Created new replica set "{rs_name}"'
                if reason == "NewReplicaSetCreated"
                else f'ReplicaSet "{rs_name}" is progressing.'
            )
            ctl.set_condition(conditions, "Progressing", "True", reason, message, now=stamp, update_time=True)
            requeue = max(last[1] + deadline - now, 0.05)
        # Keep the order the real controller writes them in.
        conditions.sort(key=lambda c: {"Available": 0, "Progressing": 1}.get(c.get("type", ""), 2))
        status["conditions"] = conditions
        if old_status != status:
            new = entry.copy()
            new["status"] = status
            ctx.update_status(new, manager=MANAGER)
        return requeue


def _scaled(ctx: ctl.Context, deploy: dict[str, Any], rs_name: str, old: int, new: int) -> None:
    """The event the deployment controller records for every ReplicaSet it scales."""
    if old == new:
        return
    direction = "up" if new > old else "down"
    ctx.event(
        deploy,
        events.EventType.NORMAL,
        "ScalingReplicaSet",
        f"Scaled {direction} replica set {rs_name} from {old} to {new}",
        component="deployment-controller",
    )


ctl.register(DeploymentController())
