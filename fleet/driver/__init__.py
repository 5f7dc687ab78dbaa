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
6. fan out (``fanout``): wave after wave to the executor, each rollout step through its gates
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
import shutil
import tempfile
import time
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


def plan_run(request: RunRequest, *, tmp: Path, started_at: float | None = None) -> RunPlan:
    """Phases 1 to 5: everything before the fan-out (nothing has touched a cluster).

    Raises ``InputError`` for bad input (a flag, an unreadable file, an invalid object, a
    selection that matches nothing). ``tmp`` receives the run's checkouts.
    """
    started_at = started_at or time.time()
    # 1. open the sources, once the flags are checked (bad input ends the run before any read)
    flags = run_request.check(request)
    opened = sources.open_sources(request)
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

    def get_executor() -> executor.Executor:
        if executor_ is not None:
            return executor_
        if not made:
            made.append(
                executor.make_executor(
                    request.executor,
                    concurrency=request.concurrency,
                    address=request.ray_address,
                    clusters=len(run_plan.clusters),
                    runtime_env=request.ray_runtime_env,
                    placement=request.ray_placement,
                )
            )
        return made[0]

    try:
        # 1-5. open the sources, generate, select and check projects, render, plan the run
        run_plan = plan_run(request, tmp=tmp, started_at=started)
        # 6. fan out, wave after wave through the rollouts' gates, then the deletions the guard
        #    allows
        gates = control.Control(
            run_plan,
            history=history or recording.history(request, None),
            gate_wait=request.gate_wait,
            kind=request.kind,
        )
        try:
            fanned = fanout.run_waves(
                run_plan, get_executor, timeout=request.cluster_timeout, kind=request.kind, control_=gates
            )
        finally:
            for ex in made:
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


__all__ = ["RunPlan", "RunRequest", "plan_run", "run", "run_recorded"]
