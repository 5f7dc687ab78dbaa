"""Client-side rate limiting per cluster: a token bucket, like client-go's ``--kube-api-qps/burst``.

Every request a ``ClusterClient`` makes takes one token first, so a sync that touches thousands of
objects never floods one API server. Hand-written because it is twenty lines and none of the
project's dependencies offers a thread-safe blocking limiter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``burst`` tokens at most, refilled at ``qps`` per second; ``qps <= 0`` means unlimited.

    ``acquire`` reserves a token and sleeps until it is due, outside the lock, so waiting threads
    are served in the order they arrived and never spin.
    """

    def __init__(
        self,
        qps: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.qps = float(qps)
        self.burst = max(1, int(burst))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(self.burst)
        self._stamp = clock()
        self.waited = 0.0  # total seconds callers slept here

    def acquire(self) -> float:
        """Take one token, waiting if none is left; returns the seconds waited."""
        if self.qps <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.qps)
            self._stamp = now
            self._tokens -= 1.0  # may go negative: that is the queue of reservations
            wait = -self._tokens / self.qps if self._tokens < 0 else 0.0
            self.waited += wait
        if wait > 0:
            self._sleep(wait)
        return wait
