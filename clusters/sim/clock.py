"""The simulator's clock: wall-clock time plus an offset that tests move forward.

Everything in a simulated cluster that reads the time (timestamps the server sets, controllers,
ages in ``kubectl get``) reads this clock, so a test can let an hour pass in an instant: a CronJob
then creates the Jobs that hour scheduled, an HPA's stabilization window ends, old Events expire.
``SimServer.advance_clock`` moves it and wakes every controller that was waiting for a time.
"""

from __future__ import annotations

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
