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

3. **On disk, between processes** (one-shot runs: ``fleet sync`` from cron or CI, each a new
   process): at the end of a cluster's run its copies are written to ``disk_root()``, one file per
   cluster, and the next process starts from them, so its first LIST is a metadata LIST too.
   Only objects that Git holds in plain text are written (``preparation.Prepared.plain``: no
   Secret, no secret reference, no SOPS encryption), plus fleet's own inventories and namespaces,
   and none in which a value this process resolved or decrypted appears (``redact``); Secrets and
   everything secret-bearing are fetched from the cluster every run. The files are the user's
   alone (0600 in a 0700 directory), written whole or not at all, and a copy is only ever used
   when the server reports the same uid and resourceVersion. ``FLEET_LIVE_CACHE=off`` turns this
   off. Long-running mode keeps its copies in memory (the watches keep them current).

Bounds: a cluster keeps at most ``MAX_OBJECTS`` objects (beyond that its copy is dropped and
runs list in full), and a process keeps at most ``MAX_CLUSTERS`` clusters (the least recently
used is dropped and its watches stopped). Copies are kept as JSON text and parsed per run, so no
caller can change a kept copy in place.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from fleet import errors, inventory, jsonfast, log, redact
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
# The on-disk copies (3. above): where, how to turn them off, and the layout's version (a file of
# another version is ignored and replaced).
CACHE_ENV = "FLEET_CACHE_DIR"
SWITCH_ENV = "FLEET_LIVE_CACHE"
DISK_FORMAT = 1


def disk_root() -> str:
    """``$FLEET_CACHE_DIR/live`` (or ``~/.cache/fleet/live``); '' when ``FLEET_LIVE_CACHE=off``."""
    if os.environ.get(SWITCH_ENV, "").strip().lower() in ("off", "0", "false", "no"):
        return ""
    base = os.environ.get(CACHE_ENV)
    return str(Path(base) / "live" if base else Path.home() / ".cache" / "fleet" / "live")


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

    def __init__(self, name: str, server: str, disk: Path | None = None) -> None:
        self.name = name
        self.server = server
        self.disk = disk  # the cluster's file (None: memory only)
        self._lock = threading.Lock()
        # ref -> (uid/resourceVersion, JSON): the uid too, so that an object deleted and created
        # again, or another server behind a reused address, never passes for the kept one.
        self._objects: dict[Ref, tuple[str, str]] = {}
        self._listed: set[ListKey] = set()
        self._watches: dict[ListKey, _Watch] = {}
        self._connect: Callable[[], client.ClusterClient] | None = None
        self._watch_api: client.ClusterClient | None = None
        self.closed = False
        # The objects this run may write to disk (``plain``), and what the file holds now.
        self._plain: frozenset[Ref] = frozenset()
        self._on_disk: dict[Ref, str] = {}
        self._listed_on_disk: frozenset[ListKey] = frozenset()

    # -- what the run writes and reads again -------------------------------------------------------

    def remember(self, obj: dict[str, Any]) -> None:
        """Keep a full object the run wrote or read (an apply's answer, a GET)."""
        version = _version(obj)
        if not version:
            return
        text = jsonfast.dumps(obj)
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
        result: dict[str, Any] = jsonfast.loads(kept[1])
        return result

    # -- on disk, between processes -------------------------------------------------------------------

    def plain(self, refs: Iterable[Ref]) -> None:
        """The objects this run may write to disk (each run says it again: Git may have given an
        object a secret reference since)."""
        with self._lock:
            self._plain = frozenset(refs)

    def load(self) -> None:
        """Start from the cluster's file, if an earlier process wrote one for this cluster. A file
        that cannot be read, or belongs to another layout or cluster, is as if there were none."""
        if self.disk is None:
            return
        try:
            data = jsonfast.loads(self.disk.read_bytes())
            if not (
                isinstance(data, dict)
                and data.get("format") == DISK_FORMAT
                and data.get("cluster") == self.name
                and data.get("server") == self.server
            ):
                return
            objects = {
                Ref(str(g), str(k), str(ns), str(n)): (str(version), str(text))
                for g, k, ns, n, version, text in data["objects"]
            }
            listed = frozenset(ListKey(*(str(part) for part in key)) for key in data["listed"])
        except (OSError, ValueError, TypeError, KeyError) as exc:
            _log.debug("live cache not read", extra={"fields": {"cluster": self.name, "error": str(exc)}})
            return
        with self._lock:
            for ref, kept in objects.items():
                self._objects.setdefault(ref, kept)
            self._listed |= listed
            self._on_disk = {ref: version for ref, (version, _) in objects.items()}
            self._listed_on_disk = listed

    def save(self) -> None:
        """Write the copies this run may keep on disk, when they differ from the file's. Best
        effort: a cache that cannot be written costs the next process a full LIST, nothing else."""
        if self.disk is None:
            return
        with self._lock:
            keep = {
                ref: kept for ref, kept in self._objects.items() if ref in self._plain or _is_namespace(ref)
            }
            listed = frozenset(self._listed)
            if listed == self._listed_on_disk and {r: v for r, (v, _) in keep.items()} == self._on_disk:
                return
        # The last line of defence: a value this process resolved or decrypted never reaches disk,
        # wherever a controller or a person may have copied it.
        keep = {ref: kept for ref, kept in keep.items() if redact.mask(kept[1]) == kept[1]}
        document = {
            "format": DISK_FORMAT,
            "cluster": self.name,
            "server": self.server,
            "listed": sorted([list(_key_parts(key)) for key in listed]),
            "objects": [
                [ref.group, ref.kind, ref.namespace, ref.name, version, text]
                for ref, (version, text) in sorted(keep.items())
            ],
        }
        try:
            _write_private(self.disk, jsonfast.dumps(document).encode())
        except OSError as exc:
            _log.debug("live cache not written", extra={"fields": {"cluster": self.name, "error": str(exc)}})
            return
        with self._lock:
            self._on_disk = {ref: version for ref, (version, _) in keep.items()}
            self._listed_on_disk = listed

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
                    self._keep(Ref.from_object(item), version, jsonfast.dumps(item))
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
                self._keep(ref, _version(obj), jsonfast.dumps(obj))

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


def _is_namespace(ref: Ref) -> bool:
    """Namespaces hold no data: their copies are always kept on disk."""
    return (ref.group, ref.kind) == ("", "Namespace")


def _key_parts(key: ListKey) -> tuple[str, str, str, str]:
    return (key.api_version, key.kind, key.namespace, key.selector)


def _write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` at once (a reader sees the old file or the new one), readable
    by this user only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")  # 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def disk_file(root: str, name: str, server: str) -> Path:
    """The file of one cluster under ``root`` (a digest of its name and address: neither is a
    safe file name)."""
    digest = hashlib.sha256(f"{name}\0{server}".encode()).hexdigest()[:32]
    return Path(root) / f"{digest}.json"


def for_cluster(name: str, server: str, *, disk_root: str = "") -> ClusterCache:
    """This process's cache of one cluster (created on first use, from its file under
    ``disk_root`` when one is given and exists; least recently used dropped)."""
    key = (name, server.rstrip("/"))
    dropped: list[ClusterCache] = []
    created = False
    with _CACHES_LOCK:
        cache = _CACHES.get(key)
        if cache is None or cache.closed:
            disk = disk_file(disk_root, *key) if disk_root else None
            cache = _CACHES[key] = ClusterCache(name, key[1], disk)
            created = True
        _CACHES.move_to_end(key)
        while len(_CACHES) > MAX_CLUSTERS:
            dropped.append(_CACHES.popitem(last=False)[1])
    for old in dropped:
        old.close()
    if created:
        cache.load()
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
