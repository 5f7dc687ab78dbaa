"""Time at the edge: reading the clocks and waiting, behind one small interface.

Code that waits or measures an age asks a ``Clock`` instead of calling ``time`` directly: the
worker's retry backoff and health polls (``fleet.reconcile``), the Vault token's renewal
(``fleet.secrets.vault``) and the age of a git mirror (``fleet.gitsource``). Each takes a clock
where it is built and otherwise uses ``current()``, the system clock unless a test installed
another (``installed``). A test can then move time forward instead of sleeping through it.
Production code never installs a clock.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Protocol


class Clock(Protocol):
    """What fleet reads of time, and how it waits."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (intervals, deadlines, cache ages)."""
        ...

    def time(self) -> float:
        """Wall-clock seconds since the epoch (ages of files on disk)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clocks and the real ``time.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM = SystemClock()
_current: Clock = SYSTEM


def current() -> Clock:
    """The clock of this process: the system clock, unless a test installed another."""
    return _current


@contextlib.contextmanager
def installed(replacement: Clock) -> Iterator[Clock]:
    """Use ``replacement`` as this process's clock for the ``with`` block (tests only)."""
    global _current
    previous, _current = _current, replacement
    try:
        yield replacement
    finally:
        _current = previous


__all__ = ["SYSTEM", "Clock", "SystemClock", "current", "installed"]
