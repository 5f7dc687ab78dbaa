"""Garbage collector: dependents follow their owners (``metadata.ownerReferences``).

- Background: after an owner is gone, its dependents are deleted (unless another owner remains,
  in which case only the dangling reference is dropped).
- Foreground: an owner with the ``foregroundDeletion`` finalizer deletes its dependents first;
  once none is left the finalizer is removed and the owner goes.
- Orphan is done by the API layer at delete time (references removed, dependents kept).
"""

from __future__ import annotations

from collections.abc import Iterable

from fleet.clusters.sim import controllers as ctl
from fleet.clusters.sim import store

FOREGROUND = "foregroundDeletion"
_GONE = "gone"  # ref = (_GONE, owner uid, "", ""): delete the dependents of a vanished owner
_FG = "foreground:"  # ref = (_FG + group, kind, namespace, name): an owner deleting in the foreground


class GarbageCollector:
    name = "garbage-collector"
    kinds: tuple[tuple[str, str], ...] = ()

    def triggers(self, ctx: ctl.Context, event: store.Event) -> Iterable[ctl.Ref]:
        obj = event.entry.obj
        meta = obj["metadata"]
        if event.type == "DELETED":
            if ctx.cluster.store.dependents(meta["uid"]):
                yield (_GONE, meta["uid"], "", "")
            for ref in meta.get("ownerReferences") or ():
                group = str(ref.get("apiVersion", "")).rpartition("/")[0]
                yield (_FG + group, str(ref.get("kind", "")), event.entry.namespace, str(ref.get("name", "")))
        elif FOREGROUND in (meta.get("finalizers") or ()) and meta.get("deletionTimestamp"):
            yield (_FG + event.key[0], str(obj.get("kind", "")), event.entry.namespace, event.entry.name)

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        if ref[0] == _GONE:
            self._collect(ctx, ref[1])
        elif ref[0].startswith(_FG):
            self._foreground(ctx, ref[0][len(_FG) :], ref[1], ref[2], ref[3])
        return None

    def _collect(self, ctx: ctl.Context, uid: str) -> None:
        sim = ctx.cluster
        for key, ns, name in sorted(sim.store.dependents(uid)):
            dep = sim.store.get(key, ns, name)
            rt = sim.catalog().by_key.get(key)
            if dep is None or rt is None or ctl.is_terminating(dep.obj):
                continue
            others = [r for r in dep.obj["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            if any(self._owner_exists(ctx, r, ns) for r in others):
                sim.orphan_dependents(uid)
                continue
            sim.delete(rt, ns, name, propagation="Background")

    @staticmethod
    def _owner_exists(ctx: ctl.Context, ref: dict[str, object], namespace: str) -> bool:
        group = str(ref.get("apiVersion", "")).rpartition("/")[0]
        found = ctx.entry(group, str(ref.get("kind", "")), namespace, str(ref.get("name", "")))
        return found is not None and found.uid == ref.get("uid")

    def _foreground(self, ctx: ctl.Context, group: str, kind: str, namespace: str, name: str) -> None:
        sim = ctx.cluster
        entry = ctx.entry(group, kind, namespace, name)
        if entry is None:
            return
        meta = entry.obj["metadata"]
        if FOREGROUND not in (meta.get("finalizers") or ()) or not meta.get("deletionTimestamp"):
            return
        remaining = False
        for key, ns, dep_name in sorted(sim.store.dependents(entry.uid)):
            dep = sim.store.get(key, ns, dep_name)
            rt = sim.catalog().by_key.get(key)
            if dep is None or rt is None:
                continue
            remaining = True
            if not ctl.is_terminating(dep.obj):
                sim.delete(rt, ns, dep_name, propagation="Foreground")
        if remaining and sim.store.dependents(entry.uid):
            return  # the dependents' DELETED events bring us back
        rt = sim.rt(group, kind)
        new = entry.copy()
        new["metadata"]["finalizers"] = [f for f in meta.get("finalizers") or [] if f != FOREGROUND]
        sim.update(rt, entry.namespace, entry.name, new, manager=self.name)


ctl.register(GarbageCollector())
