"""Fault injection: how a simulated cluster misbehaves, switchable while the server runs.

Checked at the start of every request to the cluster, before authentication, in this order:
unreachable, hang, latency, throttling, errors. What a client sees in each mode:

- ``unreachable``: the TCP connection is reset (RST) without any HTTP response. All clusters
  share one port, so a refused connection cannot be faked per cluster; a reset is what clients
  report as "connection reset by peer" (urllib3: ``ProtocolError``/``MaxRetryError``; kubectl:
  ``read: connection reset by peer`` or ``EOF``), the same class of error as a refused connection.
- ``hang``: the request is read and never answered; the client's own timeout has to fire.
  Hung requests are released (the connection closed) when the server stops.
- ``latency``: every answer is delayed by that many seconds.
- ``throttle_rate``: that fraction of requests get ``429 TooManyRequests`` with ``Retry-After: 1``.
- ``error_rate``: that fraction of requests get ``500 InternalError``.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class FaultMode(StrEnum):
    """What ``Faults.decide`` tells the server to do with one request."""

    NONE = "none"  # serve it normally (after any latency)
    UNREACHABLE = "unreachable"  # reset the connection without a response
    HANG = "hang"  # never answer
    THROTTLE = "throttle"  # answer 429 with Retry-After
    ERROR = "error"  # answer 500


@dataclass
class Faults:
    latency: float = 0.0
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    unreachable: bool = False
    hang: bool = False

    def set(
        self,
        *,
        latency: float = 0.0,
        error_rate: float = 0.0,
        throttle_rate: float = 0.0,
        unreachable: bool = False,
        hang: bool = False,
    ) -> None:
        for name, rate in (("error_rate", error_rate), ("throttle_rate", throttle_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        if latency < 0:
            raise ValueError(f"latency must not be negative, got {latency}")
        self.latency = float(latency)
        self.error_rate = float(error_rate)
        self.throttle_rate = float(throttle_rate)
        self.unreachable = bool(unreachable)
        self.hang = bool(hang)

    def clear(self) -> None:
        self.set()

    @property
    def active(self) -> bool:
        return bool(self.latency or self.error_rate or self.throttle_rate or self.unreachable or self.hang)

    def decide(self, rng: random.Random) -> FaultMode:
        if self.unreachable:
            return FaultMode.UNREACHABLE
        if self.hang:
            return FaultMode.HANG
        if self.throttle_rate and rng.random() < self.throttle_rate:
            return FaultMode.THROTTLE
        if self.error_rate and rng.random() < self.error_rate:
            return FaultMode.ERROR
        return FaultMode.NONE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
