"""Simulated controllers: what makes a simulated cluster's objects change on their own.

Each module in this package implements one controller (deployment, replicaset, pod, ...) and
registers it at import with ``register``; every module here is imported automatically, so a new
controller is a new file (a Sealed Secrets controller adds ``sealedsecrets.py``). A controller
declares the kinds it reconciles; the per-cluster ``Manager`` enqueues an object when it or one
of its owned objects changes, and runs ``reconcile`` soon after on the server's event loop.
Idle clusters cost nothing: work is scheduled only by changes and by requested requeues.

Controllers may also answer the API server's service proxy
(``/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH``) through ``register_service_proxy``.
"""

from __future__ import annotations

import asyncio
import builtins
import importlib
import json
import pkgutil
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from fleet import log
from fleet.clusters.sim import events, selectors, status, store

if TYPE_CHECKING:
    from fleet.clusters.sim import cluster as cluster_mod

_log = log.get_logger(__name__)

Ref = tuple[str, str, str, str]  # (group, kind, namespace, name)


class Controller(Protocol):
    """A simulated controller. ``name`` is also its field manager name."""

    # Read-only members: controllers set them as class attributes of narrower tuple types.
    @property
    def name(self) -> str: ...

    @property
    def kinds(self) -> tuple[tuple[str, str], ...]:
        """(group, kind) of the objects it reconciles."""

    def reconcile(self, ctx: Context, ref: Ref) -> float | None:
        """Bring ``ref`` one step closer to its desired state; return seconds until it should run
        again (None: only when something changes)."""
        ...


@dataclass(frozen=True)
class ProxyRequest:
    method: str
    path: str  # below .../proxy, starting with "/"
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class ProxyResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


ProxyHandler = Callable[["Context", ProxyRequest], "ProxyResponse | Awaitable[ProxyResponse]"]

_registry: dict[str, Controller] = {}
_proxies: dict[tuple[str, str, str], ProxyHandler] = {}
_loaded = False


def register(controller: Controller) -> Controller:
    """Add a controller to every simulated cluster (call at import of its module)."""
    _registry[controller.name] = controller
    return controller


def unregister(name: str) -> None:
    """Remove a controller (tests that register one of their own); clusters started later lack it."""
    _registry.pop(name, None)


def register_service_proxy(namespace: str, service: str, port: str, handler: ProxyHandler) -> None:
    """Answer ``GET|POST .../namespaces/{namespace}/services/{service}:{port}/proxy/...`` with
    ``handler``; ``port`` is the port name or number as the client writes it (``http``, ``8080``)."""
    _proxies[(namespace, service, str(port))] = handler


def unregister_service_proxy(namespace: str, service: str, port: str) -> None:
    _proxies.pop((namespace, service, str(port)), None)


def proxy_handler(namespace: str, service: str, port: str) -> ProxyHandler | None:
    load()
    return _proxies.get((namespace, service, port))


def load() -> dict[str, Controller]:
    """Import every controller module of this package once."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            importlib.import_module(f"{__name__}.{module.name}")
    return _registry


def controllers() -> list[Controller]:
    return list(load().values())


_index: tuple[int, dict[tuple[str, str], list[Controller]]] | None = None


def _kind_index() -> dict[tuple[str, str], list[Controller]]:
    """(group, kind) -> controllers, shared by every cluster (rebuilt when one registers)."""
    global _index
    load()
    if _index is None or _index[0] != hash(tuple(_registry)):
        by_kind: dict[tuple[str, str], list[Controller]] = {}
        for controller in _registry.values():
            for kind in controller.kinds:
                by_kind.setdefault(kind, []).append(controller)
        _index = (hash(tuple(_registry)), by_kind)
    return _index[1]


# -- helpers shared by controller modules ----------------------------------------------------------


def owner_ref(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def condition(conditions: list[dict[str, Any]], type_: str) -> dict[str, Any] | None:
    return next((c for c in conditions if c.get("type") == type_), None)


def set_condition(
    conditions: list[dict[str, Any]],
    type_: str,
    status_: str,
    reason: str,
    message: str,
    *,
    now: str,
    update_time: bool = False,
) -> None:
    """Set a condition the way controllers do: transition time changes only when status does."""
    current = condition(conditions, type_)
    if current is None:
        current = {"type": type_}
        conditions.append(current)
    if current.get("status") != status_:
        current["lastTransitionTime"] = now
        if update_time:
            current["lastUpdateTime"] = now
    elif update_time and (current.get("reason") != reason or "lastUpdateTime" not in current):
        current["lastUpdateTime"] = now
    current.setdefault("lastTransitionTime", now)
    if update_time:
        current.setdefault("lastUpdateTime", now)
    current["status"] = status_
    current["reason"] = reason
    current["message"] = message


def copy_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A private deep copy of a stored object, to build its next version from."""
    copied: dict[str, Any] = json.loads(json.dumps(obj))
    return copied


def is_ready(pod: Mapping[str, Any]) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    ready = condition(conds, "Ready")
    return bool(ready and ready.get("status") == "True")


def is_terminating(obj: Mapping[str, Any]) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def pod_phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase", ""))


# -- the per-cluster runtime ------------------------------------------------------------------------


class Context:
    """What a controller may do in one cluster: read and write objects, keep state, check time."""

    def __init__(self, cluster: cluster_mod.SimCluster, manager: Manager) -> None:
        self.cluster = cluster
        self._manager = manager
        self._state: dict[str, dict[str, Any]] = {}

    @property
    def name(self) -> str:
        return self.cluster.name

    @property
    def rollout_seconds(self) -> float:
        return self.cluster.config.rollout_seconds

    def is_bad_image(self, image: str) -> bool:
        return bool(self.cluster.config.bad_image.search(image))

    def time(self) -> float:
        """The simulated time (``SimServer.advance_clock`` moves it)."""
        return self.cluster.now()

    def state(self, controller: str) -> dict[str, Any]:
        """Private, in-memory state of one controller in this cluster (lost on restart)."""
        return self._state.setdefault(controller, {})

    def entry(self, group: str, kind: str, namespace: str, name: str) -> store.Entry | None:
        rt = self.cluster.catalog().kind(group, kind)
        return None if rt is None else self.cluster.find(rt, namespace, name)

    def get(self, group: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A private copy of the object (safe to modify and write back), or None."""
        found = self.entry(group, kind, namespace, name)
        return None if found is None else found.copy()

    def list(
        self,
        group: str,
        kind: str,
        namespace: str | None = None,
        *,
        selector: Mapping[str, Any] | None = None,
    ) -> list[store.Entry]:
        """Stored entries (read-only: ``entry.copy()`` before changing one)."""
        rt = self.cluster.catalog().kind(group, kind)
        if rt is None:
            return []
        entries = self.cluster.store.iter(rt.key, namespace if rt.namespaced else None)
        match = selectors.match_labels_selector(selector)
        return [e for e in entries if match is None or match(e.obj)]

    def owned(self, owner: Mapping[str, Any], group: str, kind: str) -> builtins.list[store.Entry]:
        """Entries of (group, kind) whose ownerReferences name ``owner``."""
        rt = self.cluster.catalog().kind(group, kind)
        if rt is None:
            return []
        out = []
        for key, ns, name in sorted(self.cluster.store.dependents(owner["metadata"]["uid"])):
            if key == rt.key:
                found = self.cluster.store.get(key, ns, name)
                if found is not None:
                    out.append(found)
        return out

    def _rt(self, obj: Mapping[str, Any]) -> Any:
        return self.cluster.rt_for(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))

    def create(self, obj: dict[str, Any], *, manager: str) -> dict[str, Any]:
        rt = self._rt(obj)
        return self.cluster.create(rt, obj["metadata"].get("namespace", ""), obj, manager=manager).obj

    def update(self, obj: dict[str, Any], *, manager: str) -> dict[str, Any]:
        rt = self._rt(obj)
        meta = obj["metadata"]
        return self.cluster.update(rt, meta.get("namespace", ""), meta["name"], obj, manager=manager).obj

    def update_status(self, obj: dict[str, Any], *, manager: str) -> dict[str, Any]:
        rt = self._rt(obj)
        meta = obj["metadata"]
        subresource = "status" if rt.status else ""
        return self.cluster.update(
            rt, meta.get("namespace", ""), meta["name"], obj, manager=manager, subresource=subresource
        ).obj

    def apply(self, obj: dict[str, Any], *, manager: str, force: bool = True) -> dict[str, Any]:
        rt = self._rt(obj)
        meta = obj["metadata"]
        return self.cluster.patch(
            rt,
            meta.get("namespace", ""),
            meta["name"],
            "application/apply-patch+yaml",
            json.dumps(obj).encode(),
            manager=manager,
            force=force,
        ).obj

    def delete(
        self, group: str, kind: str, namespace: str, name: str, *, propagation: str = "Background"
    ) -> None:
        rt = self.cluster.catalog().kind(group, kind)
        if rt is None:
            return
        try:
            self.cluster.delete(rt, namespace, name, propagation=propagation)
        except status.ApiError as exc:
            if exc.code != 404:
                raise

    def enqueue(self, controller: str, ref: Ref, *, after: float = 0.0, background: bool = False) -> None:
        """Run ``controller`` on ``ref`` again after ``after`` seconds. A ``background`` retry (a
        kubelet backing off a bad image) does not keep the cluster busy (``Manager.busy``)."""
        self._manager.enqueue_by_name(controller, ref, after=after, background=background)

    def event(
        self,
        obj: Mapping[str, Any],
        type_: events.EventType,
        reason: str,
        message: str,
        *,
        component: str,
        host: str = "",
        field_path: str = "",
        series: bool = False,
        action: str = "",
    ) -> None:
        """Record an Event about ``obj`` from ``component`` (see ``events.Recorder``)."""
        self.cluster.events.record(
            obj,
            type_,
            reason,
            message,
            source=events.Source(component=component, host=host, series=series, action=action),
            field_path=field_path,
        )


class Manager:
    """Runs the registered controllers for one cluster, on the server's event loop."""

    def __init__(self, cluster: cluster_mod.SimCluster, loop: asyncio.AbstractEventLoop) -> None:
        self.cluster = cluster
        self.loop = loop
        self.ctx = Context(cluster, self)
        self._pending: dict[tuple[str, Ref], None] = {}
        self._timers: dict[tuple[str, Ref], tuple[float, asyncio.TimerHandle]] = {}
        self._background: set[tuple[str, Ref]] = set()  # timers that do not count as busy
        self._scheduled = False
        self._by_kind = _kind_index()
        self.stopped = False

    def on_event(self, event: store.Event) -> None:
        obj = event.entry.obj
        group = event.key[0]
        kind = str(obj.get("kind", ""))
        meta = obj["metadata"]
        ref = (group, kind, meta.get("namespace", ""), meta["name"])
        for controller in self._by_kind.get((group, kind), ()):
            self.enqueue(controller, ref)
        for owner in meta.get("ownerReferences") or ():
            ogroup = str(owner.get("apiVersion", "")).rpartition("/")[0]
            for controller in self._by_kind.get((ogroup, str(owner.get("kind", ""))), ()):
                self.enqueue(
                    controller, (ogroup, str(owner.get("kind", "")), ref[2], str(owner.get("name", "")))
                )
        for controller in _registry.values():
            triggers = getattr(controller, "triggers", None)
            if triggers is not None:
                for extra in triggers(self.ctx, event):
                    self.enqueue(controller, extra)

    def resync(self, only: tuple[str, str] | None = None, *, namespace: str | None = None) -> None:
        """Enqueue every object a controller reconciles (after loading saved state), or those of
        one (group, kind) and namespace (a simulated metric changed)."""
        for (group, kind), ctrls in self._by_kind.items():
            if only is not None and (group, kind) != only:
                continue
            for entry in self.ctx.list(group, kind, namespace):
                ref = (group, kind, entry.namespace, entry.name)
                for controller in ctrls:
                    self.enqueue(controller, ref)

    def enqueue_by_name(self, name: str, ref: Ref, *, after: float = 0.0, background: bool = False) -> None:
        controller = _registry.get(name)
        if controller is not None:
            self.enqueue(controller, ref, after=after, background=background)

    def enqueue(
        self, controller: Controller, ref: Ref, *, after: float = 0.0, background: bool = False
    ) -> None:
        if self.stopped:
            return
        key = (controller.name, ref)
        if after > 0:
            due = self.loop.time() + after
            existing = self._timers.get(key)
            if existing is not None:
                if existing[0] <= due:
                    return
                existing[1].cancel()
            handle = self.loop.call_at(due, self._fire, key)
            self._timers[key] = (due, handle)
            if background:
                self._background.add(key)
            else:
                self._background.discard(key)
            return
        self._pending[key] = None
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self._run)

    def _fire(self, key: tuple[str, Ref]) -> None:
        self._timers.pop(key, None)
        self._background.discard(key)
        controller = _registry.get(key[0])
        if controller is not None:
            self.enqueue(controller, key[1])

    def _run(self) -> None:
        self._scheduled = False
        # Bounded passes: writes made while reconciling enqueue more work for the next pass.
        for _ in range(50):
            if not self._pending or self.stopped:
                break
            batch, self._pending = self._pending, {}
            for name, ref in batch:
                controller = _registry.get(name)
                if controller is None:
                    continue
                try:
                    again = controller.reconcile(self.ctx, ref)
                except status.ApiError as exc:
                    # A conflicting write (e.g. a client raced the controller): try again shortly.
                    _log.debug(
                        "sim controller retry",
                        extra={
                            "fields": {
                                "cluster": self.cluster.name,
                                "controller": name,
                                "object": "/".join(ref),
                                "reason": str(exc.reason),
                            }
                        },
                    )
                    again = 0.2
                except Exception:  # noqa: BLE001 - a bug in one controller must not stop the cluster
                    _log.exception(
                        "sim controller failed",
                        extra={
                            "fields": {
                                "cluster": self.cluster.name,
                                "controller": name,
                                "object": "/".join(ref),
                            }
                        },
                    )
                    again = 5.0
                if again is not None:
                    self.enqueue(controller, ref, after=max(again, 0.001))
                elif (name, ref) not in self._background:
                    timer = self._timers.pop((name, ref), None)
                    if timer is not None:
                        timer[1].cancel()
        if self._pending and not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self._run)

    def clock_jumped(self) -> None:
        """The simulated clock moved ahead: run now whatever was waiting for a time (each
        controller computes again how long it still has to wait)."""
        timers, self._timers = self._timers, {}
        for key, (_, handle) in timers.items():
            handle.cancel()
            self._fire(key)

    def stop(self) -> None:
        self.stopped = True
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self._background.clear()
        self._pending.clear()

    def busy(self) -> bool:
        """Work is pending or scheduled (background retries do not count: they never end)."""
        return bool(self._pending or len(self._timers) > len(self._background))
