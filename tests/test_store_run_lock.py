"""The run lock: a run registers in the store with a lease that a heartbeat renews; a sync holds
its fleet's selected clusters exclusively until it is recorded. Tested on both backends with a
clock moved by hand (``ManualClock``), so no test waits for a lease in real time.

What holds a lock against what:

| first run                  | second run                     | second run        |
| -------------------------- | ------------------------------ | ----------------- |
| sync of c001, c002         | sync of c002, c003             | refused (c002)    |
| sync of c001               | sync of c002                   | registered        |
| sync of fleet A on c001    | sync of fleet B on c001        | registered        |
| sync of c001               | diff / dry run of c001         | registered        |
| diff of c001               | sync of c001                   | registered        |
"""

from __future__ import annotations

import threading

import pytest

from fleet import errors, results, store
from fleet.store import lease
from tests import store_helpers as h

TTL = 30.0


@pytest.fixture
def clock() -> h.ManualClock:
    return h.ManualClock()


@pytest.fixture
def db(store_url, clock) -> store.Store:
    return store.open(store_url, clock_=clock)


CASES = [
    (h.registration("a", ("c001", "c002")), h.registration("b", ("c002", "c003")), {"c002"}),
    (h.registration("a", ("c001",)), h.registration("b", ("c002",)), set()),
    (
        h.registration("a", ("c001",)),
        h.registration("b", ("c001",), fleet="https://git.example.com/other"),
        set(),
    ),
    (h.registration("a", ("c001",)), h.registration("b", ("c001",), kind=results.RunKind.DIFF), set()),
    (h.registration("a", ("c001",)), h.registration("b", ("c001",), kind=results.RunKind.DRY_RUN), set()),
    (h.registration("a", ("c001",), kind=results.RunKind.DIFF), h.registration("b", ("c001",)), set()),
]
IDS = [
    "overlapping-syncs",
    "disjoint-clusters",
    "other-fleet",
    "diff-beside-sync",
    "dry-run-beside-sync",
    "sync-beside-diff",
]


@pytest.mark.parametrize("first, second, contested", CASES, ids=IDS)
def test_a_sync_holds_its_fleets_clusters_against_other_syncs_only(db, first, second, contested) -> None:
    lease.acquire(db, first, ttl=TTL)
    if not contested:
        lease.acquire(db, second, ttl=TTL)
        assert {r.run_id for r in db.run_records(states={results.RunState.RUNNING})} == {"a", "b"}
        return
    with pytest.raises(errors.RunLocked) as caught:
        lease.acquire(db, second, ttl=TTL)
    assert caught.value.exit_code == errors.ExitCode.LOCKED == 3
    message = str(caught.value)
    for needle in (
        "run a (sync)",
        "host ci-runner-1",
        "pid 4242",
        "running since",
        "holds c002",
        "Gave up without waiting",
        "--lock-wait",
    ):
        assert needle in message, needle
    assert "c001" not in message.split("holds")[1]  # only the clusters both runs want
    assert [r.run_id for r in db.run_records()] == ["a"]  # the refused run was not registered


def test_a_registered_run_reads_as_running_with_its_host_pid_and_scope(db, clock) -> None:
    held = lease.acquire(db, h.registration("a", ("c002", "c001")), ttl=TTL)
    (record,) = db.run_records()
    assert (record.state, record.host, record.pid, record.clusters) == (
        results.RunState.RUNNING,
        "ci-runner-1",
        4242,
        ("c001", "c002"),
    )
    assert record.holds_lock and record.lease_expires_at == clock.now() + TTL
    assert held.started_at == record.started_at
    (as_result,) = db.runs()
    assert as_result.state is results.RunState.RUNNING and not as_result.ok


def test_a_holder_whose_lease_expired_reads_as_interrupted_and_loses_the_lock(db, clock) -> None:
    dead = lease.acquire(db, h.registration("a", ("c001",)), ttl=TTL)  # no heartbeat: as if SIGKILLed
    clock.advance(TTL - 1)
    with pytest.raises(errors.RunLocked):
        lease.acquire(db, h.registration("b", ("c001",)), ttl=TTL)
    clock.advance(2)
    (record,) = db.run_records()
    assert record.state is results.RunState.INTERRUPTED and "lease expired" in record.message
    lease.acquire(db, h.registration("b", ("c001",)), ttl=TTL)
    states = {r.run_id: r.state for r in db.run_records()}
    assert states == {"a": results.RunState.INTERRUPTED, "b": results.RunState.RUNNING}
    # The dead holder, were it only stalled, finds out at its next renewal and says so at the end.
    assert dead.renew() is False and dead.lost.is_set()
    recorded = dead.finish(h.run("a", clusters=("c001",)))
    assert recorded.state is results.RunState.FINISHED and "lost its lease" in recorded.notes[-1]


def test_the_heartbeat_keeps_the_lease_alive_as_time_passes(db, clock) -> None:
    held = lease.acquire(db, h.registration("a", ("c001",)), ttl=TTL)
    beat = lease.Heartbeat(held, interval=TTL / 3, clock=clock).start()
    try:
        for n in range(1, 7):  # two whole leases long
            assert clock.wait_for_waiters()
            clock.advance(TTL / 3)
            assert beat.wait_beats(n)
        (record,) = db.run_records()
        assert record.state is results.RunState.RUNNING and record.lease_expires_at == clock.now() + TTL
        with pytest.raises(errors.RunLocked):
            lease.acquire(db, h.registration("b", ("c001",)), ttl=TTL)
    finally:
        beat.stop()
    assert not held.lost.is_set()


def test_a_sync_told_to_wait_takes_the_lock_once_the_holder_is_recorded(db, clock) -> None:
    holder = lease.acquire(db, h.registration("a", ("c001",)), ttl=TTL)
    got: list[lease.Lease] = []
    waiter = threading.Thread(
        target=lambda: got.append(lease.acquire(db, h.registration("b", ("c001",)), wait=60, ttl=TTL, poll=1))
    )
    waiter.start()
    assert clock.wait_for_waiters()  # b tried, found a holding the lock, and waits
    holder.finish(h.run("a", clusters=("c001",)))
    clock.advance(1)
    waiter.join(30)
    assert [g.run_id for g in got] == ["b"]
    assert {r.run_id: r.state for r in db.run_records()} == {
        "a": results.RunState.FINISHED,
        "b": results.RunState.RUNNING,
    }


def test_a_sync_gives_up_waiting_after_lock_wait(db, clock) -> None:
    lease.acquire(db, h.registration("a", ("c001",)), ttl=TTL * 10)
    failed: list[BaseException] = []

    def wait_in_vain() -> None:
        try:
            lease.acquire(db, h.registration("b", ("c001",)), wait=5, ttl=TTL, poll=1)
        except errors.RunLocked as exc:
            failed.append(exc)

    waiter = threading.Thread(target=wait_in_vain)
    waiter.start()
    for _ in range(5):
        assert clock.wait_for_waiters()
        clock.advance(1)
    waiter.join(30)
    assert len(failed) == 1 and "after waiting 5s" in str(failed[0])


@pytest.mark.parametrize(
    "raised, state",
    [
        (errors.InputError("no Application matches x", field="--app"), None),
        (errors.FleetError("git: could not fetch"), results.RunState.ABORTED),
        (KeyboardInterrupt(), results.RunState.ABORTED),
    ],
    ids=["bad-input-leaves-no-trace", "an-error-is-recorded-as-aborted", "an-interrupt-too"],
)
def test_a_run_that_raises_ends_its_registration(db, raised, state) -> None:
    with pytest.raises(type(raised)), lease.held(db, h.registration("a", ("c001",)), ttl=TTL):
        raise raised
    records = db.run_records()
    if state is None:
        assert records == []
    else:
        (record,) = records
        assert record.state is state and type(raised).__name__ in record.message
    lease.acquire(db, h.registration("b", ("c001",)), ttl=TTL)  # the lock is free again


def test_a_finished_run_is_recorded_whole_and_frees_the_lock(db) -> None:
    with lease.held(db, h.registration("a", ("c001", "c002")), ttl=TTL) as held:
        recorded = held.finish(h.run("a", started_at=held.started_at))
    assert (recorded.state, recorded.host, recorded.pid) == (results.RunState.FINISHED, "ci-runner-1", 4242)
    (record,) = db.run_records()
    assert record.state is results.RunState.FINISHED and record.lease_expires_at is None
    assert db.latest_run() == recorded and len(db.app_states()) == 2
    lease.acquire(db, h.registration("b", ("c001",)), ttl=TTL)
