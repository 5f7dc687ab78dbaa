"""CustomResourceDefinition status: names accepted and Established, as soon as they are served.

Serving itself starts at the write (``cluster.SimCluster._sync_crd``), so a custom resource may
be applied right after its CRD, in the same ``kubectl apply``.
"""

from __future__ import annotations

from fleet.clusters.sim import controllers as ctl


class CrdController:
    name = "apiextensions-controller"
    kinds = (("apiextensions.k8s.io", "CustomResourceDefinition"),)

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        entry = ctx.entry("apiextensions.k8s.io", "CustomResourceDefinition", "", ref[3])
        if entry is None or ctl.is_terminating(entry.obj):
            return None
        spec = entry.obj.get("spec") or {}
        stamp = ctx.cluster.now_text()
        old = entry.obj.get("status") or {}
        conditions = [dict(c) for c in old.get("conditions") or []]
        ctl.set_condition(conditions, "NamesAccepted", "True", "NoConflicts", "no conflicts found", now=stamp)
        ctl.set_condition(
            conditions,
            "Established",
            "True",
            "InitialNamesAccepted",
            "the initial names have been accepted",
            now=stamp,
        )
        storage = [v.get("name") for v in spec.get("versions") or [] if v.get("storage")]
        stored = list(old.get("storedVersions") or [])
        stored.extend(v for v in storage if v not in stored)
        status = {
            "acceptedNames": dict(spec.get("names") or {}),
            "conditions": conditions,
            "storedVersions": stored,
        }
        if old != status:
            new = entry.copy()
            new["status"] = status
            ctx.update_status(new, manager="kube-apiserver")
        return None


ctl.register(CrdController())
