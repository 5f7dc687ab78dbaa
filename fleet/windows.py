"""Sync windows: when an AppProject lets its Applications sync (Argo CD's ``syncWindows``).

Where it sits: the driver's plan (``fleet.driver.schedule``, phase 5) parses every AppProject's
``spec.syncWindows`` (a bad window is bad input naming the file, the AppProject and the field)
and asks ``verdict`` for each selected Application at the run's time (``fleet.clocks``). A
blocked Application is not synced (``Reason.SYNC_WINDOW_CLOSED``); in a progressive rollout the
step that holds it does not start, and later steps wait (the fan-out's gate,
``fleet.driver.control``). ``fleet windows`` lists
the windows, what they block now and when it opens next. Everything here is pure.

Argo CD's semantics (``SyncWindows`` in ``pkg/apis/application/v1alpha1/types.go``):

- A window is ``kind: allow`` or ``deny``, a 5-field cron ``schedule`` (evaluated in
  ``timeZone``, default UTC) and a Go ``duration``. It is active at ``now`` when the schedule
  fired in the open interval ``(now - duration, now)``.
- It applies to an Application when one of its ``applications`` globs matches the name, OR a
  ``clusters`` glob the destination cluster's name or server, OR a ``namespaces`` glob the
  destination namespace (``andOperator: true``: every list given must match). A window with no
  list applies to nothing.
- Deny wins: an active deny window blocks. Otherwise an active allow window permits. Otherwise,
  when an allow window applies (inactive now), the Application is blocked; with no window at
  all, it syncs.
- A manual sync (fleet: ``--ignore-windows``) passes active deny windows only when EVERY one of
  them has ``manualSync: true``, and inactive allow windows when ANY of them has it.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from croniter import croniter

from fleet import argo, errors, waves

# How far ahead ``next_open`` looks for a time at which the windows let an Application sync, and
# how many openings of one window it considers (a window every minute would otherwise give half a
# million).
HORIZON = dt.timedelta(days=366)
MAX_BOUNDARIES = 2000


class Kind(StrEnum):
    """What an active window does."""

    ALLOW = "allow"  # syncs may run while it is active (and, when any allow window applies, only then)
    DENY = "deny"  # no sync while it is active (wins over every allow window)


class InvalidSyncWindow(errors.InputError):
    """An AppProject's sync window that cannot be evaluated (Argo CD refuses such a project)."""


@dataclass(frozen=True)
class Window:
    """One sync window of an AppProject, parsed."""

    project: str
    index: int  # its position in spec.syncWindows
    kind: Kind
    schedule: str
    duration: float  # seconds
    duration_text: str
    time_zone: str = "UTC"
    applications: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    manual_sync: bool = False
    and_operator: bool = False
    description: str = ""

    @property
    def name(self) -> str:
        return f"{self.project}[{self.index}] {self.kind.value} {self.schedule!r} for {self.duration_text}"

    def matches(self, target: Target) -> bool:
        checks = []
        if self.applications:
            checks.append(any(fnmatch.fnmatchcase(target.app, g) for g in self.applications))
        if self.clusters:
            checks.append(
                any(
                    (target.cluster and fnmatch.fnmatchcase(target.cluster, g))
                    or (target.server and fnmatch.fnmatchcase(target.server, g))
                    for g in self.clusters
                )
            )
        if self.namespaces:
            checks.append(any(fnmatch.fnmatchcase(target.namespace, g) for g in self.namespaces))
        if not checks:
            return False
        return all(checks) if self.and_operator else any(checks)

    def _zone(self) -> dt.tzinfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def active(self, now: dt.datetime) -> bool:
        """The schedule fired within ``(now - duration, now)`` (Go cron's Next is strictly after)."""
        local = now.astimezone(self._zone())
        fired = croniter(self.schedule, local - dt.timedelta(seconds=self.duration)).get_next(dt.datetime)
        return bool(fired < local)

    def boundaries(self, now: dt.datetime, until: dt.datetime) -> Iterable[dt.datetime]:
        """The times after ``now`` (up to ``until``) at which this window opens or closes."""
        local = now.astimezone(self._zone())
        it = croniter(self.schedule, local - dt.timedelta(seconds=self.duration))
        for _ in range(MAX_BOUNDARIES):
            start = it.get_next(dt.datetime)
            if start > until:
                return
            end = start + dt.timedelta(seconds=self.duration)
            for moment in (start, end):
                if moment > local:
                    yield moment.astimezone(dt.UTC)


@dataclass(frozen=True)
class Target:
    """An Application as windows see it: its name and destination."""

    app: str
    project: str
    cluster: str = ""
    server: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class Verdict:
    """Whether the windows let an Application sync now, and why not."""

    allowed: bool
    message: str = ""  # why it is blocked (names the windows)
    overridden: bool = False  # blocked, but --ignore-windows passed the windows (manualSync)
    windows: tuple[str, ...] = ()  # the windows that apply to it


# --- parsing -----------------------------------------------------------------------------------


def _strings(value: object, *, where: str, file: str | None, obj: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidSyncWindow("must be a list of strings", file=file, obj=obj, field=where)
    return tuple(value)


def parse_window(raw: object, *, project: str, index: int, file: str | None = None) -> Window:
    """One ``spec.syncWindows[i]`` entry; ``InvalidSyncWindow`` names file, project and field."""
    obj = f"AppProject {project}"
    where = f"spec.syncWindows[{index}]"
    if not isinstance(raw, Mapping):
        raise InvalidSyncWindow("must be a mapping", file=file, obj=obj, field=where)
    kind_text = raw.get("kind")
    if kind_text not in (Kind.ALLOW.value, Kind.DENY.value):
        raise InvalidSyncWindow(
            f"must be 'allow' or 'deny', not {kind_text!r}", file=file, obj=obj, field=f"{where}.kind"
        )
    schedule = raw.get("schedule")
    if not isinstance(schedule, str) or len(schedule.split()) != 5 or not croniter.is_valid(schedule):
        raise InvalidSyncWindow(
            f"must be a 5-field cron schedule like '0 22 * * *', not {schedule!r}",
            file=file,
            obj=obj,
            field=f"{where}.schedule",
        )
    duration_text = raw.get("duration")
    try:
        if not isinstance(duration_text, str):
            raise errors.InputError("missing")
        duration = waves.parse_duration(duration_text, where=f"{where}.duration")
    except errors.InputError:
        raise InvalidSyncWindow(
            f"must be a duration like '1h' or '30m', not {duration_text!r}",
            file=file,
            obj=obj,
            field=f"{where}.duration",
        ) from None
    if duration <= 0:
        raise InvalidSyncWindow("must be above zero", file=file, obj=obj, field=f"{where}.duration")
    zone = raw.get("timeZone") or "UTC"
    try:
        if not isinstance(zone, str):
            raise ValueError(zone)
        zoneinfo.ZoneInfo(zone)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise InvalidSyncWindow(
            f"{zone!r} is not a known time zone (want e.g. 'Europe/Berlin')",
            file=file,
            obj=obj,
            field=f"{where}.timeZone",
        ) from None
    flags = {}
    for key in ("manualSync", "andOperator"):
        value = raw.get(key, False)
        if not isinstance(value, bool):
            raise InvalidSyncWindow("must be true or false", file=file, obj=obj, field=f"{where}.{key}")
        flags[key] = value
    return Window(
        project=project,
        index=index,
        kind=Kind(kind_text),
        schedule=schedule,
        duration=duration,
        duration_text=duration_text,
        time_zone=zone,
        applications=_strings(raw.get("applications"), where=f"{where}.applications", file=file, obj=obj),
        namespaces=_strings(raw.get("namespaces"), where=f"{where}.namespaces", file=file, obj=obj),
        clusters=_strings(raw.get("clusters"), where=f"{where}.clusters", file=file, obj=obj),
        manual_sync=flags["manualSync"],
        and_operator=flags["andOperator"],
        description=str(raw.get("description") or ""),
    )


def from_projects(found: Sequence[argo.AppProject]) -> dict[str, tuple[Window, ...]]:
    """Every AppProject's windows, by project name (projects without windows are left out)."""
    out: dict[str, tuple[Window, ...]] = {}
    for project in found:
        raws: list[Any] = list(project.spec.sync_windows)
        if raws:
            out[project.name] = tuple(
                parse_window(raw, project=project.name, index=i, file=project.source or None)
                for i, raw in enumerate(raws)
            )
    return out


# --- evaluation ----------------------------------------------------------------------------------


def _names(found: Iterable[Window]) -> str:
    return ", ".join(w.name for w in found)


def verdict(
    windows: Mapping[str, Sequence[Window]], target: Target, now: dt.datetime, *, manual: bool = False
) -> Verdict:
    """Whether ``target`` may sync at ``now`` (``manual``: ``--ignore-windows`` was given)."""
    applying = [w for w in windows.get(target.project, ()) if w.matches(target)]
    names = tuple(w.name for w in applying)
    if not applying:
        return Verdict(True)
    active = [w for w in applying if w.active(now)]
    denies = [w for w in active if w.kind is Kind.DENY]
    if denies:
        why = f"deny window {_names(denies)} is active"
        if manual and all(w.manual_sync for w in denies):
            return Verdict(True, why, overridden=True, windows=names)
        if manual:
            why += " (--ignore-windows needs manualSync: true on every active deny window)"
        return Verdict(False, why, windows=names)
    if any(w.kind is Kind.ALLOW for w in active):
        return Verdict(True, windows=names)
    allows = [w for w in applying if w.kind is Kind.ALLOW]
    if allows:
        why = f"no allow window is active ({_names(allows)})"
        if manual and any(w.manual_sync for w in allows):
            return Verdict(True, why, overridden=True, windows=names)
        if manual:
            why += " (--ignore-windows needs manualSync: true on one of them)"
        return Verdict(False, why, windows=names)
    return Verdict(True, windows=names)


def next_open(
    windows: Mapping[str, Sequence[Window]], target: Target, now: dt.datetime, *, manual: bool = False
) -> dt.datetime | None:
    """The first time from ``now`` at which ``target`` may sync (``now`` itself when it may now;
    None when the windows keep it blocked for all of ``HORIZON``)."""
    if verdict(windows, target, now, manual=manual).allowed:
        return now
    applying = [w for w in windows.get(target.project, ()) if w.matches(target)]
    until = now + HORIZON
    moments = sorted({m for w in applying for m in w.boundaries(now, until)})
    for moment in moments:
        # A window is active strictly after it fires: look a second past each boundary.
        probe = moment + dt.timedelta(seconds=1)
        if verdict(windows, target, probe, manual=manual).allowed:
            return moment
    return None


__all__ = [
    "HORIZON",
    "InvalidSyncWindow",
    "Kind",
    "Target",
    "Verdict",
    "Window",
    "from_projects",
    "next_open",
    "parse_window",
    "verdict",
]
