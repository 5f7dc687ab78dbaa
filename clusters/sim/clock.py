"""The simulator's clock: wall-clock time plus an offset that tests move forward.

Everything in a simulated cluster that reads the time (timestamps the server sets, controllers,
ages in ``kubectl get``) reads this clock, so a test can let an hour pass in an instant: a CronJob
then creates the Jobs that hour scheduled, an HPA's stabilization window ends, old Events expire.
``SimServer.advance_clock`` moves it and wakes every controller that was waiting for a time.
"""

from __future__ import annotations

import datetime as dt
import threading
import time


class SimClock:
    """Seconds since the epoch, ``offset`` ahead of the wall clock. Never goes back."""

    def __init__(self, offset: float = 0.0) -> None:
        if offset < 0:
            raise ValueError("the simulated clock cannot start in the past")
        self._offset = offset
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self._offset

    @property
    def offset(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        with self._lock:
            self._offset += seconds


def text(at: float) -> str:
    """``at`` as the API server writes a ``metav1.Time``: RFC 3339, UTC, whole seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def micro_text(at: float) -> str:
    """``at`` as a ``metav1.MicroTime``: RFC 3339 with microseconds."""
    whole = int(at)
    micros = round((at - whole) * 1_000_000)
    if micros >= 1_000_000:
        whole, micros = whole + 1, 0
    return text(whole)[:-1] + f".{micros:06d}Z"


def parse(value: str) -> float:
    """Seconds since the epoch of an RFC 3339 time (``Time`` or ``MicroTime``); 0 when unreadable."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()
