"""The run lock: a run registers in the store when it starts and holds a lease there, renewed by a
heartbeat, until it is recorded.

Where it sits: around one run of the driver (``fleet.driver.run_recorded``), before the fleet is read, so
that a run which waited for the lock reads Git after the run it waited for finished:

1. ``acquire``: register the run (``Store.register``). A sync holds its scope (the fleet and the
   clusters its ``--selector`` selects, ``model.Scope``) exclusively; if a live sync holds some
   of those clusters, try again until ``wait`` seconds have passed, then raise
   ``errors.RunLocked`` naming the holder (host, pid, run id, since when): exit code 3.
   A dry run or a diff changes nothing: it registers, never waits, never makes a sync wait.
2. ``Heartbeat``: a thread renews the lease every third of its length. A holder that dies
   (SIGKILL) stops renewing; once its lease expires its run reads as interrupted, and the next
   run that registers records it so and may take its clusters.
3. ``Lease.finish``: the result is recorded in one transaction and the lease ends with it.
   A run that raises instead is recorded as aborted (with why), except bad input (exit 2),
   which changes nothing and leaves no trace.

Time comes from a ``clock.Clock``, so tests move it by hand.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from fleet import errors, log, redact, results
from fleet.store import clock as clock_mod
from fleet.store import model

if TYPE_CHECKING:
    from fleet.store import Store

_log = log.get_logger(__name__)

DEFAULT_TTL = 30.0  # seconds a lease lasts without a heartbeat (``--lock-lease``)
POLL = 1.0  # seconds between attempts while waiting for the lock
_NEVER = threading.Event()  # waited on while polling: only the clock's time passes


class Lease:
    """A registered run's lease: renewed by its ``Heartbeat``, ended by ``finish``, ``abort`` or
    ``forget``. ``lost`` is set when a renewal found the run no longer running (its lease had
    expired and another run recorded it as interrupted)."""

    def __init__(self, db: Store, registration: model.Registration, *, ttl: float, started_at: str) -> None:
        self.db = db
        self.registration = registration
        self.ttl = ttl
        self.started_at = started_at
        self.lost = threading.Event()
        self.ended = False
        self._lock = threading.Lock()  # a renewal never overlaps the end of the run

    @property
    def run_id(self) -> str:
        return self.registration.run_id

    def renew(self) -> bool:
        """Extend the lease; False (and ``lost`` set) when the run no longer holds it."""
        with self._lock:
            if self.ended:
                return True
            if self.db.renew(self.run_id, ttl=self.ttl):
                return True
        if not self.lost.is_set():
            self.lost.set()
            _log.error(
                "run lock lost: the lease expired before it was renewed and another run recorded this run "
                "as interrupted; it goes on, and its result will say so",
                extra={"fields": {"run": self.run_id}},
            )
        return False

    def finish(self, run: results.RunResult) -> results.RunResult:
        """Record the run's result (one transaction); the result as recorded."""
        with self._lock:
            self.ended = True
            return self.db.finish(self.registration, run)

    def abort(self, why: str) -> None:
        with self._lock:
            self.ended = True
            self.db.abort(self.run_id, why)

    def forget(self) -> None:
        with self._lock:
            self.ended = True
            self.db.forget(self.run_id)


class Heartbeat:
    """Renews a lease every ``interval`` seconds of ``clock`` time, on a daemon thread, until
    stopped. A renewal that fails because the store does not answer is logged and retried at the
    next beat (the lease outlives two missed beats)."""

    def __init__(self, lease: Lease, *, interval: float, clock: clock_mod.Clock) -> None:
        self.lease = lease
        self.interval = interval
        self.clock = clock
        self.beats = 0  # renewals attempted (tests wait on this)
        self.beaten = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"fleet-lease-{lease.run_id}", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while not self.clock.wait(self._stop, self.interval):
            try:
                self.lease.renew()
            except errors.FleetError as exc:
                _log.warning(
                    "run lock: the lease could not be renewed (trying again at the next heartbeat)",
                    extra={"fields": {"run": self.lease.run_id, "error": redact.mask(str(exc))}},
                )
            with self.beaten:
                self.beats += 1
                self.beaten.notify_all()

    def wait_beats(self, count: int, timeout: float = 30.0) -> bool:
        """Wait (in real time) until ``count`` renewals were attempted."""
        with self.beaten:
            return self.beaten.wait_for(lambda: self.beats >= count, timeout)


def acquire(
    db: Store,
    registration: model.Registration,
    *,
    wait: float = 0.0,
    ttl: float = DEFAULT_TTL,
    poll: float = POLL,
) -> Lease:
    """Register the run, waiting up to ``wait`` seconds for the run lock of its scope.

    Raises ``errors.RunLocked`` (exit code 3) naming the holders when the lock is still held.
    """
    if ttl <= 0:
        raise errors.InputError(f"must be above zero (got {ttl})", field="--lock-lease")
    if wait < 0:
        raise errors.InputError(f"must not be negative (got {wait})", field="--lock-wait")
    clock = db.clock
    start = clock.now()
    announced = False
    while True:
        outcome = db.register(registration, ttl=ttl)
        for record in outcome.interrupted:
            _log.warning(
                f"run {record.run_id} of this fleet is recorded as interrupted: {record.message}",
                extra={
                    "fields": {
                        "run": registration.run_id,
                        "interrupted": record.run_id,
                        "host": record.host,
                        "pid": record.pid,
                    }
                },
            )
        if outcome.ok:
            _log.info(
                "run registered" + (" and run lock taken" if registration.holds_lock else ""),
                extra={
                    "fields": {
                        "run": registration.run_id,
                        "clusters": len(registration.scope.clusters),
                        "waited": round(clock.now() - start, 2),
                    }
                },
            )
            return Lease(db, registration, ttl=ttl, started_at=outcome.started_at)
        waited = clock.now() - start
        if waited >= wait:
            raise errors.RunLocked(locked_message(registration, outcome.holders, waited=waited, wait=wait))
        if not announced:
            announced = True
            holder = outcome.holders[0]
            _log.info(
                f"waiting up to {wait:g}s for the run lock held by run {holder.run_id} "
                f"(host {holder.host}, pid {holder.pid}, since {holder.started_at})",
                extra={
                    "fields": {
                        "run": registration.run_id,
                        "holder": holder.run_id,
                        "host": holder.host,
                        "pid": holder.pid,
                    }
                },
            )
        clock.wait(_NEVER, min(poll, wait - waited))


@contextlib.contextmanager
def held(
    db: Store,
    registration: model.Registration,
    *,
    wait: float = 0.0,
    ttl: float = DEFAULT_TTL,
    poll: float = POLL,
) -> Iterator[Lease]:
    """``acquire``, a heartbeat while the block runs, and the end of the registration: the block
    calls ``Lease.finish`` with its result; if it raises bad input the registration is dropped,
    if it raises anything else (or ends without a result) the run is recorded as aborted."""
    lease = acquire(db, registration, wait=wait, ttl=ttl, poll=poll)
    heartbeat = Heartbeat(lease, interval=ttl / 3, clock=db.clock).start()
    try:
        yield lease
    except errors.InputError:
        heartbeat.stop()
        _end_quietly(lease.forget)
        raise
    except BaseException as exc:
        heartbeat.stop()
        why = f"{type(exc).__name__}: {exc}"
        _end_quietly(lambda: lease.abort(why))
        raise
    heartbeat.stop()
    if not lease.ended:
        _end_quietly(lambda: lease.abort("the run ended without recording a result"))


def _end_quietly(end: Callable[[], None]) -> None:
    """End a registration while an error is already on its way out: a store failure here is
    logged, not raised over the original error (the lease then expires: interrupted)."""
    try:
        end()
    except errors.FleetError as exc:
        _log.warning("the run's registration could not be ended", extra={"fields": {"error": str(exc)}})


def locked_message(
    registration: model.Registration, holders: tuple[model.Holder, ...], *, waited: float, wait: float
) -> str:
    """Who holds the lock, on what, since when; and what to do."""
    parts = []
    for holder in holders:
        names = sorted(holder.clusters)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        parts.append(
            f"run {holder.run_id} ({holder.kind}) on host {holder.host}, pid {holder.pid}, running since "
            f"{holder.started_at} (lease until {clock_mod.iso(holder.lease_expires_at)}), holds {shown}"
        )
    waiting = f"after waiting {waited:.0f}s" if wait else "without waiting"
    return (
        f"the run lock of fleet {registration.scope.fleet} is held: {'; '.join(parts)}. Gave up {waiting}; "
        "pass --lock-wait DURATION to wait for it"
    )


__all__ = ["DEFAULT_TTL", "POLL", "Heartbeat", "Lease", "acquire", "held", "locked_message"]
