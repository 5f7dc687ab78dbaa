"""Events: what the simulated components tell users about objects, as a real cluster's do.

Controllers record through ``Recorder.record`` (``controllers.Context.event``). Events are core
``v1`` Events in the store; ``events.k8s.io/v1`` serves the same objects through a view
(``views``). Recording follows client-go's event correlator, so a loop cannot grow the store
without bound:

- **Repeats** of an identical event (same source, object, type, reason and message) update the
  first one: ``count`` goes up and ``lastTimestamp`` moves (``series`` for events recorded in the
  ``events.k8s.io`` style, as the scheduler's are).
- **Floods** of similar events (same source, object, type and reason, more than
  ``MAX_SIMILAR`` distinct messages within ``SIMILAR_WINDOW`` seconds) are combined into one event
  whose message starts with ``(combined from similar events):``, which then counts repeats.
- **Expiry**: events last ``TTL`` seconds after they were last seen (the API server's
  ``--event-ttl``, one hour), measured on the simulated clock.

Recording is best effort, as in client-go: an event that cannot be written (its namespace is
being deleted) is dropped, never failing the controller that recorded it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from fleet.clusters.sim import clock, status

if TYPE_CHECKING:
    from fleet.clusters.sim import cluster as cluster_mod

MAX_SIMILAR = 10  # client-go's defaultAggregateMaxEvents
SIMILAR_WINDOW = 600.0  # client-go's defaultAggregateIntervalInSeconds
TTL = 3600.0  # the API server's default --event-ttl
COMBINED = "(combined from similar events): "
_PRUNE_EVERY = 60.0  # seconds of simulated time between expiry sweeps


class EventType(StrEnum):
    """``type`` of an Event."""

    NORMAL = "Normal"  # something happened as expected
    WARNING = "Warning"  # something went wrong, or may need attention


@dataclass(frozen=True)
class Source:
    """Who records: a component (``deployment-controller``, ``kubelet``) on a host (a node)."""

    component: str
    host: str = ""
    series: bool = False  # records in the events.k8s.io style (eventTime, series), like the scheduler
    action: str = ""  # events.k8s.io ``action`` of its events (the scheduler's "Binding")


@dataclass
class _Similar:
    first: float
    messages: set[str] = field(default_factory=set)


def reference(obj: Mapping[str, Any], field_path: str = "") -> dict[str, Any]:
    """The ``involvedObject`` of an event about ``obj``."""
    meta = obj["metadata"]
    ref: dict[str, Any] = {
        "kind": obj.get("kind", ""),
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "apiVersion": obj.get("apiVersion", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    if not ref["namespace"]:
        del ref["namespace"]
    if field_path:
        ref["fieldPath"] = field_path
    return ref


class Recorder:
    """The event recorder of one simulated cluster (state in memory: lost on restart, like a
    controller's, after which a repeat starts a new event)."""

    def __init__(self, cluster: cluster_mod.SimCluster) -> None:
        self.cluster = cluster
        self._names: dict[tuple[Any, ...], str] = {}  # identity -> event name
        self._similar: dict[tuple[Any, ...], _Similar] = {}
        self._serial = itertools.count()
        self._last_prune = 0.0

    def record(
        self,
        involved: Mapping[str, Any],
        type_: EventType,
        reason: str,
        message: str,
        *,
        source: Source,
        field_path: str = "",
    ) -> dict[str, Any] | None:
        """Record one occurrence; returns the stored Event (None when it could not be written)."""
        now = self.cluster.now()
        self._prune(now)
        ref = reference(involved, field_path)
        namespace = ref.get("namespace") or "default"
        similar_key = (
            source.component,
            source.host,
            ref["kind"],
            namespace,
            ref["name"],
            ref["uid"],
            ref["apiVersion"],
            type_,
            reason,
        )
        similar = self._similar.get(similar_key)
        if similar is None or now - similar.first > SIMILAR_WINDOW:
            similar = self._similar[similar_key] = _Similar(first=now)
        similar.messages.add(message)
        if len(similar.messages) > MAX_SIMILAR:
            message = COMBINED + message
            identity: tuple[Any, ...] = (*similar_key, COMBINED)
        else:
            identity = (*similar_key, message, field_path)
        try:
            name = self._names.get(identity)
            if name is not None:
                repeated = self._repeat(namespace, name, ref, message, now, source)
                if repeated is not None:
                    return repeated
            created = self._create(namespace, ref, type_, reason, message, now, source)
        except status.ApiError:
            return None  # best effort: the namespace is gone or going
        self._names[identity] = created["metadata"]["name"]
        return created

    def _rt(self) -> Any:
        return self.cluster.rt("", "Event")

    def _create(
        self,
        namespace: str,
        ref: dict[str, Any],
        type_: EventType,
        reason: str,
        message: str,
        now: float,
        source: Source,
    ) -> dict[str, Any]:
        # client-go names events <object>.<unix nanos in hex>; the serial keeps names unique when
        # the simulated clock records two in the same nanosecond.
        name = f"{ref['name'] or ref['kind'].lower()}.{int(now * 1e9) + next(self._serial):x}"
        event: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "type": str(type_),
            "reportingComponent": source.component,
            "reportingInstance": source.host,
        }
        if source.series:
            # events.k8s.io style: eventTime and (on repeats) series; no legacy counters.
            event["source"] = {}
            event["eventTime"] = clock.micro_text(now)
            event["firstTimestamp"] = None
            event["lastTimestamp"] = None
            if source.action:
                event["action"] = source.action
        else:
            event["source"] = {
                "component": source.component,
                **({"host": source.host} if source.host else {}),
            }
            stamp = clock.text(now)
            event["firstTimestamp"] = stamp
            event["lastTimestamp"] = stamp
            event["count"] = 1
            event["eventTime"] = None
        return self.cluster.create(self._rt(), namespace, event, manager=source.component).obj

    def _repeat(
        self,
        namespace: str,
        name: str,
        ref: dict[str, Any],
        message: str,
        now: float,
        source: Source,
    ) -> dict[str, Any] | None:
        rt = self._rt()
        entry = self.cluster.find(rt, namespace, name)
        if entry is None:
            return None  # expired or deleted: the caller starts a new event
        event = entry.copy()
        event["message"] = message
        event["involvedObject"] = ref
        if source.series:
            series = dict(event.get("series") or {"count": 1})
            series["count"] = int(series.get("count", 1)) + 1
            series["lastObservedTime"] = clock.micro_text(now)
            event["series"] = series
        else:
            event["count"] = int(event.get("count") or 1) + 1
            event["lastTimestamp"] = clock.text(now)
        return self.cluster.update(rt, namespace, name, event, manager=source.component).obj

    def _prune(self, now: float) -> None:
        """Delete events not seen for ``TTL`` seconds (at most once a simulated minute)."""
        if now - self._last_prune < _PRUNE_EVERY:
            return
        self._last_prune = now
        rt = self._rt()
        for entry in list(self.cluster.store.iter(rt.key)):
            if clock.parse(last_seen(entry.obj)) < now - TTL:
                try:
                    self.cluster.delete(rt, entry.namespace, entry.name)
                except status.ApiError:
                    pass
        self._similar = {k: v for k, v in self._similar.items() if now - v.first <= SIMILAR_WINDOW}


def last_seen(event: Mapping[str, Any]) -> str:
    """When an event was last seen, as RFC 3339 text (series, then lastTimestamp, then eventTime)."""
    series = event.get("series") or {}
    return str(
        series.get("lastObservedTime")
        or event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )
