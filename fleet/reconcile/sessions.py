"""One cluster for one run: its API client, the live objects its LISTs returned, the inventories
of its Applications, its sealing certificate and its secret resolution, shared by the threads
that reconcile its Applications.

Where it sits: ``fleet.reconcile.sync_cluster`` opens a ``Session`` once it connected, reads the
inventories and one LIST per resource type through it, then hands it to every ``app_sync.AppSync``
and ``removal`` run of the cluster; they read live objects from it instead of the API, and keep it
current as they write.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fleet import clocks, errors, inventory
from fleet.clusters import client
from fleet.reconcile import failures, livecache, units
from fleet.secrets import resolver as secret_resolver

Ref = inventory.ObjectRef

MANAGED_SELECTOR = f"{inventory.MANAGED_BY_LABEL}={inventory.MANAGED_BY_VALUE}"
# Time kept back from the cluster deadline so the result still gets home before the driver gives up.
DEADLINE_MARGIN = 1.0

# resolver_key -> (resolver, refresh generation seen)
_RESOLVERS: dict[str, tuple[secret_resolver.Resolver, int]] = {}
_RESOLVERS_LOCK = threading.Lock()


def shared_resolver(work: units.ClusterWork) -> secret_resolver.Resolver | None:
    """The resolver this process keeps for the run's ``resolver_key`` (long-running mode), so its
    TTL cache lasts across runs even where the work arrives pickled (a Ray actor); its cache is
    dropped when ``fleet secrets refresh`` bumped the generation the driver read. Without a key:
    the work's own resolver (None: the default providers)."""
    key = work.settings.resolver_key
    if work.resolver is None or not key:
        return work.resolver
    generation = work.settings.secrets_generation
    with _RESOLVERS_LOCK:
        found = _RESOLVERS.get(key)
        if found is None:
            _RESOLVERS[key] = (work.resolver, generation)
            return work.resolver
        resolver, seen = found
        if seen != generation:
            resolver.refresh()
            _RESOLVERS[key] = (resolver, generation)
        return resolver


class Session:
    """The connection and the live state of one cluster, shared by its Applications' threads."""

    def __init__(
        self,
        work: units.ClusterWork,
        api: client.ClusterClient,
        deadline: float | None,
        *,
        connect: Callable[[], client.ClusterClient] | None = None,
        clock: clocks.Clock | None = None,
    ) -> None:
        self.work = work
        self.settings = work.settings
        self.cluster = work.cluster
        self.api = api
        self.deadline = deadline
        # Every wait and measure of the worker (backoff, health polls, the deadline, durations)
        # goes through it: the deadline was set on it (sync_cluster).
        self.clock = clock or clocks.current()
        self.live: dict[Ref, dict[str, Any]] = {}
        self.inventories: dict[str, inventory.Inventory] = {}
        self.inventory_objects: dict[str, dict[str, Any]] = {}
        self.list_errors: dict[tuple[str, str], BaseException] = {}
        # Objects several of the cluster's Applications render: the Application that keeps each
        # (the others leave it alone: SharedResourceWarning). Set once, before the Applications run.
        self.claims: dict[Ref, str] = {}
        # Applications this run deletes or preserves (removed from Git): their objects are free.
        self.released: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._namespace_ready = False
        self._certificate: Any = None
        self._resolution: secret_resolver.ClusterResolution | None = None
        # The live objects this process kept from earlier runs of the cluster: LISTs answered by
        # metadata only, or (long-running mode) by the watches that keep them current.
        self.kept = livecache.for_cluster(
            work.cluster.name,
            work.cluster.server,
            disk_root="" if self.settings.long_running else self.settings.live_cache_dir,
        )
        self.list_mode = livecache.Mode.WATCH if self.settings.long_running else livecache.Mode.METADATA
        self._connect = connect

    # -- time ---------------------------------------------------------------------------------------

    def remaining(self) -> float:
        if self.deadline is None:
            return float("inf")
        return self.deadline - self.clock.monotonic()

    def check_time(self, what: str) -> None:
        if self.remaining() <= 0:
            raise failures.DeadlineExceeded(f"cluster {self.cluster.name}: out of time before {what}")

    # -- reading ------------------------------------------------------------------------------------

    def read_inventories(self, *, also_configmaps: bool) -> None:
        """ONE LIST: the inventory ConfigMaps (or, when the Applications render ConfigMaps anyway,
        every labelled ConfigMap, which serves both purposes)."""
        namespace = None if also_configmaps and not self.cluster.namespaces else inventory.INVENTORY_NAMESPACE
        try:
            items = self._list("v1", "ConfigMap", namespace, MANAGED_SELECTOR)
        except client.NotFound:
            items = []
        for item in items:
            self._remember(item)
            meta = item.get("metadata") or {}
            app = (meta.get("annotations") or {}).get(inventory.APP_LABEL)
            if meta.get("namespace") == inventory.INVENTORY_NAMESPACE and app:
                self.inventories[str(app)] = inventory.from_configmap(item)
                self.inventory_objects[str(app)] = item
        if self.inventories:
            self._namespace_ready = True

    def list_kind(self, group: str, kind: str, api_version: str, *, everything: bool = False) -> None:
        """ONE LIST of a resource type across namespaces (label-filtered unless ``everything``)."""
        selector = None if everything else MANAGED_SELECTOR
        namespaces: Sequence[str | None] = [None]
        try:
            namespaced = self.api.resource(api_version, kind).namespaced
            if namespaced and self.cluster.namespaces:
                namespaces = list(self.cluster.namespaces)  # RBAC may only allow these (Argo CD's namespaces)
            for namespace in namespaces:
                try:
                    items = self._list(api_version, kind, namespace, selector)
                except client.NotFound:
                    items = []
                for item in items:
                    self._remember(item)
        except client.UnknownKind:
            return  # not served (yet): a CRD applied in this sync; nothing of it exists
        except (client.Forbidden, client.BadRequest, client.Invalid) as exc:
            self.list_errors[(group, kind)] = exc

    def _list(
        self, api_version: str, kind: str, namespace: str | None, selector: str | None
    ) -> list[dict[str, Any]]:
        key = livecache.ListKey(api_version, kind, namespace or "", selector or "")
        return self.kept.read(self.api, key, mode=self.list_mode, connect=self._connect)

    def remember(self, obj: dict[str, Any]) -> None:
        """An object the run wrote (an apply's answer): kept for the next run's comparison."""
        self.kept.remember(obj)

    def _remember(self, obj: dict[str, Any]) -> None:
        with self._lock:
            self.live[Ref.from_object(obj)] = obj

    def get_live(self, ref: Ref) -> dict[str, Any] | None:
        with self._lock:
            return self.live.get(ref)

    def set_live(self, ref: Ref, obj: dict[str, Any] | None) -> None:
        with self._lock:
            if obj is None:
                self.live.pop(ref, None)
            else:
                self.live[ref] = obj
        if obj is not None:
            self.kept.remember(obj)

    def refresh(self, refs: Iterable[tuple[Ref, str]]) -> None:
        """GET these objects again (before a retry: the cluster may have changed meanwhile)."""
        for ref, api_version in refs:
            try:
                obj = self.api.get(api_version, ref.kind, ref.name, ref.namespace or None)
            except client.UnknownKind:
                obj = None
            self.set_live(ref, obj)

    def warning_events(self, namespace: str) -> list[dict[str, Any]]:
        """ONE LIST: the Warning Events of a namespace (only asked for namespaces that hold an
        unhealthy object). Best effort: a cluster that refuses it shows no events."""
        try:
            items, _ = self.api.list("v1", "Event", namespace=namespace, field_selector="type=Warning")
        except errors.FleetError:
            return []
        return items

    # -- secrets ------------------------------------------------------------------------------------

    def resolution(self) -> secret_resolver.ClusterResolution:
        """The run's reference resolution for this cluster (its cache shared by the Applications)."""
        with self._lock:
            if self._resolution is None:
                resolver = shared_resolver(self.work) or secret_resolver.Resolver()
                self._resolution = resolver.for_cluster(self.cluster)
            return self._resolution

    def certificate(self) -> Any:
        """The cluster's sealing certificate (registry annotation, else fetched once per run)."""
        from fleet.secrets.sealed import certs

        with self._lock:
            if self._certificate is None:
                self._certificate = certs.certificate_for_cluster(self.cluster, client=self.api)
            return self._certificate

    # -- writing ------------------------------------------------------------------------------------

    def ensure_inventory_namespace(self) -> None:
        with self._lock:
            if self._namespace_ready:
                return
            if Ref("", "Namespace", "", inventory.INVENTORY_NAMESPACE) not in self.live:
                ns = {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {
                        "name": inventory.INVENTORY_NAMESPACE,
                        "labels": {inventory.MANAGED_BY_LABEL: inventory.MANAGED_BY_VALUE},
                    },
                }
                self.kept.remember(self.api.apply(ns, force=True))
            self._namespace_ready = True
