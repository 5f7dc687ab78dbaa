"""Namespace controller: a deleted namespace empties itself, then disappears.

On a namespace with ``deletionTimestamp``: delete every object in it (background propagation),
and once nothing is left (objects with finalizers keep it waiting, as in a real cluster) remove
the ``kubernetes`` finalizer from ``spec.finalizers``, which lets the API layer remove it.
"""

from __future__ import annotations

from collections.abc import Iterable

from fleet.clusters.sim import controllers as ctl
from fleet.clusters.sim import store


class NamespaceController:
    name = "namespace-controller"
    kinds = (("", "Namespace"),)

    def triggers(self, ctx: ctl.Context, event: store.Event) -> Iterable[ctl.Ref]:
        # An object leaving a terminating namespace may be the last one it waits for.
        if event.type == "DELETED" and event.entry.namespace:
            ns = ctx.entry("", "Namespace", "", event.entry.namespace)
            if ns is not None and ctl.is_terminating(ns.obj):
                yield ("", "Namespace", "", ns.name)

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        entry = ctx.entry("", "Namespace", "", ref[3])
        if entry is None or not ctl.is_terminating(entry.obj):
            return None
        ns = entry.name
        sim = ctx.cluster
        remaining = 0
        for key, by_ns in list(sim.store.data.items()):
            names = by_ns.get(ns)
            if not names:
                continue
            rt = sim.catalog().by_key.get(key)
            for obj_entry in list(names.values()):
                remaining += 1
                if rt is None or ctl.is_terminating(obj_entry.obj):
                    continue
                sim.delete(rt, ns, obj_entry.name, propagation="Background")
        if remaining and any(by_ns.get(ns) for by_ns in sim.store.data.values()):
            return None  # wait for DELETED events (finalizers may hold objects)
        new = entry.copy()
        finalizers = [f for f in (new.get("spec") or {}).get("finalizers") or [] if f != "kubernetes"]
        new.setdefault("spec", {})["finalizers"] = finalizers
        if not finalizers:
            new["spec"].pop("finalizers")
        rt = sim.rt("", "Namespace")
        sim.update(rt, "", ns, new, manager=self.name, subresource="finalize")
        return None


ctl.register(NamespaceController())
