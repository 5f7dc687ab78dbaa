"""The run worker of ``fleet serve``: one run at a time, asked for by the schedule, webhooks and
the API, with bursts coalesced into one run.

Where it sits: the HTTP handlers (their own thread) call ``Worker.trigger``; the process's main
thread runs ``Worker.run_forever``, which waits for the next due run and makes it through
``fleet.loop.Runner`` (the executor, the secret resolver and git's freshness last across runs,
as for ``fleet sync --every``). Runs are made in the main thread so that signals behave as they
do for ``--every`` (``fleet.loop.abandonable``): SIGTERM or SIGINT lets the current run finish
and be recorded, a second one abandons it (recorded as aborted), and the exit status is 0 after
SIGTERM, 130 after SIGINT or an abandoned run.

Coalescing (``Pending``): every request for a run merges into the one pending run (the union of
their selections; an empty part means "all" and absorbs the rest). A webhook's request waits
``debounce`` seconds for more pushes of the same burst (each push restarts the wait, up to
``max_delay`` after the first); a scheduled, API or UI request is due at once, and takes the
pending webhook requests with it. Time comes from a ``fleet.store.clock.Clock``: tests move it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fleet import errors, log, loop, redact, results, store
from fleet.serve import adapter, context, events, metrics, schedule
from fleet.store import clock as clock_mod

_log = log.get_logger(__name__)

DEBOUNCE = 2.0  # seconds a webhook's run waits for the rest of its burst
MAX_DELAY = 30.0  # a burst that never pauses still runs this long after its first push


def merge(a: context.Selection, b: context.Selection) -> context.Selection:
    """One selection covering both (an empty part means all of it, and absorbs the other's)."""
    clusters = () if not a.clusters or not b.clusters else tuple(sorted({*a.clusters, *b.clusters}))
    apps = () if not a.apps or not b.apps else tuple(sorted({*a.apps, *b.apps}))
    return context.Selection(clusters=clusters, apps=apps, reason=a.reason)


@dataclass
class Pending:
    """The one run waiting for the worker: what it covers, why, and when it is due."""

    debounce: float = DEBOUNCE
    max_delay: float = MAX_DELAY
    selection: context.Selection | None = None
    reasons: tuple[context.TriggerReason, ...] = ()
    first_at: float = 0.0
    due_at: float = 0.0
    requests: int = 0

    def add(self, selection: context.Selection, now: float) -> bool:
        """Merge a request in; True when it started a new pending run, False when it joined one."""
        debounced = selection.reason is context.TriggerReason.WEBHOOK
        due = now + self.debounce if debounced else now
        self.requests += 1
        if self.selection is None:
            self.selection, self.reasons, self.first_at, self.due_at = (
                selection,
                (selection.reason,),
                now,
                due,
            )
            return True
        self.selection = merge(self.selection, selection)
        if selection.reason not in self.reasons:
            self.reasons = (*self.reasons, selection.reason)
        # A push restarts the wait (a burst ends when it pauses), but never past max_delay; an
        # immediate request makes the run due now.
        self.due_at = (
            min(max(self.due_at, due), self.first_at + self.max_delay) if debounced else min(self.due_at, due)
        )
        return False

    def seconds_left(self, now: float) -> float | None:
        return None if self.selection is None else max(0.0, self.due_at - now)

    def take(self) -> tuple[context.Selection, tuple[context.TriggerReason, ...], int]:
        assert self.selection is not None
        taken = (self.selection, self.reasons, self.requests)
        self.selection, self.reasons, self.requests = None, (), 0
        return taken


class Worker:
    """See the module docstring.

    Parameters:
        runner: makes each run (``fleet.loop.Runner`` over the server's request).
        plan: the schedule (``schedule.Never()`` for webhooks and API only).
        first_run: make a run at once when started (``--every``; a cron schedule waits for its time).
        fleet_key: the fleet's run-lock key, to find runs of other processes holding its lock.
    """

    def __init__(
        self,
        *,
        runner: loop.Runner,
        plan: schedule.Schedule,
        open_store: Callable[[], store.Store],
        fleet_key: str,
        broadcaster: events.Broadcaster,
        metrics_: metrics.Metrics,
        first_run: bool,
        clock: clock_mod.Clock | None = None,
        debounce: float = DEBOUNCE,
        max_delay: float = MAX_DELAY,
        stop: loop.Stop | None = None,
    ) -> None:
        self.runner = runner
        self.plan = plan
        self.open_store = open_store
        self.fleet_key = fleet_key
        self.events = broadcaster
        self.metrics = metrics_
        self.clock = clock or clock_mod.SystemClock()
        self.stop = stop or loop.Stop()
        self.pending = Pending(debounce=debounce, max_delay=max_delay)
        self.first_run = first_run
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.stop.listeners.append(self._wake.set)
        self.running: context.Selection | None = None
        self.finished = 0  # runs attempted to the end (recorded, or failed before any cluster)
        self._finished_changed = threading.Condition()
        self.next_at: float | None = None

    # --- asked from the HTTP handlers ---------------------------------------------------------

    def trigger(self, selection: context.Selection) -> context.Triggered:
        """Ask for a run (never blocks). An API or UI request while a run holds the fleet's run
        lock is refused (BUSY); webhook and scheduled requests wait for the run in progress."""
        if self.stop.requested:
            return context.Triggered(
                outcome=context.TriggerOutcome.STOPPING, message="the server is stopping"
            )
        immediate = selection.reason in (context.TriggerReason.API, context.TriggerReason.UI)
        if immediate:
            holder = self.lock_holder()
            if holder:
                return context.Triggered(
                    outcome=context.TriggerOutcome.BUSY,
                    running_run=holder,
                    message=f"run {holder} is in progress and holds the run lock of this fleet",
                )
        with self._lock:
            started = self.pending.add(selection, self.clock.now())
        self._wake.set()
        self.events.publish(
            events.Event(
                kind=events.EventKind.RUN_QUEUED,
                data={
                    "reason": selection.reason.value,
                    "clusters": list(selection.clusters),
                    "apps": len(selection.apps),
                },
            )
        )
        outcome = (
            context.TriggerOutcome.STARTED
            if started and self.running is None
            else context.TriggerOutcome.QUEUED
        )
        return context.Triggered(outcome=outcome)

    def lock_holder(self) -> str:
        """The run that holds this fleet's run lock now ("" when none): this server's, or
        another process's (found in the store)."""
        try:
            records = self.open_store().run_records(limit=50, states={results.RunState.RUNNING})
        except (errors.FleetError, OSError):
            records = []
        mine = [r for r in records if r.fleet == self.fleet_key and r.holds_lock]
        if mine:
            return mine[0].run_id
        return "running" if self.running is not None else ""

    def state(self) -> context.ServerState:
        with self._lock:
            pending = self.pending.selection is not None
        return context.ServerState(
            running_run=self.lock_holder() if self.running is not None else "",
            pending=pending,
            next_run_at=self.next_at,
            runs_finished=self.finished,
            ready=self.ready(),
            stopping=self.stop.requested,
        )

    def wait_finished(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` runs have ended (tests, benchmarks); whether they have."""
        with self._finished_changed:
            return self._finished_changed.wait_for(lambda: self.finished >= count, timeout)

    def ready(self) -> bool:
        """The first run has been made, when there is one to make at start."""
        return not self.first_run or self.finished > 0

    # --- the main thread -----------------------------------------------------------------------

    def run_forever(self) -> loop.LoopOutcome:
        """Wait for due runs and make them until ``stop`` (a signal, from the main thread)."""
        outcome = loop.LoopOutcome()
        now = self.clock.now()
        self.next_at = self.plan.next_after(now)
        if self.first_run:
            self.trigger(context.Selection(reason=context.TriggerReason.STARTUP))
        with loop.abandonable(self.stop, outcome):
            while not self.stop.requested:
                taken = self._wait_for_due()
                if taken is None:
                    continue
                self._run(*taken, outcome=outcome)
        return outcome

    def _wait_for_due(self) -> tuple[context.Selection, tuple[context.TriggerReason, ...], int] | None:
        now = self.clock.now()
        if self.next_at is not None and now >= self.next_at:
            self.trigger(context.Selection(reason=context.TriggerReason.SCHEDULE))
            self.next_at = self.plan.next_after(now)
        with self._lock:
            left = self.pending.seconds_left(now)
            if left == 0.0:
                return self.pending.take()
            self._wake.clear()
        waits = [w for w in (left, None if self.next_at is None else self.next_at - now) if w is not None]
        # Nothing due: sleep until the next due time, a new request or a stop (the wake event).
        self.clock.wait(self._wake, min(waits) if waits else 3600.0)
        return None

    def _run(
        self,
        selection: context.Selection,
        reasons: tuple[context.TriggerReason, ...],
        requests: int,
        *,
        outcome: loop.LoopOutcome,
    ) -> None:
        reason = reasons[0].value if reasons else ""
        iteration = outcome.runs + 1
        self.running = selection
        self.metrics.in_progress.set(1)
        asked_at = time.time()
        self.events.publish(
            events.Event(
                kind=events.EventKind.RUN_STARTED,
                data={
                    "reason": reason,
                    "reasons": [r.value for r in reasons],
                    "requests": requests,
                    "clusters": list(selection.clusters),
                    "apps": len(selection.apps),
                },
            )
        )
        _log.info(
            "run starting",
            extra={
                "fields": {
                    "iteration": iteration,
                    "reasons": [r.value for r in reasons],
                    "requests": requests,
                    "clusters": len(selection.clusters) or "all",
                    "apps": len(selection.apps) or "all",
                }
            },
        )
        try:
            attempt = self.runner.run(iteration=iteration, narrow=lambda r: adapter.narrow(r, selection))
        except errors.InputError as exc:
            # The fleet as Git has it now is bad input (or the selection names what is gone): the
            # server goes on, and the next push or scheduled run reads Git again.
            _log.error(
                "run refused: bad input", extra={"fields": {"iteration": iteration, "error": str(exc)}}
            )
            attempt = loop.Attempt(error=exc, exit_code=int(exc.exit_code), seconds=time.time() - asked_at)
        finally:
            self.running = None
            self.metrics.in_progress.set(0)
        outcome.runs, outcome.exit_code = iteration, attempt.exit_code
        with self._finished_changed:
            self.finished += 1
            self._finished_changed.notify_all()
        self.metrics.observe_run(
            reason=reason, seconds=attempt.seconds, run=attempt.run, error=attempt.error, asked_at=asked_at
        )
        if attempt.run is not None:
            run = attempt.run
            outcome.last = run
            _log.info(
                "sync run finished",
                extra={
                    "fields": {
                        **loop.summary_fields(run, iteration=iteration, seconds=attempt.seconds),
                        "reasons": [r.value for r in reasons],
                        "pid": os.getpid(),
                    }
                },
            )
            self.events.publish(
                events.Event(
                    kind=events.EventKind.RUN_FINISHED,
                    run_id=run.run_id,
                    data={"reason": reason, "ok": run.ok, **run.summary()},
                )
            )
        else:
            self.events.publish(
                events.Event(
                    kind=events.EventKind.RUN_FAILED,
                    data={
                        "reason": reason,
                        "exit_code": attempt.exit_code,
                        "error": redact.mask(str(attempt.error or "")),
                    },
                )
            )


__all__ = ["DEBOUNCE", "MAX_DELAY", "Pending", "Worker", "merge"]
