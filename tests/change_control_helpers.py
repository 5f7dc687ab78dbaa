"""Helpers for the change-control tests (sync windows, gates, rollback): an AppProject that
permits the test fleets, and a clock set to a given instant (fleet.clocks at the edge)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from tests.clocks import ManualClock


def project(windows: list[dict[str, Any]] | None = None, name: str = "default") -> dict[str, Any]:
    """An AppProject that permits everything the test fleets deploy, with these sync windows."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            "syncWindows": windows or [],
        },
    }


class WallClock(ManualClock):
    """A ManualClock whose moves change the wall clock only (what sync windows, soak times and
    rollout positions read). Intervals keep the real monotonic clock: a worker's health polls
    then wait, in real time, for the simulator's pods to become ready, where a ManualClock's
    sleeps would use up --health-timeout in an instant. (The worker measures its deadline on the
    injected clock too, so a ManualClock no longer times clusters out: see
    test_sync_cluster_deadline_on_the_injected_clock.py.)"""

    def monotonic(self) -> float:
        return time.monotonic()


def clock_at(when: str) -> WallClock:
    """A clock that reads ``when`` (ISO 8601, UTC) now, and moves on from there."""
    clock = WallClock()
    target = dt.datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
    clock.advance(target - time.time())
    return clock
