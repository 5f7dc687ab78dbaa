"""Volume binder: a PersistentVolumeClaim becomes Bound, with the capacity it asked for."""

from __future__ import annotations

from fleet.clusters.sim import controllers as ctl


class VolumeBinder:
    name = "persistentvolume-binder"
    kinds = (("", "PersistentVolumeClaim"),)

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        entry = ctx.entry("", "PersistentVolumeClaim", ref[2], ref[3])
        if entry is None or ctl.is_terminating(entry.obj):
            return None
        if (entry.obj.get("status") or {}).get("phase") == "Bound":
            return None
        spec = entry.obj.get("spec") or {}
        new = entry.copy()
        new["status"] = {
            "phase": "Bound",
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "capacity": {
                "storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
            },
        }
        ctx.update_status(new, manager="kube-controller-manager")
        return None


ctl.register(VolumeBinder())
