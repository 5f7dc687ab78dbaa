"""The driver: one run (sync, dry run or diff) from a fleet repository to a ``RunResult``, fanning
one unit of work out per cluster.

Where it sits: ``fleet sync`` / ``fleet diff`` (``fleet.cli``), the long-running loop
(``fleet.loop``) and ``fleet demo`` call ``run_recorded`` (or ``run``). The driver does what is the
same for every cluster once, and leaves what touches a cluster to the workers
(``fleet.reconcile``), on the executor (``fleet.executor``: Ray, or threads).

One run, in phases (``run``; phases 1 to 5 are ``plan_run``, which nothing of a cluster touches):

1. open the sources (``sources``): the request's flags checked (``request.check``), the fleet's
   repository (a directory, or a git URL at ``--revision``) and its commit, the registered
   clusters, the repositories' credentials, the fleet's identity and health checks;
2. generate (``generation``): ApplicationSets and plain Applications become Applications; a fleet
   that generates nothing is refused unless ``allow_empty`` (issue 8);
3. select and check projects (``selection``): each Application on its registered cluster,
   narrowed by ``--selector`` and ``--app``, permitted by its AppProject;
4. render (``rendering``): every distinct source once, SOPS files still encrypted; a failure is
   its Application's (a frozen ``Rendered`` with a ``Reason``);
5. plan the run (``schedule``): the work per Application, the rollout schedule (``--rollout`` or
   RollingSync), what sync windows block now, dependencies that cannot be met, each rollout's
   gates, the removals of Applications gone from Git and the deletion guard (``RunPlan``);
6. fan out (``fanout``): wave after wave to the executor (on Ray, started in the background as
   soon as phases 1 to 3 tell the run needs it, so that Ray's start overlaps with the planning:
   ``executor.Starting``), each rollout step through its gates
   and a failed one rolled back where asked (``control``), then the deletion guard over the whole
   run (``removals``) and, in a sync, the deletions it allows;
7. merge (``merge``): every wave's results, the Applications held back with why, the rollouts,
   into one ``RunResult``.

Before and after a run, its callers own (``recording``, wrapped by ``run_recorded``): register the
run in the status store (a sync waits for and then holds the run lock of its clusters), record the
result in one transaction that ends the lease (with where each rollout stands), then notify
(``recording.notify_after``). What the run reads of the store's past (rollout positions,
approvals, last good revisions) goes in as a ``control.History`` (``recording.history``).

Modules, bottom up (each imports only modules listed above it):

- ``request``: ``RunRequest``, what one run is asked to do, and the checks of its flags;
- ``sources``: phase 1, the fleet, its clusters, credentials, identity and checkouts;
- ``generation``: phase 2;
- ``selection``: phase 3, pure;
- ``rendering``: phase 4;
- ``schedule``: phase 5, ``RunPlan``, pure;
- ``merge``: phase 7, pure (the fan-out merges each wave with it too);
- ``removals``: the deletion guard over the whole run, pure;
- ``control``: phase 6's change control (gates between rollout steps, automatic rollback);
- ``fanout``: phase 6;
- ``recording``: before and after the run (registration, run lock, store, notification);
- this module: ``plan_run``, ``run`` and ``run_recorded``, the phases in order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fleet import clocks, executor, log, results, store
from fleet.driver import (
    control,
    fanout,
    generation,
    merge,
    recording,
    rendering,
    schedule,
    selection,
    sources,
)
from fleet.driver import request as run_request

# The names callers use, re-exported (the phases' own names are read from their modules).
from fleet.driver.request import RunRequest
from fleet.driver.schedule import RunPlan
from fleet.render import cache as render_cache
from fleet.store import lease as store_lease

_log = log.get_logger(__name__)


def plan_run(
    request: RunRequest,
    *,
    tmp: Path,
    started_at: float | None = None,
    sized: Callable[[int | None], None] | None = None,
) -> RunPlan:
    """Phases 1 to 5: everything before the fan-out (nothing has touched a cluster).

    Raises ``InputError`` for bad input (a flag, an unreadable file, an invalid object, a
    selection that matches nothing). ``tmp`` receives the run's checkouts. ``sized`` is told how
    many clusters the run visits as soon as that is known (None: not yet), so that the run's
    executor can start while the run is planned (``run``).
    """
    started_at = started_at or time.time()
    # 1. open the sources, once the flags are checked (bad input ends the run before any read)
    flags = run_request.check(request)
    narrowed = bool(request.apps) or flags.selector is not None
    tell = sized or (lambda _clusters: None)
    # An un-narrowed run visits every registered cluster (its removals need them all); the caller
    # may know them already (run_recorded registers the run with them).
    tell(len(request.clusters) if request.clusters is not None and not narrowed else None)
    opened = sources.open_sources(request)
    if not narrowed:
        tell(len(opened.clusters))
    # 2. generate
    generated = generation.generate(request, opened)
    # 3. select and check projects
    chosen = selection.select(
        generated,
        clusters=opened.clusters,
        app_projects=opened.fleet.projects,
        apps=request.apps,
        selector=flags.selector,
        selector_text=request.selector,
    )
    if narrowed:
        tell(len({s.cluster.name for s in chosen.selected}))
    # 4. render (working trees can change under the same "revision": they get a cache of their
    #    own per run)
    local = bool(request.repo_map) or run_request.is_local(request.fleet)
    cache = render_cache.MemoryCache() if local else None
    checkouts = sources.checkouts_for(opened, tmp=tmp)
    rendered = rendering.render_all(chosen.selected, checkouts, cache=cache)
    # 5. plan the run: the work, its rollout schedule, what sync windows block now (on the
    #    injected clock), the rollouts' gates, the removals and their guard
    return schedule.plan(
        request,
        flags,
        fleet=opened.fleet,
        generated=generated,
        chosen=chosen,
        rendered=rendered,
        every_cluster=opened.clusters,
        identity=opened.identity,
        health=opened.health,
        started_at=started_at,
        now=dt.datetime.fromtimestamp(clocks.current().time(), tz=dt.UTC),
        checkouts=checkouts,
    )


def run(
    request: RunRequest,
    *,
    run_id: str | None = None,
    started_at: str | None = None,
    executor_: executor.Executor | None = None,
    history: control.History | None = None,
) -> results.RunResult:
    """One run, phases 1 to 7; its result (recorded by the caller: ``run_recorded``).

    Pass ``executor_`` to reuse one (e.g. a RayExecutor across runs); otherwise one is made from
    the request when a cluster needs work (``executor.make_executor``), and closed at the end.
    ``history``: what the run reads of the status store's past (``recording.history``); without
    it, nothing was approved before and nothing can be rolled back.
    """
    run_id = run_id or recording.new_run_id()
    started_at = started_at or results.now()
    started = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="fleet-run-"))
    made: list[executor.Executor] = []
    starting: list[executor.Starting] = []

    def make(clusters: int) -> executor.Executor:
        return executor.make_executor(
            request.executor,
            concurrency=request.concurrency,
            address=request.ray_address,
            clusters=clusters,
            runtime_env=request.ray_runtime_env,
            placement=request.ray_placement,
        )

    def sized(clusters: int | None) -> None:
        # Ray's start (ray.init, its workers and their imports: seconds) overlaps with phases 1-5
        # once the run knows it needs Ray (issue 15); the local executor starts in no time.
        if executor_ is None and not starting and needs_ray(request, clusters):
            _log.debug("starting the executor in the background", extra={"fields": {"clusters": clusters}})
            starting.append(executor.Starting(lambda: make(clusters or 0), warm=fanout.WORK_FUNCTION))

    def get_executor() -> executor.Executor:
        if executor_ is not None:
            return executor_
        if not made:
            if starting:
                waited = time.monotonic()
                made.append(starting[0].get())
                _log.debug(
                    "executor ready for the fan-out",
                    extra={"fields": {"waited_seconds": round(time.monotonic() - waited, 3)}},
                )
            else:
                made.append(make(len(run_plan.clusters)))
        return made[0]

    try:
        try:
            # 1-5. open the sources, generate, select and check projects, render, plan the run
            run_plan = plan_run(request, tmp=tmp, started_at=started, sized=sized)
            # 6. fan out, wave after wave through the rollouts' gates, then the deletions the
            #    guard allows
            gates = control.Control(
                run_plan,
                history=history or recording.history(request, None),
                gate_wait=request.gate_wait,
                kind=request.kind,
            )
            fanned = fanout.run_waves(
                run_plan, get_executor, timeout=request.cluster_timeout, kind=request.kind, control_=gates
            )
        finally:
            # A background start, its executor taken or not (bad input, exit 2; an interrupt; a
            # run with no unit), is stopped by ``Starting.close``: its thread must outlive Ray.
            for start in starting:
                start.close()
            for ex in made if not starting else []:
                ex.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for warning in fanned.warnings:
        _log.warning(warning)
    for note in run_plan.notes:
        _log.info(note)
    # 7. merge: the Applications held back, the rollouts, one result
    clusters, rollouts = merge.clusters_and_rollouts(
        run_plan, fanned.clusters, fanned.progress, fanned.rollouts
    )
    used = executor_ if executor_ is not None else (made[0] if made else None)
    result = merge.run_result(
        request,
        run_plan,
        run_id=run_id,
        started_at=started_at,
        executor_name=used.name if used is not None else request.executor,
        clusters=clusters,
        rollouts=rollouts,
        warnings=fanned.warnings,
    )
    _log.info(
        f"{request.kind.value} finished",
        extra={
            "fields": {
                "run": run_id,
                "ok": result.ok,
                "seconds": round(time.time() - started, 2),
                **result.summary(),
            }
        },
    )
    return result


def needs_ray(request: RunRequest, clusters: int | None) -> bool:
    """Whether the run's executor is Ray, for a run visiting ``clusters`` clusters (None: not
    known yet, which decides only when the flags do: ``--executor ray``, a Ray address)."""
    address = request.ray_address or os.environ.get("RAY_ADDRESS") or None
    if clusters is None and request.executor == executor.ExecutorKind.AUTO and not address:
        return False
    return (
        executor.executor_kind(request.executor, address=address, clusters=clusters)
        == executor.ExecutorKind.RAY
    )


def run_recorded(
    request: RunRequest, *, db: store.Store, executor_: executor.Executor | None = None
) -> results.RunResult:
    """One run between its before-run and after-run phases in the status store ``db``
    (``recording.open_store``); the caller notifies after it (``recording.notify_after``).

    Raises ``errors.RunLocked`` (exit 3) when another sync holds the run lock of some of the
    selected clusters past ``request.lock_wait``; nothing was read or changed then. With
    ``request.record`` off, the run is neither registered nor recorded.
    """
    run_id = recording.new_run_id()
    past = recording.history(request, db)
    if not request.record:
        return run(request, run_id=run_id, started_at=results.now(), executor_=executor_, history=past)
    # before the run: the registry says which clusters the selection names (bad input ends it
    # here); register the run (a sync waits for the run lock, then holds it)
    clusters = sources.build_registry(request).clusters()
    request = dataclasses.replace(request, clusters=tuple(clusters))
    registration = recording.registration(request, clusters, run_id=run_id)
    with store_lease.held(db, registration, wait=request.lock_wait, ttl=request.lock_lease) as lease:
        # the run, then after it: its result recorded in one transaction that ends the lease
        # (where each rollout stands is on the result, and written in that transaction too)
        return lease.finish(
            run(request, run_id=run_id, started_at=lease.started_at, executor_=executor_, history=past)
        )


__all__ = ["RunPlan", "RunRequest", "needs_ray", "plan_run", "run", "run_recorded"]
