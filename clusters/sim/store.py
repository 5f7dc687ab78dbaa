"""The objects of one simulated cluster, its resourceVersion counter, and its watchers.

Stored objects are never mutated in place: a write builds a new dict and replaces the ``Entry``.
That is what lets reads skip copies: an ``Entry`` serialises its object once, on first read, and
every later GET, LIST item and watch event reuses those bytes.
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

Key = tuple[str, str]  # (group, plural)
EVENT_LOG_SIZE = 2000  # watch resumption window per cluster, in events


class Entry:
    """One stored object and its cached encodings: JSON at the storage version, and any other form
    it has been served in (another version, a view, protobuf), made once on first use."""

    __slots__ = ("_forms", "_raw", "obj")

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = obj
        self._raw: bytes | None = None
        self._forms: dict[Any, bytes] | None = None

    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = json.dumps(self.obj, separators=(",", ":")).encode()
        return self._raw

    def form(self, key: Any, make: Callable[[], bytes]) -> bytes:
        """The encoding named ``key`` (e.g. ``("pb", "apps/v1")``), made by ``make`` once."""
        if self._forms is None:
            self._forms = {}
        found = self._forms.get(key)
        if found is None:
            found = self._forms[key] = make()
        return found

    def copy(self) -> dict[str, Any]:
        """A private deep copy to build the next version from (json is faster than deepcopy)."""
        return json.loads(self.raw())

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"].get("namespace", ""))

    @property
    def rv(self) -> int:
        return int(self.obj["metadata"]["resourceVersion"])

    @property
    def uid(self) -> str:
        return str(self.obj["metadata"]["uid"])


class Event:
    __slots__ = ("entry", "key", "rv", "type")

    def __init__(self, rv: int, type_: str, key: Key, entry: Entry) -> None:
        self.rv = rv
        self.type = type_
        self.key = key
        self.entry = entry


class Watcher:
    """One open watch stream: the events it matches, queued for the HTTP writer."""

    MAX_QUEUED = 10000  # a client that stops reading is disconnected rather than buffered forever

    def __init__(
        self, key: Key, namespace: str | None, match: Callable[[Mapping[str, Any]], bool] | None
    ) -> None:
        self.key = key
        self.namespace = namespace
        self.match = match
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.overflowed = False

    def wants(self, event: Event) -> bool:
        if event.key != self.key:
            return False
        if self.namespace is not None and event.entry.namespace != self.namespace:
            return False
        return self.match is None or self.match(event.entry.obj)

    def push(self, event: Event | None) -> None:
        if self.queue.qsize() >= self.MAX_QUEUED:
            self.overflowed = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(event)


class Store:
    """Objects by (group, plural) -> namespace -> name, with watch fan-out and a short event log."""

    __slots__ = ("_log", "_watchers", "data", "listeners", "log_start", "owners", "rv")

    def __init__(self) -> None:
        self.rv = 0
        self.data: dict[Key, dict[str, dict[str, Entry]]] = {}
        self._watchers: dict[Key, list[Watcher]] | None = None
        self._log: collections.deque[Event] | None = None
        self.owners: dict[str, set[tuple[Key, str, str]]] = {}  # owner uid -> dependents
        self.listeners: list[Callable[[Event], None]] = []
        self.log_start = 0  # events after this resourceVersion are in the log (until it wraps)

    def next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def get(self, key: Key, namespace: str, name: str) -> Entry | None:
        by_ns = self.data.get(key)
        if by_ns is None:
            return None
        names = by_ns.get(namespace)
        return None if names is None else names.get(name)

    def iter(self, key: Key, namespace: str | None = None) -> Iterator[Entry]:
        """Entries of one resource in (namespace, name) order, as etcd returns them."""
        by_ns = self.data.get(key)
        if not by_ns:
            return
        spaces = [namespace] if namespace is not None else sorted(by_ns)
        for ns in spaces:
            names = by_ns.get(ns)
            if names:
                for name in sorted(names):
                    yield names[name]

    def count(self, key: Key, namespace: str | None = None) -> int:
        by_ns = self.data.get(key) or {}
        if namespace is not None:
            return len(by_ns.get(namespace) or ())
        return sum(len(v) for v in by_ns.values())

    def namespaces_in_use(self) -> set[str]:
        return {ns for by_ns in self.data.values() for ns, names in by_ns.items() if names and ns}

    def put(self, key: Key, entry: Entry, type_: str, *, old: Entry | None = None) -> None:
        ns, name = entry.namespace, entry.name
        self.data.setdefault(key, {}).setdefault(ns, {})[name] = entry
        self._index_owners(key, old, remove=True)
        self._index_owners(key, entry, remove=False)
        self._emit(Event(entry.rv, type_, key, entry))

    def remove(self, key: Key, entry: Entry, rv: int) -> None:
        ns, name = entry.namespace, entry.name
        by_ns = self.data.get(key)
        if by_ns and name in by_ns.get(ns, {}):
            del by_ns[ns][name]
            if not by_ns[ns]:
                del by_ns[ns]
            if not by_ns:
                del self.data[key]
        self._index_owners(key, entry, remove=True)
        # The DELETED event carries the last state with the deletion's resourceVersion.
        obj = dict(entry.obj)
        obj["metadata"] = {**entry.obj["metadata"], "resourceVersion": str(rv)}
        self._emit(Event(rv, "DELETED", key, Entry(obj)))

    def restore(self, key: Key, entry: Entry) -> None:
        """Load an object from saved state: no events, no counter change."""
        self.data.setdefault(key, {}).setdefault(entry.namespace, {})[entry.name] = entry
        self._index_owners(key, entry, remove=False)

    def dependents(self, uid: str) -> set[tuple[Key, str, str]]:
        return set(self.owners.get(uid, ()))

    def _index_owners(self, key: Key, entry: Entry | None, *, remove: bool) -> None:
        if entry is None:
            return
        for ref in entry.obj["metadata"].get("ownerReferences") or ():
            uid = ref.get("uid")
            if not uid:
                continue
            target = (key, entry.namespace, entry.name)
            if remove:
                deps = self.owners.get(uid)
                if deps is not None:
                    deps.discard(target)
                    if not deps:
                        del self.owners[uid]
            else:
                self.owners.setdefault(uid, set()).add(target)

    # -- watch -------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        if self._log is None:
            self._log = collections.deque(maxlen=EVENT_LOG_SIZE)
        self._log.append(event)
        if self._watchers:
            for watcher in self._watchers.get(event.key, ()):
                if watcher.wants(event):
                    watcher.push(event)
        for listener in self.listeners:
            listener(event)

    def add_watcher(self, watcher: Watcher) -> None:
        if self._watchers is None:
            self._watchers = {}
        self._watchers.setdefault(watcher.key, []).append(watcher)

    def remove_watcher(self, watcher: Watcher) -> None:
        if self._watchers and watcher in self._watchers.get(watcher.key, ()):
            self._watchers[watcher.key].remove(watcher)

    def all_watchers(self) -> list[Watcher]:
        return [w for ws in (self._watchers or {}).values() for w in ws]

    def compact(self) -> None:
        """Forget every event up to now: resuming from an older resourceVersion is 410 Gone."""
        self._log = None
        self.log_start = self.rv

    def events_since(self, rv: int) -> list[Event] | None:
        """Events after ``rv``, or None when ``rv`` is older than the log remembers (410 Gone)."""
        if rv >= self.rv:
            return []
        log: Sequence[Event] = self._log or ()
        truncated = bool(log) and len(log) == EVENT_LOG_SIZE
        oldest_known = log[0].rv - 1 if truncated else self.log_start
        if rv < oldest_known:
            return None
        return [e for e in log if e.rv > rv]
