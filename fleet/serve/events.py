"""Live events of ``fleet serve``: the run worker thread publishes, request handlers subscribe.

Where it sits: the server's scheduler and run worker (threads) publish an ``Event`` when a run is
queued, starts and ends; the web UI's server-sent-events route (``fleet.web``) and anything else
in the event loop iterate ``Broadcaster.subscribe()``. Events carry run ids, states and counts:
nothing secret, nothing large (a page reloads what it shows from the store).

Each subscriber has a bounded queue; a subscriber too slow to keep up loses its oldest events
(a UI refreshes from the store anyway) rather than slowing the run worker.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

QUEUE_SIZE = 100  # events kept per subscriber before the oldest are dropped


class EventKind(StrEnum):
    """What happened."""

    RUN_QUEUED = "run-queued"  # a run was asked for (schedule, webhook, API, UI) and waits its turn
    RUN_STARTED = "run-started"  # the worker started a run (data: reason, clusters, apps)
    RUN_FINISHED = "run-finished"  # a run was recorded (data: ok, counts of the summary)
    RUN_FAILED = "run-failed"  # a run ended without a result (lock held, fleet unreadable; data: error)


@dataclass(frozen=True, kw_only=True)
class Event:
    """One event; ``seq`` grows by one per event of a server (an SSE ``id:``)."""

    kind: EventKind
    seq: int = 0
    at: float = field(default_factory=time.time)
    run_id: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)  # JSON-safe and masked

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "seq": self.seq, "at": self.at, "run_id": self.run_id, **self.data}


_CLOSED = object()  # the end of every subscription


class Broadcaster:
    """Fan-out of events from any thread to asyncio subscribers (see module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]] = set()
        self._seq = itertools.count(1)
        self._closed = False
        self.last: Event | None = None

    def publish(self, event: Event) -> Event:
        """Number ``event`` and send it to every subscriber; the numbered event."""
        with self._lock:
            numbered = Event(
                kind=event.kind, seq=next(self._seq), at=event.at, run_id=event.run_id, data=event.data
            )
            self.last = numbered
            targets = list(self._subscribers)
        for loop, queue in targets:
            self._deliver(loop, queue, numbered)
        return numbered

    def close(self) -> None:
        """End every subscription (the server is stopping); later subscriptions end at once."""
        with self._lock:
            self._closed = True
            targets = list(self._subscribers)
        for loop, queue in targets:
            self._deliver(loop, queue, _CLOSED)

    @staticmethod
    def _deliver(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any], item: object) -> None:
        def put() -> None:
            if queue.full():
                queue.get_nowait()  # drop the oldest: a slow page must not hold the worker
            queue.put_nowait(item)

        try:
            loop.call_soon_threadsafe(put)
        except RuntimeError:
            pass  # that subscriber's loop is closed: its subscription is over

    async def subscribe(self) -> AsyncIterator[Event]:
        """Events published from now on, until ``close``."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUE_SIZE)
        entry = (loop, queue)
        with self._lock:
            if self._closed:
                return
            self._subscribers.add(entry)
        try:
            while True:
                item = await queue.get()
                if item is _CLOSED:
                    return
                yield item
        finally:
            with self._lock:
                self._subscribers.discard(entry)


__all__ = ["QUEUE_SIZE", "Broadcaster", "Event", "EventKind"]
