"""Helpers for the status store's tests: a clock moved by hand, and runs to record.

``ManualClock`` is the store's clock edge (``fleet.store.clock.Clock``): ``now`` only moves when a
test calls ``advance``, and ``wait`` returns once the clock has been advanced far enough (or the
event is set), so leases, heartbeats and lock waits are tested without sleeping.
"""

from __future__ import annotations

import threading

from fleet import results
from fleet.health import Health
from fleet.status import OperationPhase, Reason, SyncStatus
from fleet.store import model

START = 1_800_000_000.0  # 2027-01-15: a fixed point for every test's clock
FLEET = "https://git.example.com/fleet"


class ManualClock:
    def __init__(self, start: float = START) -> None:
        self._now = start
        self._changed = threading.Condition()
        self.waiting = 0  # threads inside wait() (tests wait for a waiter before advancing)

    def now(self) -> float:
        with self._changed:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._changed:
            self._now += seconds
            self._changed.notify_all()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        with self._changed:
            deadline = self._now + seconds
            self.waiting += 1
            self._changed.notify_all()
            try:
                # The event is not tied to this condition: look at it every 20 ms of real time.
                while not event.is_set() and self._now < deadline:
                    self._changed.wait(0.02)
            finally:
                self.waiting -= 1
            return event.is_set()

    def wait_for_waiters(self, count: int = 1, timeout: float = 30.0) -> bool:
        """Real time, until ``count`` threads are waiting on this clock."""
        with self._changed:
            return self._changed.wait_for(lambda: self.waiting >= count, timeout)


def app(
    name: str, cluster: str, *, ok: bool = True, revision: str = "a" * 40, message: str = ""
) -> results.AppResult:
    return results.AppResult(
        name=name,
        cluster=cluster,
        namespace="web",
        revision=revision,
        sync_status=SyncStatus.SYNCED if ok else SyncStatus.OUT_OF_SYNC,
        health=Health.HEALTHY if ok else Health.DEGRADED,
        phase=OperationPhase.SUCCEEDED if ok else OperationPhase.FAILED,
        reason=Reason.SUCCEEDED if ok else Reason.HEALTH_CHECK_FAILED,
        message=message,
    )


def run(
    run_id: str,
    *,
    revision: str = "a" * 40,
    broken: tuple[str, ...] = (),
    clusters: tuple[str, ...] = ("c001", "c002"),
    kind: results.RunKind = results.RunKind.SYNC,
    started_at: str | None = None,
) -> results.RunResult:
    """A run of Application web on each cluster; those in ``broken`` end Degraded."""
    return results.RunResult(
        run_id=run_id,
        kind=kind,
        started_at=started_at or results.now(),
        finished_at=results.now(),
        source=FLEET,
        revision=revision,
        executor="local",
        clusters=tuple(
            results.ClusterResult(
                cluster=name,
                apps=(app(f"web-{name}", name, ok=name not in broken, revision=revision),),
                requests={"list": 5},
            )
            for name in clusters
        ),
    )


def registration(
    run_id: str,
    clusters: tuple[str, ...] = ("c001", "c002"),
    *,
    kind: results.RunKind = results.RunKind.SYNC,
    fleet: str = FLEET,
    host: str = "ci-runner-1",
    pid: int = 4242,
) -> model.Registration:
    return model.Registration(
        run_id=run_id,
        kind=kind,
        scope=model.Scope(fleet=fleet, clusters=frozenset(clusters)),
        source=fleet,
        host=host,
        pid=pid,
    )
