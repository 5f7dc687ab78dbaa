"""Recent Events of unhealthy objects: why a Deployment is Degraded or Progressing, in the
cluster's own words.

Runs at the end of an Application's sync (``AppSync.finish``), and only when an object is
Degraded or Progressing: for each namespace holding one, ONE LIST of its Warning Events
(``Session.warning_events``); each unhealthy object then gets the few most recent of them that are
about itself or about what it created. Controllers name what they create after their owner
(``web`` -> ReplicaSet ``web-7c5d...`` -> Pod ``web-7c5d...-x2k4p``; Job ``nightly-2893`` of CronJob
``nightly``), which is how they are told apart here without listing Pods. Messages are masked and
cut short: an Event may quote anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fleet import redact, results

LIMIT = 5  # events per object
MESSAGE_LIMIT = 300  # characters per message
# What each kind creates (and names after itself), whose events explain its health.
_CREATES: dict[str, frozenset[str]] = {
    "Deployment": frozenset({"ReplicaSet", "Pod"}),
    "ReplicaSet": frozenset({"Pod"}),
    "StatefulSet": frozenset({"Pod"}),
    "DaemonSet": frozenset({"Pod"}),
    "Job": frozenset({"Pod"}),
    "CronJob": frozenset({"Job", "Pod"}),
}


def _last_seen(event: Mapping[str, Any]) -> str:
    series = event.get("series") or {}
    return str(
        series.get("lastObservedTime")
        or event.get("lastTimestamp")
        or event.get("eventTime")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def _concerns(obj: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    meta = obj.get("metadata") or {}
    ref = event.get("involvedObject") or {}
    if meta.get("uid") and ref.get("uid") == meta.get("uid"):
        return True
    kind, name = str(obj.get("kind", "")), str(meta.get("name", ""))
    if ref.get("kind") == kind and ref.get("name") == name:
        return True
    return ref.get("kind") in _CREATES.get(kind, ()) and str(ref.get("name", "")).startswith(name + "-")


def about(obj: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> tuple[results.ObjectEvent, ...]:
    """The most recent events (at most ``LIMIT``) about ``obj`` or what it created, newest first."""
    mine = sorted((e for e in events if _concerns(obj, e)), key=_last_seen, reverse=True)[:LIMIT]
    out = []
    for event in mine:
        ref = event.get("involvedObject") or {}
        series = event.get("series") or {}
        message = redact.mask(str(event.get("message") or "").strip())
        if len(message) > MESSAGE_LIMIT:
            message = message[: MESSAGE_LIMIT - 1] + "…"
        out.append(
            results.ObjectEvent(
                type=str(event.get("type") or "Warning"),
                reason=str(event.get("reason") or ""),
                message=message,
                count=int(series.get("count") or event.get("count") or 1),
                last_seen=_last_seen(event),
                object=f"{ref.get('kind', '')}/{ref.get('name', '')}",
            )
        )
    return tuple(out)
