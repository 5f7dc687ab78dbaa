"""When ``fleet serve`` runs the whole fleet on its own: an interval with jitter (``--every``) or a
cron expression in a time zone (``--schedule``, ``--timezone``), or never (webhooks and API only).

Where it sits: the server's run worker asks ``Schedule.next_after(now)`` after every scheduled
run, and waits on its clock until then (or until a webhook or API call asks for a run sooner).
Pure functions of the time given: tests pass the times they want.

Cron expressions are read by croniter (five fields, or six with seconds, as cron and Kubernetes
CronJobs write them) in the ``--timezone`` zone (``zoneinfo``; default UTC), so "0 2 * * *" in
Europe/Paris is 02:00 Paris time in winter and summer, and a time skipped by the spring
daylight-saving change runs at the first existing time after it.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from dataclasses import dataclass, field
from typing import Protocol

from croniter import croniter

from fleet import errors, loop

JITTER = 0.1  # an interval run starts up to this fraction of the interval early or late


class Schedule(Protocol):
    """When the next scheduled run is due."""

    def next_after(self, now: float) -> float | None:
        """Epoch seconds of the first run after ``now`` (None: no scheduled runs)."""
        ...

    def describe(self) -> str:
        """The schedule in words, for the UI, the API and the log."""
        ...


@dataclass(frozen=True)
class Never:
    """No schedule: runs only when a webhook or an API call asks for one."""

    def next_after(self, now: float) -> float | None:
        return None

    def describe(self) -> str:
        return "on webhooks and API calls only"


@dataclass(frozen=True)
class Interval:
    """Every ``seconds``, each time moved by up to ``jitter`` of the interval either way, so that
    several servers (or fleets) started together do not hit the same clusters and Git server at
    the same instant."""

    seconds: float
    jitter: float = JITTER
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def next_after(self, now: float) -> float:
        spread = self.seconds * self.jitter
        return now + self.seconds + self.rng.uniform(-spread, spread)

    def describe(self) -> str:
        return f"every {self.seconds:g}s (jitter {self.jitter:.0%})"


@dataclass(frozen=True)
class Cron:
    """A cron expression, read in ``timezone``."""

    expression: str
    timezone: str = "UTC"

    def next_after(self, now: float) -> float:
        zone = zoneinfo.ZoneInfo(self.timezone)
        start = dt.datetime.fromtimestamp(now, zone)
        following: dt.datetime = croniter(self.expression, start).get_next(dt.datetime)
        return following.timestamp()

    def describe(self) -> str:
        return f"cron {self.expression!r} in {self.timezone}"


def parse(every: str | None, cron: str | None, timezone: str | None) -> Schedule:
    """The schedule the flags ask for; bad input names the flag (exit 2)."""
    if every is not None and cron is not None:
        raise errors.InputError("give --every or --schedule, not both", field="--schedule")
    if timezone is not None and cron is None:
        raise errors.InputError("needs --schedule", field="--timezone")
    if every is not None:
        return Interval(loop.parse_every(every))
    if cron is None:
        return Never()
    if not croniter.is_valid(cron):
        raise errors.InputError(
            f"is not a cron expression (got {cron!r}; five fields: minute hour day month weekday)",
            field="--schedule",
        )
    zone = timezone or "UTC"
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise errors.InputError(
            f"is not a time zone (got {zone!r}; an IANA name such as Europe/Paris)", field="--timezone"
        ) from None
    return Cron(cron, zone)


__all__ = ["JITTER", "Cron", "Interval", "Never", "Schedule", "parse"]
