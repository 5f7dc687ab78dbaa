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


def clock_at(when: str) -> ManualClock:
    """A clock that reads ``when`` (ISO 8601, UTC) now, and moves on from there."""
    clock = ManualClock()
    target = dt.datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp()
    clock.advance(target - time.time())
    return clock
