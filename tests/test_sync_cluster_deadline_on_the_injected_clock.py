"""A cluster's deadline (--cluster-timeout) is measured on the clock the run uses (fleet.clocks):
a test clock moved forward (sync windows, soak times) does not time out a cluster that still has
all its time on that clock. The worker took its start time from time.monotonic() while its
session compared the deadline with the injected clock, so every cluster of a run under a clock
set a day ahead timed out before its first request."""

from __future__ import annotations

from fleet import clocks
from fleet.status import Reason
from tests.clocks import ManualClock


def test_a_clock_moved_forward_does_not_time_out_a_cluster_that_still_has_time(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    # A ConfigMap and a Service, healthy once applied: no health poll, whose sleeps a ManualClock
    # passes in an instant while the simulator's pods take real time to become ready.
    env.remove("apps/web/deployment.yaml")
    clock = ManualClock()
    clock.advance(24 * 3600)  # a day ahead of the system clock, and still 60 s for the cluster
    with clocks.installed(clock):
        run = env.sync("--cluster-timeout", "60")
    assert run.exit_code == 0, run.stderr
    cluster = run.cluster("c001")
    assert cluster.ok and cluster.apps
    assert all(app.reason is not Reason.TIMEOUT and app.ok for app in cluster.apps), [
        (app.name, app.reason, app.message) for app in cluster.apps
    ]
    assert env.sim.request_counts("c001")["verbs"].get("apply", 0) > 0
