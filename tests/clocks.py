"""A clock for tests (fleet.clocks.Clock at the edge): time moves when the test says so.

``ManualClock`` starts at the real time. ``advance(s)`` moves it; ``sleep(s)`` records ``s``, moves
it by ``s`` and returns at once, after calling ``during_sleep(s)`` (what happens meanwhile in the
world, e.g. a namespace appearing during a retry backoff). Install it for code built inside a run
with ``fleet.clocks.installed(clock)``; pass it where a constructor takes ``clock=``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ManualClock:
    def __init__(self, during_sleep: Callable[[float], None] | None = None) -> None:
        self.slept: list[float] = []
        self.during_sleep = during_sleep
        self._offset = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def time(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
        self.advance(seconds)
        if self.during_sleep is not None:
            self.during_sleep(seconds)
