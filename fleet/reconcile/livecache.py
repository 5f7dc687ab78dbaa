"""The live objects a worker process keeps per cluster across runs, so that a resync fetches only
what may have changed (issue 15).

Where it sits: ``sessions.Session`` reads every LIST of a cluster through its ``ClusterCache``
(the inventories, one LIST per resource type) and hands it every object the run writes or reads
again. A process runs many clusters (a Ray actor, the local executor's threads), and in
long-running mode (``--every``, ``fleet serve``) it runs them again and again.

Two ways of keeping the copy current:

1. **Metadata-only** (every run): a LIST of metadata only (``PartialObjectMetadataList``), then the
   full object only where the kept copy's resourceVersion differs (a GET each; one full LIST when
   many differ). Every write to an object, by fleet, a controller or a person with ``kubectl
   edit``, bumps its resourceVersion, so a copy with the same resourceVersion is the object
   itself, and drift made by hand is still fetched and diffed. A process that never listed the
   type lists in full (there is nothing to compare against).
2. **Watch** (long-running mode): after one full LIST, a watch per LIST with bookmarks keeps the
   copy current on a thread; a run reads the copy and sends no request at all, so an idle
   cluster costs nothing per interval. A 410 Gone (the watch fell behind the server's event log)
   or a broken stream marks the copy stale: the next run lists in full and watches again.

Bounds: a cluster keeps at most ``MAX_OBJECTS`` objects (beyond that its copy is dropped and
runs list in full), and a process keeps at most ``MAX_CLUSTERS`` clusters (the least recently
used is dropped and its watches stopped). Copies are kept as JSON text and parsed per run, so no
caller can change a kept copy in place. Everything stays in this process's memory; nothing is
written to disk (live objects include Secrets).
"""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fleet import errors, inventory, log
from fleet.clusters import client

_log = log.get_logger(__name__)

Ref = inventory.ObjectRef

MAX_OBJECTS = 20_000  # per cluster
MAX_CLUSTERS = 5_000  # per process
# Seconds a watch request lasts before the server ends it and the watch starts again from the
# last resourceVersion it saw (bookmarks keep that recent): one request per this much idle time,
# not per run. The API server's own cap is --min-request-timeout (30 min, randomised).
WATCH_SECONDS = 300
# A metadata LIST whose changed objects exceed this share is followed by one full LIST, not a GET
# per object.
FULL_LIST_SHARE = 0.25


class Mode(StrEnum):
    """How a LIST is answered from the kept copy."""

    METADATA = "metadata"  # metadata-only LIST, full objects only where the resourceVersion moved
    WATCH = "watch"  # the copy a watch keeps current; no request while it holds


@dataclass(frozen=True, slots=True)
class ListKey:
    """One LIST: a resource type in one namespace (or all), with a label selector (or none)."""

    api_version: str
    kind: str
    namespace: str  # '' for all namespaces
    selector: str  # '' for none


class _Watch:
    """A watch keeping the members of one LIST current, on its own thread."""

    def __init__(self, cache: ClusterCache, key: ListKey, rv: str, members: dict[Ref, str]) -> None:
        self.cache = cache
        self.key = key
        self.rv = rv
        self.members = members  # ref -> resourceVersion
        self.stale = False
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name=f"fleet-watch-{cache.name}-{key.kind}", daemon=True
        )

    def _run(self) -> None:
        try:
            while not self.stopped.is_set():
                api = self.cache.watch_client()
                if api is None:
                    break
                events = api.watch(
                    self.key.api_version,
                    self.key.kind,
                    namespace=self.key.namespace or None,
                    label_selector=self.key.selector or None,
                    resource_version=self.rv,
                    timeout_seconds=WATCH_SECONDS,
                    allow_bookmarks=True,
                )
                for event in events:
                    if self.stopped.is_set():
                        break
                    self.cache.on_event(self, str(event.get("type") or ""), event.get("object") or {})
        except client.Gone:
            _log.debug("watch expired; the next run lists again", extra={"fields": self._fields()})
        except Exception as exc:  # noqa: BLE001 - whatever broke the stream, the next run lists again
            _log.debug("watch ended", extra={"fields": {**self._fields(), "error": str(exc)}})
        finally:
            self.stale = True

    def _fields(self) -> dict[str, Any]:
        return {"cluster": self.cache.name, "kind": self.key.kind, "namespace": self.key.namespace}


class ClusterCache:
    """The kept live objects of one cluster, and the watches of its LISTs (long-running mode)."""

    def __init__(self, name: str, server: str) -> None:
        self.name = name
        self.server = server
        self._lock = threading.Lock()
        # ref -> (uid/resourceVersion, JSON): the uid too, so that an object deleted and created
        # again, or another server behind a reused address, never passes for the kept one.
        self._objects: dict[Ref, tuple[str, str]] = {}
        self._listed: set[ListKey] = set()
        self._watches: dict[ListKey, _Watch] = {}
        self._connect: Callable[[], client.ClusterClient] | None = None
        self._watch_api: client.ClusterClient | None = None
        self.closed = False

    # -- what the run writes and reads again -------------------------------------------------------

    def remember(self, obj: dict[str, Any]) -> None:
        """Keep a full object the run wrote or read (an apply's answer, a GET)."""
        version = _version(obj)
        if not version:
            return
        text = json.dumps(obj, separators=(",", ":"))
        with self._lock:
            self._keep(Ref.from_object(obj), version, text)

    def _keep(self, ref: Ref, version: str, text: str) -> None:
        if ref not in self._objects and len(self._objects) >= MAX_OBJECTS:
            # Too big to keep: forget it all; metadata LISTs then find nothing to compare and
            # list in full, as without a cache.
            self._objects.clear()
            self._listed.clear()
        self._objects[ref] = (version, text)

    def _copy(self, ref: Ref, version: str | None = None) -> dict[str, Any] | None:
        kept = self._objects.get(ref)
        if kept is None or (version is not None and kept[0] != version):
            return None
        result: dict[str, Any] = json.loads(kept[1])
        return result

    # -- LISTs ---------------------------------------------------------------------------------------

    def read(
        self,
        api: client.ClusterClient,
        key: ListKey,
        *,
        mode: Mode,
        connect: Callable[[], client.ClusterClient] | None = None,
    ) -> list[dict[str, Any]]:
        """The objects of one LIST: from the watched copy, or a metadata LIST and the objects whose
        resourceVersion moved, or (first time) a full LIST."""
        if mode is Mode.WATCH:
            with self._lock:
                watch = self._watches.get(key)
                if watch is not None and not watch.stale:
                    copies = [self._copy(ref) for ref in watch.members]
                    if all(c is not None for c in copies):
                        return [c for c in copies if c is not None]
            return self._list_and_watch(api, key, connect)
        with self._lock:
            listed = key in self._listed
        if not listed:
            items, _ = self._full_list(api, key)
            return items
        return self._list_metadata(api, key)

    def _full_list(self, api: client.ClusterClient, key: ListKey) -> tuple[list[dict[str, Any]], str]:
        items, rv = api.list(
            key.api_version, key.kind, namespace=key.namespace or None, label_selector=key.selector or None
        )
        with self._lock:
            for item in items:
                version = _version(item)
                if version:
                    self._keep(Ref.from_object(item), version, json.dumps(item, separators=(",", ":")))
            self._listed.add(key)
        return items, rv

    def _list_metadata(self, api: client.ClusterClient, key: ListKey) -> list[dict[str, Any]]:
        heads, _ = api.list(
            key.api_version,
            key.kind,
            namespace=key.namespace or None,
            label_selector=key.selector or None,
            metadata_only=True,
        )
        found: list[dict[str, Any]] = []
        moved: list[Ref] = []
        with self._lock:
            for head in heads:
                ref = Ref.from_object(head)
                copy = self._copy(ref, _version(head))
                if copy is None:
                    moved.append(ref)
                else:
                    found.append(copy)
        if not moved:
            return found
        if len(moved) > max(2, int(len(heads) * FULL_LIST_SHARE)):
            items, _ = self._full_list(api, key)
            return items
        for ref in moved:
            obj = api.get(key.api_version, key.kind, ref.name, ref.namespace or None)
            if obj is not None:  # gone since the LIST: so it is not part of it any more
                self.remember(obj)
                found.append(obj)
        return found

    def _list_and_watch(
        self, api: client.ClusterClient, key: ListKey, connect: Callable[[], client.ClusterClient] | None
    ) -> list[dict[str, Any]]:
        items, rv = self._full_list(api, key)
        with self._lock:
            old = self._watches.pop(key, None)
            if old is not None:
                old.stopped.set()
            if connect is not None and self._connect is None:
                self._connect = connect
            if self._connect is None or self.closed or not rv:
                return items
            members = {Ref.from_object(i): _version(i) for i in items}
            watch = _Watch(self, key, rv, members)
            self._watches[key] = watch
        watch.thread.start()
        return items

    # -- watches -------------------------------------------------------------------------------------

    def watch_client(self) -> client.ClusterClient | None:
        """The client the watches share (their own: a run's client closes when the run ends)."""
        with self._lock:
            if self.closed or self._connect is None:
                return None
            if self._watch_api is None:
                self._watch_api = self._connect()
            return self._watch_api

    def on_event(self, watch: _Watch, kind: str, obj: dict[str, Any]) -> None:
        rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        with self._lock:
            if self._watches.get(watch.key) is not watch:
                return  # replaced by a newer watch
            if rv:
                watch.rv = rv
            if kind == "BOOKMARK" or not rv:
                return
            ref = Ref.from_object(obj)
            if kind == "DELETED":
                watch.members.pop(ref, None)
                self._objects.pop(ref, None)
            else:
                watch.members[ref] = _version(obj)
                self._keep(ref, _version(obj), json.dumps(obj, separators=(",", ":")))

    def version(self, ref: Ref) -> str | None:
        """The kept copy's ``uid/resourceVersion`` (None: none kept)."""
        with self._lock:
            kept = self._objects.get(ref)
            return kept[0] if kept is not None else None

    def watching(self) -> list[ListKey]:
        """The LISTs a live watch keeps current."""
        with self._lock:
            return [key for key, watch in self._watches.items() if not watch.stale]

    def close(self) -> None:
        """Stop the watches (each ends with its current request) and forget everything."""
        with self._lock:
            self.closed = True
            for watch in self._watches.values():
                watch.stopped.set()
            self._watches.clear()
            self._objects.clear()
            self._listed.clear()
            api, self._watch_api = self._watch_api, None
        if api is not None:
            api.close()


def _version(obj: dict[str, Any]) -> str:
    """``uid/resourceVersion``: the same for two reads exactly when nothing wrote in between."""
    meta = obj.get("metadata") or {}
    rv = str(meta.get("resourceVersion") or "")
    return f"{meta.get('uid') or ''}/{rv}" if rv else ""


_CACHES: collections.OrderedDict[tuple[str, str], ClusterCache] = collections.OrderedDict()
_CACHES_LOCK = threading.Lock()


def for_cluster(name: str, server: str) -> ClusterCache:
    """This process's cache of one cluster (created on first use; least recently used dropped)."""
    key = (name, server.rstrip("/"))
    dropped: list[ClusterCache] = []
    with _CACHES_LOCK:
        cache = _CACHES.get(key)
        if cache is None or cache.closed:
            cache = _CACHES[key] = ClusterCache(name, key[1])
        _CACHES.move_to_end(key)
        while len(_CACHES) > MAX_CLUSTERS:
            dropped.append(_CACHES.popitem(last=False)[1])
    for old in dropped:
        old.close()
    return cache


def close_all() -> None:
    """Stop every watch and forget every cluster (the end of a long-running loop, or a test)."""
    with _CACHES_LOCK:
        caches = list(_CACHES.values())
        _CACHES.clear()
    for cache in caches:
        try:
            cache.close()
        except errors.FleetError:
            pass
