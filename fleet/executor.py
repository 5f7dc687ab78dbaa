"""Fan-out: run one unit of work per cluster, in parallel, isolating every cluster.

This sits between planning (Applications grouped per cluster) and reporting (results per cluster).
Two executors share one contract:

- ``LocalExecutor``: a thread pool in this process; for tiny fleets and the benchmark baseline.
- ``RayExecutor``: a few long-lived Ray actors (about one per CPU), each running many clusters at
  once on threads. Per-cluster work is network-bound (API round trips), so threads inside an actor
  keep a core busy; process start-up (about a second per worker) is paid once per actor, not once
  per cluster, and ``ray.init`` once per run.

The driver dispatches work itself and never keeps more units in flight per actor than the actor
has slots. That bounds concurrency per actor and overall, makes the per-cluster timeout measurable
from dispatch, and means that when an actor dies only the units it was running are lost: they are
reported as ``WORKER_DIED`` and the rest go on to a replacement actor.

On a Ray cluster of several nodes (issue 12) the actors are spread over the nodes, or pinned to
nodes with a custom resource by the units' labels (``fleet.raynodes``), and every outcome names the
node that ran it. When a whole node dies, the units it was running are dispatched once more on a
surviving node (within their original timeout) instead of being reported lost at once.

A unit that raises, hangs past its timeout, or loses its worker yields a failed ``UnitOutcome``;
it never stops the others.

``make_executor`` is the one place an executor is made from ``--executor``; for a named Ray
cluster it ships fleet itself (``fleet.executor_runtime_env``: a wheel cached per source digest,
or nothing with ``--ray-runtime-env none``), so remote workers run the driver's code.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import importlib
import logging
import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from fleet import errors, executor_runtime_env, log, raynodes, redact

_log = log.get_logger(__name__)

# ray.init's address for a new Ray private to this process. Without it, ray.init joins whatever
# Ray cluster the host knows about (RAY_ADDRESS, or the address file another project's `ray start`
# left in Ray's temp directory), where fleet's workers may not even import (issue 8, item 3).
PRIVATE_RAY = "local"
# How long a named Ray cluster (--ray-address / RAY_ADDRESS) may take to answer before the run
# gives up (FLEET_RAY_CONNECT_TIMEOUT overrides it); Ray's own connection loop retries for minutes
# on a dead address.
RAY_CONNECT_TIMEOUT = 10.0
# How long a Ray started in the background waits for its worker processes to import the work
# function (``RayExecutor.warm``, best effort): a worker slower than this is waited for by its
# first unit instead, under the run's per-cluster timeout.
WARM_TIMEOUT = 120.0
RAY_CONNECT_TIMEOUT_ENV = "FLEET_RAY_CONNECT_TIMEOUT"
# The HTTP/2 client preface and an empty SETTINGS frame (RFC 9113 §3.4): a gRPC server (Ray's GCS,
# or its Ray Client server) answers with a SETTINGS frame; something else on the port does not.
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
_HTTP2_SETTINGS = 0x04
RAY_CLIENT_PORT = 10001  # the Ray Client server's default port (ray://host without a port)
# How Ray Client words a server-side session that did not start, and how often fleet joins.
RAY_CLIENT_INIT_FAILURE = "Initialization failure from server"
JOIN_ATTEMPTS = 3
# Ray's logger for its token-authentication set-up. On every start of a local Ray it warns that
# it turned token authentication on by default, and with no handler configured (fleet passes
# configure_logging=False) the warning reaches stderr as raw text, breaking the JSON log lines.
# Fleet keeps Ray's default (token auth on; RAY_AUTH_MODE still chooses), so the notice says
# nothing a user must act on: that logger is set to errors only, the way Ray's logging guide
# configures its loggers. Errors (a missing token for a cluster that needs one) still show.
RAY_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
# ray.init outside the main thread warns, as raw text, that it set no SIGTERM handler; a Ray started
# in the background (``Starting``) had its handler set from the main thread, so that notice is dropped.
RAY_WORKER_LOGGER = "ray._private.worker"
RAY_NOT_MAIN_THREAD = "SIGTERM handler is not set"


class UnitState(StrEnum):
    """How a unit of work ended, as seen by the executor."""

    DONE = "done"  # the work function returned a value
    ERROR = "error"  # the work function raised; ``error`` says what
    TIMEOUT = "timeout"  # no answer within the per-unit timeout; the unit was abandoned
    WORKER_DIED = "worker-died"  # the process running the unit died before it answered (or its node, twice)
    UNPLACED = "unplaced"  # no alive Ray node has the custom resource its placement pin asks for


@dataclasses.dataclass(frozen=True)
class WorkUnit:
    """One cluster's work: ``key`` names it (the cluster), ``payload`` is what the function gets.

    The payload crosses process (and machine) boundaries under Ray: it must be picklable and
    self-contained; workers need nothing from the driver's disk.
    """

    key: str
    payload: Any
    # What placement pins match (the cluster's labels, as sorted pairs: hashable and frozen).
    labels: tuple[tuple[str, str], ...] = ()


@runtime_checkable
class Resumable(Protocol):
    """A payload that can say it is being run again after its first run was lost mid-way with
    its Ray node: that run may have done part of the work (fleet.reconcile's ``ClusterWork``
    waits again for the objects it may have applied)."""

    def as_resumed(self) -> Any: ...


@dataclasses.dataclass(frozen=True)
class UnitOutcome:
    key: str
    state: UnitState
    value: Any = None
    error: str = ""
    seconds: float = 0.0
    worker: str = ""
    node: str = ""  # the Ray node id that ran it ("" off Ray)

    @property
    def ok(self) -> bool:
        return self.state is UnitState.DONE


class Executor(Protocol):
    """Runs ``function(payload)`` for every unit and yields outcomes as they complete."""

    name: str

    def run(
        self,
        function: str,
        units: Sequence[WorkUnit],
        *,
        timeout: float | None = None,
    ) -> Iterator[UnitOutcome]: ...

    def close(self) -> None: ...


def resolve_function(path: str) -> Callable[[Any], Any]:
    """``"package.module:function"`` -> the function. Work functions are named, not pickled, so a
    worker on another machine imports the same code the driver runs."""
    module_name, _, attr = path.partition(":")
    if not attr:
        raise ValueError(f"work function {path!r} must look like 'package.module:function'")
    return getattr(importlib.import_module(module_name), attr)


def _call(function: Callable[[Any], Any], unit: WorkUnit, worker: str) -> UnitOutcome:
    started = time.monotonic()
    try:
        value = function(unit.payload)
    except Exception as exc:  # noqa: BLE001 - isolate the unit: report, never propagate
        _log.debug("unit failed", extra={"fields": {"unit": unit.key, "trace": traceback.format_exc()}})
        return UnitOutcome(
            unit.key,
            UnitState.ERROR,
            error=redact.mask(f"{type(exc).__name__}: {exc}"),
            seconds=time.monotonic() - started,
            worker=worker,
        )
    return UnitOutcome(
        unit.key, UnitState.DONE, value=value, seconds=time.monotonic() - started, worker=worker
    )


class LocalExecutor:
    """Threads in this process: at most ``max_workers`` units in flight.

    Each unit gets its own daemon thread rather than a pool slot, so a unit abandoned on timeout
    (its thread may still be blocked on a dead socket) never delays the units behind it.
    """

    name = "local"

    def __init__(self, *, max_workers: int = 32) -> None:
        self.max_workers = max(1, max_workers)

    def run(
        self,
        function: str,
        units: Sequence[WorkUnit],
        *,
        timeout: float | None = None,
    ) -> Iterator[UnitOutcome]:
        fn = resolve_function(function)
        worker = f"local:{os.getpid()}"
        results: queue.Queue[UnitOutcome] = queue.Queue()
        pending = deque(units)
        running: dict[str, float] = {}  # unit key -> start time

        def dispatch() -> None:
            while pending and len(running) < self.max_workers:
                unit = pending.popleft()
                running[unit.key] = time.monotonic()
                threading.Thread(
                    target=lambda u=unit: results.put(_call(fn, u, worker)),
                    name=f"fleet-unit-{unit.key}",
                    daemon=True,
                ).start()

        dispatch()
        while running:
            try:
                outcome = results.get(timeout=_next_wait(running.values(), timeout))
            except queue.Empty:
                outcome = None
            if outcome is not None and outcome.key in running:
                running.pop(outcome.key)
                yield outcome
            if timeout is not None:
                now = time.monotonic()
                for key, started in list(running.items()):
                    if now - started > timeout:
                        running.pop(key)
                        yield UnitOutcome(
                            key,
                            UnitState.TIMEOUT,
                            error=f"no result within {timeout:g}s",
                            seconds=now - started,
                            worker=worker,
                        )
            dispatch()

    def close(self) -> None:
        return None


def _next_wait(starts: Iterable[float], timeout: float | None) -> float | None:
    """How long to block for the next result before checking timeouts again."""
    if timeout is None:
        return None
    now = time.monotonic()
    deadlines = [started + timeout - now for started in starts]
    return max(0.01, min(deadlines)) if deadlines else 0.01


class _WorkerImpl:
    """The body of a Ray actor: runs named work functions on a pool of threads.

    Defined here (not in a closure) so the actor class pickles by reference to this module.
    """

    def __init__(self) -> None:
        import ray

        self._functions: dict[str, Callable[[Any], Any]] = {}
        self._lock = threading.Lock()
        self.worker = f"ray:{os.getpid()}"
        # The node as Ray names it: every result this actor returns says where it ran (issue 12).
        self.node = str(ray.get_runtime_context().get_node_id())

    def pid(self) -> int:
        return os.getpid()

    def load(self, function: str) -> Callable[[Any], Any]:
        """The named work function, imported once per process (``warm`` calls it before any work)."""
        with self._lock:
            fn = self._functions.get(function)
            if fn is None:
                fn = self._functions[function] = resolve_function(function)
        return fn

    def preload(self, function: str) -> int:
        self.load(function)
        return os.getpid()

    def run(self, function: str, unit: WorkUnit) -> UnitOutcome:
        return dataclasses.replace(_call(self.load(function), unit, self.worker), node=self.node)


@dataclasses.dataclass
class _Actor:
    """One worker actor of a pool: where fleet placed it and how many units it is running."""

    handle: Any
    node: str  # the Ray node id it was placed on (NodeAffinitySchedulingStrategy)
    name: str  # ray-actor-N, for outcomes of units it never answered
    load: int = 0


@dataclasses.dataclass
class _Attempt:
    """A unit on its way through the executor: how often it was dispatched, and since when its
    per-unit timeout runs (the first dispatch: a retry after a lost node does not restart it).
    A retry after a lost node carries its payload's resumed form (``Resumable``)."""

    unit: WorkUnit
    attempts: int = 0
    started: float | None = None
    lost_node: str = ""  # the node it was running on when that node died


# A unit whose node died is dispatched once more, on a surviving node (issue 12): the node's loss
# is the machine's doing, not the unit's. A unit whose worker process died on a live node is not:
# the unit itself may have killed it (memory), and it would kill the next worker too.
NODE_LOSS_ATTEMPTS = 2


class RayExecutor:
    """Few long-lived Ray actors, each running ``slots`` clusters at once on threads.

    Actors are placed on nodes explicitly (``NodeAffinitySchedulingStrategy``), so fleet knows
    where each one runs: the default pool is spread over the alive nodes by their CPUs
    (``raynodes.spread``), and each pinned resource (``placement``) gets a pool on the nodes that
    have it, made when a unit first needs it.

    Parameters:
        address: an existing Ray cluster (``host:port``, ``ray://...`` or ``auto``); checked to
            answer within ``connect_timeout`` first (``errors.ExecutorUnavailable`` otherwise).
            None (or ``"local"``) starts a Ray private to this process, never one found on the host.
        actors: how many worker processes in the spread pool; default one per CPU Ray reports.
        slots: units in flight per actor (its thread concurrency).
        runtime_env: passed to ``ray.init`` (e.g. ``py_modules`` with fleet's modules, so remote
            workers run the same code without the driver's disk).
        placement: pins of units to nodes with a custom resource, by the unit's labels.
    """

    name = "ray"

    def __init__(
        self,
        *,
        address: str | None = None,
        actors: int | None = None,
        slots: int = 16,
        runtime_env: dict[str, Any] | None = None,
        num_cpus: int | None = None,
        connect_timeout: float | None = None,
        placement: Sequence[raynodes.Pin] = (),
    ) -> None:
        # helm-python-sdk embeds Helm's Go runtime, which turns a nil dereference in a chart template
        # into a recoverable panic through its own SIGSEGV handler. ray.init installs two handlers
        # over it (absl's failure handler and Python's faulthandler), after which a bad chart kills
        # the whole driver instead of failing one render. Keep Go's handler: disable absl's, and
        # undo the faulthandler that ray.init enables (disable() restores the previous handler).
        os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")
        faulthandler_was_enabled = faulthandler.is_enabled()
        import ray
        from ray.util import scheduling_strategies

        if threading.current_thread() is not threading.main_thread():
            # Started in the background (``Starting``), which set Ray's SIGTERM handler itself.
            _quiet(RAY_WORKER_LOGGER, RAY_NOT_MAIN_THREAD)

        self._ray = ray
        self._affinity = scheduling_strategies.NodeAffinitySchedulingStrategy
        self._owns_ray = False
        if not ray.is_initialized():
            logging.getLogger(RAY_AUTH_LOGGER).setLevel(logging.ERROR)
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": "ERROR",
                "configure_logging": False,
            }
            if address and address != PRIVATE_RAY:
                probe_ray_address(address, timeout=connect_timeout)
                # "auto" as fleet resolves it, so that Ray does not pick another cluster it finds running
                kwargs["address"] = resolve_auto_address() if address == "auto" else address
            else:
                kwargs["address"] = PRIVATE_RAY
                if num_cpus is not None:
                    kwargs["num_cpus"] = num_cpus
            if runtime_env:
                kwargs["runtime_env"] = runtime_env
            for attempt in range(1, JOIN_ATTEMPTS + 1):
                try:
                    ray.init(**kwargs)
                    break
                except Exception as exc:  # Ray raises ConnectionError, RuntimeError, AuthenticationError...
                    if kwargs["address"] == PRIVATE_RAY:
                        raise
                    if attempt < JOIN_ATTEMPTS and _server_side_start_failed(exc):
                        _log.info(
                            "ray client session did not start; joining again",
                            extra={
                                "fields": {
                                    "address": redact.safe_url(str(address)),
                                    "error": _first_line(exc),
                                }
                            },
                        )
                        continue
                    raise errors.ExecutorUnavailable(
                        f"cannot join the Ray cluster at {redact.safe_url(str(address))}: {_first_line(exc)}"
                    ) from exc
            self._owns_ray = True
            if not faulthandler_was_enabled and faulthandler.is_enabled():
                faulthandler.disable()
        self.slots = max(1, slots)
        self.placement = tuple(placement)
        # Twice the slots: a unit abandoned on timeout may still occupy a thread for a while.
        # (Options as a mapping: ray's overloads for remote() do not list actor options.)
        actor_options: dict[str, Any] = {"num_cpus": 0, "max_concurrency": self.slots * 2, "max_restarts": 0}
        self._actor_cls = ray.remote(**actor_options)(_WorkerImpl)
        self._made = 0
        self._actors_wanted = actors
        # Pools by the custom resource their nodes have ("": the spread pool, any node).
        self._pools: dict[str, list[_Actor]] = {}
        try:
            self._pools[""] = self._new_pool("")
        except BaseException:
            # No executor to close: stop the Ray this start made here, not at some later exit.
            self.close()
            raise
        self.actor_count = len(self._pools[""])

    def nodes(self) -> list[raynodes.Node]:
        """The alive nodes of the Ray cluster."""
        return raynodes.from_ray(self._ray.nodes())

    def _new_actor(self, node: str, resource: str) -> _Actor:
        options: dict[str, Any] = {"scheduling_strategy": self._affinity(node_id=node, soft=False)}
        if resource:
            options["resources"] = {resource: raynodes.PIN_SHARE}
        name = f"ray-actor-{self._made}"
        self._made += 1
        return _Actor(handle=self._actor_cls.options(**options).remote(), node=node, name=name)

    def _new_pool(self, resource: str) -> list[_Actor]:
        """Actors for one pool on the nodes alive now (none: no alive node can take its units)."""
        nodes = self.nodes()
        where = raynodes.pinned(nodes, resource) if resource else raynodes.spread(nodes, self._actors_wanted)
        return [self._new_actor(node, resource) for node in where]

    def home(self, key: str, resource: str = "") -> int:
        """The actor of its pool a unit goes to when it has a free slot: a stable function of the
        unit's key (crc32, not ``hash``, which differs between processes), so a cluster returns to
        the worker that keeps its live objects and watches (fleet.reconcile.livecache)."""
        return zlib.crc32(key.encode()) % len(self._pools[resource])

    def actor_pids(self) -> list[int]:
        actors = [a for pool in self._pools.values() for a in pool]
        return list(self._ray.get([a.handle.pid.remote() for a in actors]))

    def actor_nodes(self) -> dict[str, list[str]]:
        """Pool (custom resource, "" for the spread pool) -> the node id of each of its actors."""
        return {resource: [a.node for a in pool] for resource, pool in self._pools.items()}

    def _resource(self, unit: WorkUnit) -> str:
        return raynodes.resource_for(dict(unit.labels), self.placement)

    def _node_alive(self, node: str) -> bool:
        return any(n.node_id == node for n in self.nodes())

    def warm(self, function: str) -> None:
        """Wait until every worker process is up and has imported ``function``'s module: what the
        first units would otherwise wait for (a worker's start and fleet's imports, a second or
        more each on a small machine). Best effort: a worker that dies here is replaced when the
        run finds it dead, as for any unit."""
        try:
            actors = [a for pool in self._pools.values() for a in pool]
            self._ray.get([a.handle.preload.remote(function) for a in actors], timeout=WARM_TIMEOUT)
        except self._ray.exceptions.RayError as exc:  # GetTimeoutError included
            _log.debug("a ray worker did not warm up", extra={"fields": {"error": _first_line(exc)}})

    def run(
        self,
        function: str,
        units: Sequence[WorkUnit],
        *,
        timeout: float | None = None,
    ) -> Iterator[UnitOutcome]:
        ray = self._ray
        pending: dict[str, deque[_Attempt]] = {}
        for unit in units:
            pending.setdefault(self._resource(unit), deque()).append(_Attempt(unit))
        running: dict[Any, tuple[_Attempt, _Actor]] = {}  # ref -> (attempt, actor)

        def unplaced(resource: str, why: str) -> Iterator[UnitOutcome]:
            for attempt in pending.pop(resource, deque()):
                if attempt.lost_node:
                    yield UnitOutcome(
                        attempt.unit.key,
                        UnitState.WORKER_DIED,
                        error=f"the Ray node running it died (node {attempt.lost_node}) and {why}",
                        seconds=time.monotonic() - (attempt.started or time.monotonic()),
                        node=attempt.lost_node,
                    )
                else:
                    yield UnitOutcome(attempt.unit.key, UnitState.UNPLACED, error=why)

        def dispatch() -> Iterator[UnitOutcome]:
            for resource in list(pending):
                pool = self._pools.get(resource)
                if not pool:
                    pool = self._pools[resource] = self._new_pool(resource)
                if not pool:
                    yield from unplaced(resource, _no_node(resource))
                    continue
                queue_ = pending[resource]
                # Each unit to its home actor first (the same actor run after run); then what is
                # left to any actor of the pool with a free slot, so that none idles while work waits.
                kept: deque[_Attempt] = deque()
                homed: deque[tuple[_Attempt, _Actor]] = deque()
                planned = [actor.load for actor in pool]
                while queue_:
                    attempt = queue_.popleft()
                    index = self.home(attempt.unit.key, resource)
                    if planned[index] < self.slots:
                        planned[index] += 1
                        homed.append((attempt, pool[index]))
                    else:
                        kept.append(attempt)
                queue_.extend(kept)
                while homed or queue_:
                    if homed:
                        attempt, actor = homed.popleft()
                    else:
                        actor = min(pool, key=lambda a: a.load)
                        if actor.load >= self.slots:
                            break
                        attempt = queue_.popleft()
                    attempt.attempts += 1
                    if attempt.started is None:
                        attempt.started = time.monotonic()
                    ref = actor.handle.run.remote(function, attempt.unit)
                    running[ref] = (attempt, actor)
                    actor.load += 1
                    _log.debug(
                        "unit dispatched",
                        extra={
                            "fields": {
                                "unit": attempt.unit.key,
                                "ray_node": actor.node,
                                "actor": actor.name,
                                "attempt": attempt.attempts,
                            }
                        },
                    )
                if not queue_:
                    pending.pop(resource)

        def lost(attempt: _Attempt, actor: _Actor, error: str, node_gone: bool) -> UnitOutcome | None:
            """A unit whose actor died: requeued once when its node is gone, else reported."""
            if node_gone and attempt.attempts < NODE_LOSS_ATTEMPTS:
                _log.warning(
                    "ray node lost; running the unit again on a surviving node",
                    extra={"fields": {"unit": attempt.unit.key, "ray_node": actor.node}},
                )
                attempt.lost_node = actor.node
                if isinstance(attempt.unit.payload, Resumable):
                    resumed = attempt.unit.payload.as_resumed()
                    attempt.unit = dataclasses.replace(attempt.unit, payload=resumed)
                pending.setdefault(self._resource(attempt.unit), deque()).append(attempt)
                return None
            assert attempt.started is not None
            return UnitOutcome(
                attempt.unit.key,
                UnitState.WORKER_DIED,
                error=error,
                seconds=time.monotonic() - attempt.started,
                worker=actor.name,
                node=actor.node,
            )

        yield from dispatch()
        while running:
            starts = (a.started for a, _ in running.values() if a.started is not None)
            ready, _ = ray.wait(list(running), num_returns=1, timeout=_next_wait(starts, timeout))
            dead: dict[int, tuple[_Actor, str]] = {}
            for ref in ready:
                attempt, actor = running.pop(ref)
                actor.load -= 1
                assert attempt.started is not None
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    dead[id(actor)] = (actor, _actor_error(exc))
                    node_gone = not self._node_alive(actor.node)
                    outcome = lost(
                        attempt, actor, _lost(dead[id(actor)][1], actor.node, node_gone), node_gone
                    )
                    if outcome is not None:
                        yield outcome
                except ray.exceptions.RayError as exc:
                    yield UnitOutcome(
                        attempt.unit.key,
                        UnitState.ERROR,
                        error=redact.mask(str(exc).splitlines()[0]),
                        seconds=time.monotonic() - attempt.started,
                        worker=actor.name,
                        node=actor.node,
                    )
            if timeout is not None:
                for ref, (attempt, actor) in list(running.items()):
                    assert attempt.started is not None
                    if time.monotonic() - attempt.started > timeout:
                        running.pop(ref)
                        actor.load -= 1
                        ray.cancel(ref, force=False)
                        yield UnitOutcome(
                            attempt.unit.key,
                            UnitState.TIMEOUT,
                            error=f"no result within {timeout:g}s",
                            seconds=time.monotonic() - attempt.started,
                            worker=actor.name,
                            node=actor.node,
                        )
            for actor, error in dead.values():
                # Every unit still running on a dead actor is lost with it: requeued when its node
                # is gone, reported otherwise. Then the actor is replaced on the same node if that
                # node lives.
                node_gone = not self._node_alive(actor.node)
                for ref, (attempt, holder) in list(running.items()):
                    if holder is actor:
                        running.pop(ref)
                        outcome = lost(attempt, actor, _lost(error, actor.node, node_gone), node_gone)
                        if outcome is not None:
                            yield outcome
                if node_gone:
                    # Every actor on a dead node is gone with it, idle ones too: none gets more
                    # work. A pool left without actors is made anew on the alive nodes by dispatch().
                    _log.warning(
                        "ray node lost", extra={"fields": {"actor": actor.name, "ray_node": actor.node}}
                    )
                    for resource in list(self._pools):
                        self._pools[resource] = [a for a in self._pools[resource] if a.node != actor.node]
                        if not self._pools[resource]:
                            del self._pools[resource]
                    continue
                for resource, pool in self._pools.items():
                    if actor in pool:
                        pool.remove(actor)
                        _log.warning("ray worker died; replacing it", extra={"fields": {"actor": actor.name}})
                        pool.append(self._new_actor(actor.node, resource))
                        break
            yield from dispatch()

    def close(self) -> None:
        for actor in [a for pool in self._pools.values() for a in pool]:
            try:
                self._ray.kill(actor.handle)
            except Exception:  # noqa: BLE001 - best effort on shutdown
                pass
        self._pools = {}
        if self._owns_ray:
            self._owns_ray = False  # closed once: a second close leaves a later Ray alone
            self._ray.shutdown()


def _no_node(resource: str) -> str:
    return (
        f"no alive Ray node has the custom resource {resource!r} ({raynodes.PLACEMENT_FLAG}); "
        f"start one with `ray start --resources '{{\"{resource}\": 1}}'`"
    )


def _server_side_start_failed(exc: BaseException) -> bool:
    """Ray Client's answer when the head could not start the server-side session of this client
    (a process per client, forked by the head's multi-threaded gRPC proxy; the child dies now and
    then in gRPC's fork handling, more often on a busy head: ray-project/ray#63202, seen here in
    CI). The address answered and knows the client, so joining again starts a new session."""
    return isinstance(exc, ConnectionAbortedError) and str(exc).startswith(RAY_CLIENT_INIT_FAILURE)


class _DropMessages(logging.Filter):
    """Drops the records of one logger whose message starts with ``prefix``."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


def _quiet(logger_name: str, prefix: str) -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, _DropMessages) and f.prefix == prefix for f in logger.filters):
        logger.addFilter(_DropMessages(prefix))


def _exit_on_sigterm(signum: int, _frame: Any) -> None:
    sys.exit(signum)


class Starting:
    """An executor being made on a thread of its own (issue 15): the driver starts Ray (``ray.init``,
    the worker processes, their imports of ``warm``'s module) as soon as it knows the run needs
    it, and goes on generating and rendering meanwhile.

    ``get`` hands the executor over when the fan-out begins, waiting for what is left of the start,
    or raises the start's own error there (``ExecutorUnavailable``, exit 4), as a start at that
    point would have. ``close``, on every path out of the run (success, bad input, an interrupt, an
    exception), stops the executor, taken or not, so a run leaves no Ray behind; ``Starting`` owns
    what it made, whoever used it.

    The thread lives until ``close`` has stopped the executor: Ray starts its servers (GCS, raylet)
    with Linux's parent-death signal, which fires when the *thread* that started them ends, not the
    process. A thread that ended while Ray was still initialized would take the GCS with it, and
    Ray's core worker in this process then ends the whole process once it has given up
    reconnecting (about a minute later, in the middle of whatever runs then).

    ``ray.init`` on the main thread sets a SIGTERM handler (exit through ``sys.exit``, so that
    clean-up, Ray's stop included, still runs); on another thread it cannot. Made on the main
    thread while SIGTERM has its default action, ``Starting`` sets that handler for the run and
    restores the default in ``close``: a handler someone else set (``fleet sync --every``, a test
    harness) is left alone, and nothing outlives the run.
    """

    def __init__(self, make: Callable[[], Executor], *, warm: str | None = None) -> None:
        self._made: Executor | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._closed = threading.Event()
        self._sigterm_set = False
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        ):
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
            self._sigterm_set = True
        self._thread = threading.Thread(
            target=self._start, args=(make, warm), name="fleet-executor-start", daemon=True
        )
        self._thread.start()

    def _start(self, make: Callable[[], Executor], warm: str | None) -> None:
        try:
            made = self._made = make()  # kept before warming: ``close`` stops it on every path
            warm_up = getattr(made, "warm", None)
            if warm and warm_up is not None:
                warm_up(warm)
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that asks for the executor
            self._error = exc
        finally:
            self._ready.set()
        # Hold on until the executor is stopped: Ray's servers die with the thread that started them.
        self._closed.wait()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def get(self) -> Executor:
        """The executor, once started (waits for it); raises what the start raised. ``close``
        stops it: whoever takes it must not."""
        self._ready.wait()
        if self._error is not None:
            raise self._error
        assert self._made is not None  # set whenever no error was
        return self._made

    def close(self) -> None:
        """After the run: wait for the start to end, stop what it made (a failed start has nothing
        to stop; its error is not raised here), let the start's thread end and join it, and
        restore SIGTERM's default action if ``__init__`` replaced it. Idempotent."""
        if self._closed.is_set():
            return
        try:
            # An interrupt while waiting leaves the start to end on its (daemon) thread, Ray
            # up until this process exits (Ray's exit hook stops it) or ``close`` is called again.
            self._ready.wait()
            made, self._made = self._made, None
            try:
                if made is not None:
                    made.close()
            finally:
                self._closed.set()
                self._thread.join()
        finally:
            self._restore_sigterm()

    def _restore_sigterm(self) -> None:
        if (
            self._sigterm_set
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) is _exit_on_sigterm
        ):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self._sigterm_set = False


def _first_line(exc: BaseException) -> str:
    """The exception's first line; when that line only introduces what follows (Ray Client's
    "Initialization failure from server:" followed by the server's traceback), also the last line
    of the rest, which names the error."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    text = lines[0][:300]
    if text.endswith(":") and len(lines) > 1:
        text = f"{text} {lines[-1][:300]}"
    return redact.mask(text)


def _host_port(text: str, *, default_port: int | None) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``) as a pair; the port may be left out only with a default."""
    host, sep, port = text.rpartition(":")
    if not sep or "]" in port:
        host, port = text, ""
    host = host.strip("[]")
    if not port and default_port is not None:
        return host, default_port
    if not host or not port.isdigit():
        raise errors.InputError(
            f"{text!r} is not a Ray address (want host:port, ray://host:port or auto)", field="--ray-address"
        )
    return host, int(port)


def connect_timeout() -> float:
    """Seconds a named Ray cluster has to answer: ``FLEET_RAY_CONNECT_TIMEOUT``, else 10."""
    raw = os.environ.get(RAY_CONNECT_TIMEOUT_ENV, "").strip()
    if not raw:
        return RAY_CONNECT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise errors.InputError(f"{raw!r}: want a positive number of seconds", field=RAY_CONNECT_TIMEOUT_ENV)
    return value


def resolve_auto_address() -> str:
    """What ``--ray-address auto`` names: ``RAY_ADDRESS`` when set, else the address file the last
    ``ray start`` on this host wrote in Ray's temp directory (``RAY_TMPDIR``).

    Ray's own ``auto`` also falls back to any GCS process it finds running on the host (its
    "legacy" behaviour), and prefers it over the address file when there is exactly one: on a host
    where other Ray clusters run (another user's, another test's private Ray) that joins a
    stranger's cluster, which is what issue 8 item 3 forbids. So fleet resolves ``auto`` itself,
    from the two sources a user controls, and hands Ray the result.
    """
    from ray._private import services  # a private module: any failure is reported plainly

    env = os.environ.get("RAY_ADDRESS", "")
    if env and env != "auto":
        return env
    try:
        found = services.find_bootstrap_address(None)
    except Exception as exc:
        raise errors.ExecutorUnavailable(
            f"no Ray cluster found for --ray-address auto: {_first_line(exc)}"
        ) from exc
    if not found:
        raise errors.ExecutorUnavailable(
            "no Ray cluster found for --ray-address auto: no RAY_ADDRESS and no address file of a "
            "`ray start` in Ray's temp directory"
        )
    return str(found)


def probe_ray_address(address: str, *, timeout: float | None = None) -> tuple[str, int]:
    """Check that a Ray server answers at ``address`` within ``timeout`` seconds (default
    ``connect_timeout()``): it accepts a connection and answers the HTTP/2 handshake every gRPC
    server answers (skipped under Ray's TLS, RAY_USE_TLS).

    ``ray.init`` on an address nobody answers (a stopped cluster, a stale address file, a port
    that is not Ray's, a proxy that accepts every connection) retries for minutes; this makes that
    a clear ``ExecutorUnavailable`` in bounded time. ``auto`` is resolved the way Ray resolves it
    (RAY_ADDRESS, then the address file of the last ``ray start``). Returns the (host, port).
    """
    timeout = connect_timeout() if timeout is None else timeout
    shown = redact.safe_url(address)
    if "://" in address:
        # A Ray Client address (ray://host:port); credentials never belong in it, but mask anyway.
        netloc = address.split("://", 1)[1].split("/", 1)[0].rpartition("@")[2]
        host, port = _host_port(netloc, default_port=RAY_CLIENT_PORT)
    else:
        target = address
        if address == "auto":
            target = resolve_auto_address()
        host, port = _host_port(target, default_port=None)
    deadline = time.monotonic() + timeout
    failure: OSError | None = None
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            speaks = (
                _answers_http2(sock, deadline) if os.environ.get("RAY_USE_TLS", "0") in ("0", "") else True
            )
    except OSError as exc:
        why = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or type(exc).__name__).lower()
        speaks, failure = False, exc
    else:
        why = "it took the connection but did not answer as a Ray (gRPC) server"
    if not speaks:
        raise errors.ExecutorUnavailable(
            f"the Ray cluster at {shown} ({host}:{port}) does not answer: {why} "
            f"(waited up to {timeout:g}s); start it, or leave out --ray-address and RAY_ADDRESS "
            "to run on a private local Ray"
        ) from failure
    return host, port


def _answers_http2(sock: socket.socket, deadline: float) -> bool:
    """Whether the server answers the HTTP/2 client preface with a SETTINGS frame before
    ``deadline``. Written by hand: fleet has no gRPC library (Ray's minimal install brings none),
    and these 33 bytes out and 9 back are all a reachability check needs."""
    sock.sendall(_HTTP2_PREFACE)
    header = b""
    while len(header) < 9:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            chunk = sock.recv(9 - len(header))
        except TimeoutError:
            return False
        if not chunk:
            return False
        header += chunk
    return header[3] == _HTTP2_SETTINGS


def _actor_error(exc: Exception) -> str:
    """The first line of Ray's word on a dead actor, masked and cut short."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return redact.mask(first[:200])


def _lost(detail: str, node: str, node_gone: bool) -> str:
    """Why a unit got no result from its actor: its node died, or only its worker process."""
    if node_gone:
        return f"the Ray node running it died (node {node}) and no other attempt was left ({detail})"
    return f"the worker process died ({detail})"


class ExecutorKind(StrEnum):
    """Names accepted by ``--executor``."""

    RAY = "ray"  # Ray actors: local by default, an existing cluster with --ray-address / RAY_ADDRESS
    LOCAL = "local"  # a thread pool in this process (tiny fleets, the benchmark baseline)
    # The CLI's default: Ray for a named Ray cluster (--ray-address / RAY_ADDRESS), for long-running
    # mode, and for a fleet of AUTO_RAY_CLUSTERS clusters or more on a machine of AUTO_RAY_CPUS
    # CPUs or more; else local threads, since a private Ray's start (about 4 s) and its own
    # services outweigh what its processes save on a small fleet or a small machine (issue 15).
    AUTO = "auto"


# From this many clusters on, --executor auto starts Ray: benchmarks/bench_sync.py measured Ray's
# fan-out 0.5-0.7x the local executor's wall time at 200 clusters, and the whole `fleet sync`
# slower than the local executor at 50 (1.31x against 0.89x a kubectl loop), Ray's start included.
AUTO_RAY_CLUSTERS = 100
# ... and only with this many CPUs: the local executor is one process, held to about one core by
# the GIL, and Ray wins only where its worker processes get cores of their own. On 2 CPUs, the
# whole `fleet sync` of 200 clusters took 1.04x (first) and 0.53x (no-op) a kubectl loop on Ray,
# against 0.68x and 0.30x on local threads (benchmarks/bench_e2e.py 200, same hour): Ray's own
# services (GCS, raylet, agents) cost about 18 s of CPU per run there. 4 is not measured here (the
# test machine has 2 CPUs); it is the smallest size that leaves cores beyond the driver and them.
AUTO_RAY_CPUS = 4


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask: a container's cpuset, a taskset)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def executor_kind(asked: str, *, address: str | None, clusters: int | None) -> str:
    """What ``--executor`` means for a run: ``auto`` becomes ray or local (see ``ExecutorKind``);
    ``clusters`` is the run's fleet size (None, as for a long-running loop: Ray)."""
    if asked != ExecutorKind.AUTO:
        return asked
    if address or clusters is None:
        return ExecutorKind.RAY
    if clusters >= AUTO_RAY_CLUSTERS and usable_cpus() >= AUTO_RAY_CPUS:
        return ExecutorKind.RAY
    return ExecutorKind.LOCAL


class UnknownExecutor(errors.InputError, ValueError):
    """``--executor`` names no executor: bad input (exit 2, naming the flag). Also a ``ValueError``,
    what a library caller passing a wrong name would expect."""


# Wheel packaging lives beside the executor, in fleet.executor_runtime_env (cached per source
# digest); these names stay here for callers.
project_root = executor_runtime_env.project_root
build_wheel = executor_runtime_env.build_wheel


def make_executor(
    kind: str,
    *,
    concurrency: int = 16,
    address: str | None = None,
    clusters: int | None = None,
    runtime_env: executor_runtime_env.RuntimeEnvMode | None = None,
    placement: Sequence[raynodes.Pin] = (),
) -> Executor:
    """The executor ``--executor`` asks for, with ``concurrency`` clusters in flight (local: in
    total; ray: per worker process); ``auto`` decides by ``address`` and ``clusters``
    (``executor_kind``).

    Ray: without ``address`` (``--ray-address``) or ``RAY_ADDRESS``, a Ray private to this run
    (never a cluster the host happens to know about); a named Ray cluster must answer within
    ``RAY_CONNECT_TIMEOUT`` (``errors.ExecutorUnavailable``, exit 4). ``runtime_env``
    (``--ray-runtime-env``; None: ``wheel`` on a named cluster, ``none`` on the private Ray) says
    how the workers get fleet; ``placement`` (``--ray-placement``) pins clusters to nodes.
    """
    address = address or os.environ.get("RAY_ADDRESS") or None
    kind = executor_kind(kind, address=address, clusters=clusters)
    if kind == ExecutorKind.LOCAL:
        return LocalExecutor(max_workers=concurrency)
    if kind != ExecutorKind.RAY:
        raise UnknownExecutor(f"unknown executor {kind!r}: want ray or local (or auto)", field="--executor")
    named = bool(address) and address != PRIVATE_RAY
    if runtime_env is None:
        runtime_env = (
            executor_runtime_env.RuntimeEnvMode.WHEEL if named else executor_runtime_env.RuntimeEnvMode.NONE
        )
    if named:
        assert address is not None
        probe_ray_address(address)  # before building a wheel for a cluster that is not there
    return RayExecutor(
        address=address,
        slots=concurrency,
        runtime_env=executor_runtime_env.runtime_env(runtime_env),
        placement=placement,
    )
