"""Long-running mode: ``fleet sync --every DURATION`` reconciles the fleet again and again.

Where it sits: on top of ``fleet.driver.run_recorded``, for fleet running as a Deployment or a
long-lived process instead of a CronJob. What lasts across runs, and why:

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

    def request(self, signal_name: str = "", exit_code: int = 0) -> None:
        if not self.event.is_set():
            self.signal_name, self.exit_code = signal_name, exit_code
        self.event.set()

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
    from fleet.secrets import resolver as resolver_mod

    if every <= 0:
        raise errors.InputError(f"must be above zero (got {every})", field="--every")
    stop = stop or Stop()
    state_dir = request.state_dir
    resolver = request.resolver or resolver_mod.Resolver(ttl=secrets_ttl)
    generation_file = resolver_mod.generation_path(state_dir)
    # A mirror fetched this recently is not fetched again: under the interval, so every run
    # fetches once (the first open of the run), and the rest of the run reads that fetch.
    git_max_age = min(request.git_max_age, every / 2)
    request = dataclasses.replace(
        request, resolver=resolver, resolver_key=f"loop-{uuid.uuid4().hex[:12]}", git_max_age=git_max_age
    )
    outcome = LoopOutcome()
    tmp = Path(tempfile.mkdtemp(prefix="fleet-loop-"))
    ex = executor_
    own = False
    try:
        with signals_stop(stop):
            while not stop.requested:
                started = time.monotonic()
                iteration = outcome.runs + 1
                if ex is None:
                    ex = executor.make_executor(
                        request.executor,
                        concurrency=request.concurrency,
                        address=request.ray_address,
                        tmp=tmp,
                    )
                    own = True
                this = dataclasses.replace(
                    request, secrets_generation=resolver_mod.read_generation(generation_file)
                )
                try:
                    # register, run and record; then notify, once the run is recorded
                    db = recording.open_store(this)
                    run = driver.run_recorded(this, db=db, executor_=ex)
                    recording.notify_after(run, this, db=db)
                except errors.InputError:
                    raise  # bad flags or a bad fleet before anything ran: the user must fix it
                except errors.FleetError as exc:
                    # The fleet could not be read this time (git unreachable...): say so, try again.
                    _log.warning(
                        "sync run failed before reaching any cluster",
                        extra={"fields": {"iteration": iteration, "error": str(exc)}},
                    )
                    outcome.runs = iteration
                    outcome.exit_code = int(exc.exit_code)
                else:
                    outcome.runs, outcome.last = iteration, run
                    outcome.exit_code = int(run.exit_code())
                    seconds = time.monotonic() - started
                    if metrics_file:
                        write_metrics(metrics_file, run)
                    _log.info(
                        "sync run finished",
                        extra={
                            "fields": {
                                **summary_fields(run, iteration=iteration, seconds=seconds),
                                "next_in": round(max(0.0, every - seconds), 2),
                            }
                        },
                    )
                    if on_run is not None:
                        on_run(run, iteration)
                if runs and outcome.runs >= runs:
                    break
                stop.event.wait(max(0.0, every - (time.monotonic() - started)))
    except errors.RunAbandoned as exc:
        _log.warning(str(exc))
        stop.request("", EXIT_SIGINT)
        outcome.stopped_by = stop.signal_name or "signal"
        outcome.exit_code = EXIT_SIGINT
        return outcome
    finally:
        if own and ex is not None:
            ex.close()
        # The watches the local executor's workers (this process) kept between runs end with the loop.
        livecache.close_all()
        shutil.rmtree(tmp, ignore_errors=True)
    if stop.requested:
        outcome.stopped_by = stop.signal_name
        outcome.exit_code = stop.exit_code
    return outcome


__all__ = ["DEFAULT_SECRETS_TTL", "LoopOutcome", "Stop", "parse_every", "run_loop", "write_metrics"]
