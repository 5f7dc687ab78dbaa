"""Phase 6, fan out: one self-contained ``reconcile.ClusterWork`` per cluster to the executor,
wave after wave as the rollouts allow, then the deletions the guard allows.

Where it sits: after the run is planned (``schedule.RunPlan``), before the results are merged.
Each unit holds a cluster's credentials (still as references), manifests, sync policy,
ignoreDifferences and settings; it runs on the executor (Ray by default, or local threads,
``fleet.executor``) with a timeout per cluster. A cluster that fails, hangs or loses its worker is
reported with its reason (``reconcile.failures``) while every other cluster finishes.

Between waves the run's change control (``control``) decides whether the next rollout step may
start (sync windows, then the gates of ``fleet.gates``), tells each worker which Applications of
its cluster are ready (dependencies met in an earlier wave), and rolls a failed step back to each
Application's last good revision where the rollout asks for it (one more fan-out, later steps
untouched).

Applications removed from Git go in two passes: the waves only report what each cluster would
delete; the deletion guard judges the whole run (``removals``), and a sync then deletes on the
clusters concerned, or nothing anywhere when the guard stops it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence

from fleet import executor, log, redact, results, rollout
from fleet.driver import control, merge, removals, schedule
from fleet.driver import request as run_request
from fleet.reconcile import failures
from fleet.status import Reason

_log = log.get_logger(__name__)

WORK_FUNCTION = "fleet.reconcile:sync_cluster"

Key = run_request.Key
GetExecutor = Callable[[], executor.Executor]  # made on first use: a run with no unit starts none


@dataclasses.dataclass(frozen=True)
class FannedOut:
    """What the fan-out brought back: every cluster's merged result, the rollouts' progress and
    results (with what rollback did and where each stands, ``control.Control.finish``), and the
    warnings of the run (the deletion guard's note)."""

    clusters: Mapping[str, results.ClusterResult]
    progress: rollout.Progress
    rollouts: tuple[results.RolloutResult, ...] = ()
    warnings: tuple[str, ...] = ()


def outcome_result(
    outcome: executor.UnitOutcome, unit: executor.WorkUnit, timeout: float
) -> results.ClusterResult:
    """A unit's outcome as its cluster's result, naming the Ray node that ran it (or was running
    it when it failed); a unit that timed out, lost its worker, found no node or raised fails its
    cluster with the reason."""
    work = unit.payload
    if outcome.state is executor.UnitState.DONE:
        value: results.ClusterResult = outcome.value
        return value.model_copy(update={"worker": outcome.worker or value.worker, "ray_node": outcome.node})
    if outcome.state is executor.UnitState.TIMEOUT:
        reason = Reason.TIMEOUT
        message = f"no result within {timeout:g}s (--cluster-timeout); it may be hanging"
    elif outcome.state in (executor.UnitState.WORKER_DIED, executor.UnitState.UNPLACED):
        # UNPLACED: no node can take it (--ray-placement); as for a lost worker, it got no worker.
        reason, message = Reason.WORKER_LOST, outcome.error
    else:
        # The work function itself raised: a bug, not the cluster's doing; the worker gave no result.
        reason, message = Reason.WORKER_LOST, f"the worker failed: {outcome.error}"
    failed = failures.failed_cluster(
        work,
        reason=reason,
        seconds=outcome.seconds,
        worker=outcome.worker,
        message=f"cluster {work.cluster.name}: {message}",
    )
    return failed.model_copy(update={"ray_node": outcome.node})


_VERBS = {
    results.RunKind.SYNC: "syncing",
    results.RunKind.DRY_RUN: "dry-running",
    results.RunKind.DIFF: "comparing",
}


def fan_out(
    run_plan: schedule.RunPlan,
    ex: executor.Executor | None,
    *,
    timeout: float,
    kind: results.RunKind,
    keys: Sequence[Key] | None = None,
    removal: Iterable[str] = (),
    execute: Mapping[str, frozenset[str]] | None = None,
    label: str = "",
) -> list[results.ClusterResult]:
    """Run these Applications (default: all), one unit per cluster (and the Applications removed
    from Git on the clusters in ``removal``: reported, or deleted as ``execute`` says); merge in
    the Applications that failed on the driver (``ex`` may be None only when there is no unit)."""
    keys = sorted(run_plan.works) if keys is None else list(keys)
    units = run_plan.units_for(keys, removal=removal, execute=execute)
    by_key = {unit.key: unit for unit in units}
    collected: dict[str, results.ClusterResult] = {}
    if by_key:
        if ex is None:
            raise ValueError("an executor is needed to run work units")
        title = f"{_VERBS[kind]} clusters" + (f" ({label})" if label else "")
        with log.progress(title, total=len(by_key)) as bar:
            for outcome in ex.run(WORK_FUNCTION, units, timeout=timeout):
                unit = by_key[outcome.key]
                result = outcome_result(outcome, unit, timeout)
                collected[outcome.key] = result
                status = "ok" if result.ok else (result.reason.value if result.reason else "attention")
                bar.advance(item=outcome.key, status=status)
                _log_cluster(result)
    extra: dict[str, list[results.AppResult]] = {}
    for key in keys:
        if key in run_plan.driver_results:
            extra.setdefault(key[0], []).append(run_plan.driver_results[key])
    for apps in extra.values():
        for app in apps:
            log_failures(app)
    for cluster_result in collected.values():
        log_failures(cluster_result)
    out = []
    for name in sorted(set(collected) | set(extra)):
        cluster = run_plan.clusters[name]
        result = collected.get(name) or results.ClusterResult(cluster=name, server=cluster.server)
        if name in extra:
            result = merge.with_apps(result, cluster.server, name, extra[name])
        out.append(result)
    return out


def _log_cluster(result: results.ClusterResult) -> None:
    if result.reason is not None:
        _log.warning(
            f"cluster {result.cluster} failed: {result.reason.value}",
            extra={
                "fields": {
                    "cluster": result.cluster,
                    "reason": result.reason.value,
                    "error": redact.mask(result.message),
                }
            },
        )
    _log.debug(
        "cluster finished",
        extra={
            "fields": {
                "cluster": result.cluster,
                "ok": result.ok,
                "requests": result.request_total,
                "seconds": result.seconds,
                "reason": result.reason.value if result.reason else "",
            }
        },
    )


def log_failures(found: results.AppResult | results.ClusterResult) -> None:
    """Log the full (masked) message of every Application that failed, once: tables show only
    its root cause (``results.root_cause``). A cluster that failed as a whole was logged already."""
    if isinstance(found, results.ClusterResult):
        if found.reason is None:
            for app in found.apps:
                log_failures(app)
        return
    if not found.reason.is_failure() or not found.message:
        return
    _log.warning(
        f"application {found.name} on cluster {found.cluster}: {found.reason.value}",
        extra={
            "fields": {
                "cluster": found.cluster,
                "app": found.name,
                "reason": found.reason.value,
                "error": redact.mask(found.message),
            }
        },
    )


def run_waves(
    run_plan: schedule.RunPlan,
    get_executor: GetExecutor,
    *,
    timeout: float,
    kind: results.RunKind,
    control_: control.Control | None = None,
) -> FannedOut:
    """Fan out wave after wave, as the rollouts and their gates allow (one wave when nothing is
    staged), rolling failed steps back where asked, then the deletions the guard allows; every
    cluster's results merged across waves. ``control_``: the run's change control (default: no
    history, no waiting)."""
    compare_only = kind is not results.RunKind.SYNC
    gates = control_ or control.Control(run_plan, kind=kind)
    progress = rollout.Progress(run_plan.schedule, compare_only=compare_only, gate=gates.gate)
    merged: dict[str, results.ClusterResult] = {}
    # Removed Applications are deleted from a cluster in the first wave that touches it; a cluster
    # with no Application left is visited in the first wave (with --rollout: in its step's wave).
    pending = set(run_plan.removals)
    has_keys = {cluster for cluster, _ in run_plan.works}

    def removal_for(wave: rollout.Wave | None, first: bool) -> set[str]:
        due = {cluster for cluster, _ in (wave.keys if wave else ())} & pending
        for cluster in pending - has_keys:
            step = 0 if compare_only else run_plan.removal_step(cluster)
            if (step == 0 and first) or (
                step and wave is not None and any(p.step == step for p in wave.positions)
            ):
                due.add(cluster)
        pending.difference_update(due)
        return due

    first = True
    while True:
        wave = progress.next_wave(now=results.now())
        removal = removal_for(wave, first)
        if wave is None and not removal:
            break
        first = False
        label = wave.describe() if wave else ""
        keys = wave.keys if wave else ()
        if wave is not None and label:
            _log.info(
                f"rollout: starting {label}",
                extra={"fields": {"wave": wave.number, "applications": len(keys), "steps": label}},
            )
        needs_executor = bool(removal) or any(key not in run_plan.driver_results for key in keys)
        got = fan_out(
            gates.with_ready(run_plan, merged),
            get_executor() if needs_executor else None,
            timeout=timeout,
            kind=kind,
            keys=keys,
            removal=removal,
            label=label,
        )
        outcome: dict[Key, bool] = {}
        why: dict[Key, str] = {}
        for cluster_result in got:
            for app in cluster_result.apps:
                key = (cluster_result.cluster, app.name)
                outcome[key] = app.ok
                if not app.ok:
                    why[key] = f"{app.sync_status.value}/{app.health.value}, {app.reason.value}"
            merged[cluster_result.cluster] = merge.merge_cluster_results(
                merged.get(cluster_result.cluster), cluster_result
            )
        if wave is None:
            break  # a wave of deletions only: nothing staged is left
        progress.record(wave, outcome, now=results.now(), why=why)
        gates.after_wave(progress, wave)
        for due in gates.rollbacks_due(progress, wave):
            again: list[results.ClusterResult] = []
            if due.keys:
                _log.warning(
                    f"rollout {due.rollout}: step {due.step} failed; rolling back {len(due.keys)} "
                    "Application(s) to their last Synced and Healthy revision",
                    extra={
                        "fields": {"rollout": due.rollout, "step": due.step, "applications": len(due.keys)}
                    },
                )
                again = fan_out(
                    due.run_plan,
                    get_executor(),
                    timeout=timeout,
                    kind=results.RunKind.SYNC,
                    keys=due.keys,
                    label=due.label,
                )
            for rolled in gates.rolled_back(due, again):
                merged[rolled.cluster] = merge.replace_apps(merged[rolled.cluster], rolled)
        if label:
            for state in progress.results():
                if state.stopped_at and any(
                    p.rollout == state.name and p.step == state.stopped_at for p in wave.positions
                ):
                    _log.warning(
                        f"rollout {state.name} stopped: {state.message}",
                        extra={"fields": {"rollout": state.name, "step": state.stopped_at}},
                    )
    final, warnings = finish_removals(run_plan, merged, get_executor, timeout=timeout, kind=kind)
    return FannedOut(
        clusters=final, progress=progress, rollouts=gates.finish(progress.results()), warnings=warnings
    )


def finish_removals(
    run_plan: schedule.RunPlan,
    merged: Mapping[str, results.ClusterResult],
    get_executor: GetExecutor,
    *,
    timeout: float,
    kind: results.RunKind,
) -> tuple[dict[str, results.ClusterResult], tuple[str, ...]]:
    """Judge and carry out the deletions the waves reported (``removals``, two passes); returns
    the clusters' results and the run's warnings (the guard's note when it stops the run)."""
    planned = removals.planned(merged)
    if not planned:
        return dict(merged), ()
    stops = removals.guard_stops(run_plan, merged)
    if stops:
        note = removals.guard_note(stops, run_plan.guard, kind=kind)
        return {name: removals.block_removals(result, note, kind=kind) for name, result in merged.items()}, (
            note,
        )
    if kind is not results.RunKind.SYNC:
        return dict(merged), ()
    second = fan_out(
        run_plan,
        get_executor(),
        timeout=timeout,
        kind=kind,
        keys=(),
        removal=set(planned),
        execute=planned,
        label="deleting Applications removed from Git",
    )
    out = dict(merged)
    for result in second:
        out[result.cluster] = removals.with_deletions(out[result.cluster], result, planned[result.cluster])
    return out, ()


__all__ = [
    "WORK_FUNCTION",
    "FannedOut",
    "fan_out",
    "finish_removals",
    "log_failures",
    "outcome_result",
    "run_waves",
]
