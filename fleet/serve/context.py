"""What ``fleet serve`` hands the web UI (``fleet.web.routes(ctx)``): a small frozen value.

Where it sits: ``fleet.serve`` builds one ``ServeContext`` when the server starts and passes it to
``fleet.web.routes(ctx)``, whose routes are mounted at ``/``. The UI reads the store through
``ctx.open_store()`` (every call gives a ``fleet.store.Store``; every read is its own
transaction, safe from any thread), describes the fleet from ``ctx.fleet``, asks for a run with
``ctx.trigger(...)`` and refreshes live by subscribing to ``ctx.events`` (server-sent events).

Everything here is already masked: ``FleetInfo`` carries no credentials (URLs pass
``fleet.redact.safe_url``), and events carry run ids and counts, never diffs or values.

``fleet.web`` may import this module (and ``fleet.serve.events``) at run time: they import
nothing of the server, so the import-linter contracts allow exactly these two imports upwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fleet import store
    from fleet.serve import events


class TriggerReason(StrEnum):
    """Why a run was asked for (shown in logs, metrics and the run's notes)."""

    SCHEDULE = "schedule"  # --every / --schedule came due
    WEBHOOK = "webhook"  # a Git push touched the selected Applications
    API = "api"  # POST /api/v1/sync with the API token
    UI = "ui"  # a button in the web UI (the UI checks the token with ctx.authorised first)
    STARTUP = "startup"  # the first run when the server starts


@dataclass(frozen=True, kw_only=True)
class Selection:
    """Which part of the fleet a triggered run covers, within the server's own selection (the
    ``fleet serve`` selection flags): empty tuples mean all of it.

    Parameters:
        clusters: cluster names (exact); the run's selector still applies.
        apps: Application name globs, as ``--app``.
        reason: why the run is asked for.
    """

    clusters: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    reason: TriggerReason = TriggerReason.API

    @property
    def whole_fleet(self) -> bool:
        return not self.clusters and not self.apps


class TriggerOutcome(StrEnum):
    """What ``ctx.trigger`` did with a request for a run."""

    STARTED = "started"  # nothing was running: the run starts now (HTTP 202)
    QUEUED = "queued"  # joined the pending run (a burst coalesces into one run) (HTTP 202)
    BUSY = "busy"  # a run is in progress and holds the run lock: asked again later (HTTP 409)
    STOPPING = "stopping"  # the server is shutting down and takes no more runs (HTTP 503)
    INVALID = "invalid"  # the selection names a cluster the server does not sync (HTTP 400)

    @property
    def accepted(self) -> bool:
        return self in (TriggerOutcome.STARTED, TriggerOutcome.QUEUED)


@dataclass(frozen=True, kw_only=True)
class Triggered:
    """The answer to ``ctx.trigger``: the outcome and, when busy, the run that holds the lock."""

    outcome: TriggerOutcome
    running_run: str = ""  # the run id in progress ("" when none)
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class FleetInfo:
    """The fleet this server runs, as its flags say (masked: no credentials in any field).

    Parameters:
        source: the fleet repository (URL without credentials, or a local path).
        revision: the branch, tag or commit read ("" for the default HEAD).
        selector: the cluster label selector ("" for every cluster).
        apps: Application name globs ("" for all).
        schedule: the schedule in words ("every 5m (jitter 10%)", "cron '*/5 * * * *' in
            Europe/Paris", or "on webhooks and API calls only").
        store: where the status store lives (masked URL or file path).
    """

    source: str
    revision: str = ""
    selector: str = ""
    apps: tuple[str, ...] = ()
    schedule: str = ""
    store: str = ""


@dataclass(frozen=True, kw_only=True)
class ServerState:
    """What the server is doing right now (``ctx.state()``), for a status line in the UI."""

    running_run: str = ""  # the run in progress ("" when idle)
    pending: bool = False  # a run is queued behind it (webhook burst, API, schedule)
    next_run_at: float | None = None  # wall-clock seconds of the next scheduled run (None: no schedule)
    runs_finished: int = 0  # runs this process finished since it started
    ready: bool = False  # what /readyz answers
    stopping: bool = False


class Broadcaster(Protocol):
    """Live events for the UI (``fleet.serve.events.Broadcaster`` implements it)."""

    def publish(self, event: events.Event) -> events.Event:
        """Send ``event`` to every subscriber (thread-safe: the run worker calls it); the event
        as sent (numbered)."""
        ...

    def subscribe(self) -> AsyncIterator[events.Event]:
        """Events from now on, until the server stops (then the iterator ends): ``async for``
        inside a request handler (e.g. a Starlette ``StreamingResponse`` of ``text/event-stream``)."""
        ...


@dataclass(frozen=True, kw_only=True)
class ServeContext:
    """What ``fleet.web.routes(ctx)`` receives.

    Parameters:
        fleet: the fleet described.
        open_store: the status store (``fleet.store.Store``); cheap to call, call it per request.
        trigger: ask for a run of a ``Selection`` (never blocks; the run happens in the server's
            worker thread).
        state: what the server is doing now.
        events: live events (run queued, started, finished) to refresh pages.
        authorised: whether an ``Authorization`` header value carries the API token (always
            False when the server has no ``--api-token``): what a UI must check before ``trigger``.
    """

    fleet: FleetInfo
    open_store: Callable[[], store.Store]
    trigger: Callable[[Selection], Triggered]
    state: Callable[[], ServerState]
    events: Broadcaster
    authorised: Callable[[str | None], bool]


__all__ = [
    "Broadcaster",
    "FleetInfo",
    "Selection",
    "ServeContext",
    "ServerState",
    "TriggerOutcome",
    "TriggerReason",
    "Triggered",
]
