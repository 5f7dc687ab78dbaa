"""Long-running mode: ``fleet sync --every DURATION`` reconciles the fleet again and again.

Where it sits: on top of ``fleet.driver.run_recorded``, for fleet running as a Deployment or a
long-lived process instead of a CronJob; ``fleet serve`` (``fleet.serve``) runs through its
``Runner`` and ``abandonable`` too. What lasts across runs, and why:

- the executor: with Ray its actors (worker processes) stay up, so a run costs no process start;
- the secret resolver and its TTL cache (``--secrets-ttl``): kept in each worker process under
  one key (``reconcile.shared_resolver``); ``fleet secrets refresh`` bumps the refresh generation
  in the state directory, which the driver reads before every run and the workers obey;
- nothing else: the git source is fetched again for every run (a commit pushed meanwhile is
  applied by the next run), and every run is recorded in the status store.

Each run ends with one structured log line (``fleet.loop``: "sync run finished" with its
counts), and optionally the Prometheus metrics of the latest run are written to
``--metrics-file`` (written aside and renamed into place, for node_exporter's textfile collector).

Stopping: SIGINT or SIGTERM while waiting stops at once; during a run, the run is finished and
recorded first. A second signal abandons the current run. The exit status is 0 after SIGTERM,
130 after SIGINT.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet import driver, errors, executor, log, report, results, waves
from fleet.driver import recording
from fleet.reconcile import livecache

_log = log.get_logger(__name__)

DEFAULT_SECRETS_TTL = 300.0
EXIT_SIGINT = 130  # the shell's 128 + SIGINT


def parse_every(text: str) -> float:
    """``--every``: a Go-style duration (``30s``, ``5m``, ``1h30m``) or seconds, above zero."""
    seconds = waves.parse_duration(text, where="--every")
    if seconds <= 0:
        raise errors.InputError(f"must be above zero (got {text!r})", field="--every")
    return seconds


@dataclass
class Stop:
    """Why and when the loop should stop (set from a signal handler or by a caller)."""

    event: threading.Event = dataclasses.field(default_factory=threading.Event)
    signal_name: str = ""
    exit_code: int = 0
    # Called (from the signal handler's thread) on every request: a process that waits on
    # something else than ``event`` (fleet serve's run worker) wakes up through one.
    listeners: list[Callable[[], None]] = dataclasses.field(default_factory=list)

    def request(self, signal_name: str = "", exit_code: int = 0) -> None:
        if not self.event.is_set():
            self.signal_name, self.exit_code = signal_name, exit_code
        self.event.set()
        for listener in self.listeners:
            listener()

    @property
    def requested(self) -> bool:
        return self.event.is_set()


@contextlib.contextmanager
def signals_stop(stop: Stop) -> Iterator[None]:
    """SIGINT/SIGTERM ask ``stop`` to stop; a second one abandons the current run (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if stop.requested:
            raise errors.RunAbandoned(f"{name} again: abandoning the current run")
        _log.info(f"{name}: stopping after the current run", extra={"fields": {"signal": name}})
        stop.request(name, EXIT_SIGINT if signum == signal.SIGINT else 0)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def write_metrics(path: str | os.PathLike[str], run: results.RunResult) -> None:
    """The run's Prometheus metrics, written aside and renamed into place (atomic for readers)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(report.render(run, [run], fmt="metrics"))
        os.chmod(tmp, 0o644)  # node_exporter usually runs as another user
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def summary_fields(run: results.RunResult, *, iteration: int, seconds: float) -> dict[str, Any]:
    s = run.summary()
    return {
        "iteration": iteration,
        "run": run.run_id,
        "ok": run.ok,
        "revision": run.revision,
        "seconds": round(seconds, 2),
        "clusters": s["clusters"],
        "clusters_failed": s["clusters_failed"],
        "applications": s["applications"],
        "synced_healthy": sum(1 for a in run.apps() if a.ok),
        "out_of_sync": s["out_of_sync"],
        "degraded": s["degraded"],
        "changed": s["changed"],
        "drifted": s["drifted"],
        "deleted": s["deleted"],
        "requests": s["requests"],
        "generation_errors": s["generation_errors"],
    }


@dataclass
class LoopOutcome:
    runs: int = 0
    last: results.RunResult | None = None
    stopped_by: str = ""  # the signal that stopped it ("" when --runs ran out)
    exit_code: int = 0
    abandoned: bool = False  # a second signal abandoned the run in progress (recorded as aborted)


class Runner:
    """What lasts across the runs of one long-running process (``run_loop`` here, ``fleet serve``):
    the executor, the secret resolver and its TTL cache, and the git mirror's freshness.

    ``run`` makes one run of the request (or of a narrower one, e.g. the Applications a webhook
    push touched), registered, recorded and notified as ``fleet sync`` does, and never raises for
    a run that failed before reaching any cluster (git unreachable, run lock held: logged, its
    exit code in the ``Attempt``); bad input (``InputError``) and the abandoning of a run
    (``RunAbandoned``) propagate.

    Parameters:
        every: the interval between runs, if any: a git mirror fetched within half of it is not
            fetched again (0: the request's own ``git_max_age``).
        secrets_ttl, executor_: as for ``run_loop``.
    """

    def __init__(
        self,
        request: driver.RunRequest,
        *,
        every: float = 0.0,
        secrets_ttl: float | None = DEFAULT_SECRETS_TTL,
        executor_: executor.Executor | None = None,
    ) -> None:
        from fleet.secrets import resolver as resolver_mod

        self._resolver_mod = resolver_mod
        resolver = request.resolver or resolver_mod.Resolver(ttl=secrets_ttl)
        self.generation_file = resolver_mod.generation_path(request.state_dir)
        # A mirror fetched this recently is not fetched again: under the interval, so every run
        # fetches once (the first open of the run), and the rest of the run reads that fetch.
        git_max_age = min(request.git_max_age, every / 2) if every > 0 else request.git_max_age
        self.request = dataclasses.replace(
            request, resolver=resolver, resolver_key=f"loop-{uuid.uuid4().hex[:12]}", git_max_age=git_max_age
        )
        self.tmp = Path(tempfile.mkdtemp(prefix="fleet-loop-"))
        self.executor = executor_
        self._own = False

    def run(
        self, *, iteration: int, narrow: Callable[[driver.RunRequest], driver.RunRequest] | None = None
    ) -> Attempt:
        """One run of the request (``narrow``-ed if given): its result, or the error that ended
        it before it reached any cluster."""
        started = time.monotonic()
        if self.executor is None:
            self.executor = executor.make_executor(
                self.request.executor,
                concurrency=self.request.concurrency,
                address=self.request.ray_address,
                runtime_env=self.request.ray_runtime_env,
                placement=self.request.ray_placement,
            )
            self._own = True
        this = dataclasses.replace(
            self.request, secrets_generation=self._resolver_mod.read_generation(self.generation_file)
        )
        if narrow is not None:
            this = narrow(this)
        try:
            # register, run and record; then notify, once the run is recorded
            db = recording.open_store(this)
            run = driver.run_recorded(this, db=db, executor_=self.executor)
            recording.notify_after(run, this, db=db)
        except errors.InputError:
            raise  # bad flags or a bad fleet before anything ran: the user must fix it
        except errors.FleetError as exc:
            # The fleet could not be read this time (git unreachable...): say so, try again.
            _log.warning(
                "sync run failed before reaching any cluster",
                extra={"fields": {"iteration": iteration, "error": str(exc)}},
            )
            return Attempt(error=exc, exit_code=int(exc.exit_code), seconds=time.monotonic() - started)
        return Attempt(run=run, exit_code=int(run.exit_code()), seconds=time.monotonic() - started)

    def close(self) -> None:
        if self._own and self.executor is not None:
            self.executor.close()
        self.executor = None
        # The watches the local executor's workers (this process) kept between runs end with it.
        livecache.close_all()
        shutil.rmtree(self.tmp, ignore_errors=True)


@dataclass(frozen=True)
class Attempt:
    """One run of a ``Runner``: the recorded run, or the error that ended it before any cluster."""

    run: results.RunResult | None = None
    error: errors.FleetError | None = None
    exit_code: int = 0
    seconds: float = 0.0


def run_loop(
    request: driver.RunRequest,
    *,
    every: float,
    runs: int = 0,
    metrics_file: str | None = None,
    secrets_ttl: float | None = DEFAULT_SECRETS_TTL,
    stop: Stop | None = None,
    on_run: Callable[[results.RunResult, int], None] | None = None,
    executor_: executor.Executor | None = None,
) -> LoopOutcome:
    """Run ``request`` every ``every`` seconds (start to start; runs never overlap) until ``stop``
    (or a signal, from the main thread) or ``runs`` runs (0: no limit).

    Parameters:
        secrets_ttl: seconds a resolved secret stays cached across runs (None: per run only);
            ignored when the request brings its own resolver (which keeps its own TTL).
        on_run: called after each recorded run with the result and its 1-based number.
        executor_: an executor to use (and leave open); default: one from the request, kept
            for the loop's lifetime and closed at the end.
    """
    if every <= 0:
        raise errors.InputError(f"must be above zero (got {every})", field="--every")
    stop = stop or Stop()
    outcome = LoopOutcome()
    runner = Runner(request, every=every, secrets_ttl=secrets_ttl, executor_=executor_)
    try:
        with abandonable(stop, outcome):
            while not stop.requested:
                started = time.monotonic()
                iteration = outcome.runs + 1
                attempt = runner.run(iteration=iteration)
                outcome.runs, outcome.exit_code = iteration, attempt.exit_code
                if attempt.run is not None:
                    run = attempt.run
                    outcome.last = run
                    if metrics_file:
                        write_metrics(metrics_file, run)
                    _log.info(
                        "sync run finished",
                        extra={
                            "fields": {
                                **summary_fields(run, iteration=iteration, seconds=attempt.seconds),
                                "next_in": round(max(0.0, every - attempt.seconds), 2),
                            }
                        },
                    )
                    if on_run is not None:
                        on_run(run, iteration)
                if runs and outcome.runs >= runs:
                    break
                stop.event.wait(max(0.0, every - (time.monotonic() - started)))
    finally:
        runner.close()
    return outcome


@contextlib.contextmanager
def abandonable(stop: Stop, outcome: LoopOutcome) -> Iterator[None]:
    """The signals of a long-running process around its runs (``signals_stop``), and how it ends:
    a second signal abandons the current run (exit 130); a first one lets it finish, then the
    outcome says which signal stopped it and exits as that signal asks (0 for SIGTERM, 130 for
    SIGINT)."""
    try:
        with signals_stop(stop):
            yield
    except errors.RunAbandoned as exc:
        _log.warning(str(exc))
        stop.request("", EXIT_SIGINT)
        outcome.stopped_by = stop.signal_name or "signal"
        outcome.exit_code = EXIT_SIGINT
        outcome.abandoned = True
        return
    if stop.requested:
        outcome.stopped_by = stop.signal_name
        outcome.exit_code = stop.exit_code


__all__ = [
    "DEFAULT_SECRETS_TTL",
    "Attempt",
    "LoopOutcome",
    "Runner",
    "Stop",
    "abandonable",
    "parse_every",
    "run_loop",
    "write_metrics",
]
