"""The store's clock: leases, heartbeats and lock waits read time and wait through it, so tests
move time by hand instead of sleeping.

Not ``fleet.clocks``: a heartbeat must stop at once when its run ends, so waiting here is on an
event with a timeout, which ``Clock.sleep`` cannot be; and a store takes its clock where it is
built rather than from the process.

Leases are compared across hosts in epoch seconds of each host's own clock: hosts sharing a
store need clocks that agree to well within the lease (NTP does; the default lease is 30 s).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait until ``event`` is set or ``seconds`` have passed; whether the event was set."""
        ...


class SystemClock:
    """Real time."""

    def now(self) -> float:
        return time.time()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(0.0, seconds))


def iso(epoch: float) -> str:
    """An epoch time in the form the store and results use (``results.now()``)."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


__all__ = ["Clock", "SystemClock", "iso"]
