"""Phase 7, merge: every wave's cluster results into one ``RunResult``, with the Applications no
wave ran (held back by their rollout or a sync window, with why) and each Application's rollout
step.

Where it sits: last in ``fleet.driver.run``; pure functions over results. Recording the result in
the status store and notifying come after, and belong to the caller (``fleet.driver.recording``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fleet import redact, results, rollout
from fleet.driver import request as run_request
from fleet.driver import schedule
from fleet.reconcile import failures
from fleet.status import Reason


def merge_cluster_results(
    first: results.ClusterResult | None, second: results.ClusterResult
) -> results.ClusterResult:
    """One cluster's results of two waves of a rollout, as one."""
    if first is None:
        return second
    requests = dict(first.requests)
    for verb, count in second.requests.items():
        requests[verb] = requests.get(verb, 0) + count
    return first.model_copy(
        update={
            "reachable": first.reachable and second.reachable,
            "reason": first.reason or second.reason,
            "message": first.message or second.message,
            "apps": tuple(sorted((*first.apps, *second.apps), key=lambda a: a.name)),
            "requests": requests,
            "seconds": round(first.seconds + second.seconds, 3),
            "worker": second.worker or first.worker,
        }
    )


def replace_apps(base: results.ClusterResult, newer: results.ClusterResult) -> results.ClusterResult:
    """``base`` with the Applications ``newer`` has replaced by newer's, and newer's requests
    added (a rollback's fan-out over Applications an earlier wave ran)."""
    names = {a.name for a in newer.apps}
    requests = dict(base.requests)
    for verb, count in newer.requests.items():
        requests[verb] = requests.get(verb, 0) + count
    apps = tuple(sorted((*(a for a in base.apps if a.name not in names), *newer.apps), key=lambda a: a.name))
    return base.model_copy(update={"apps": apps, "requests": requests})


def with_apps(
    found: results.ClusterResult | None, server: str, cluster: str, apps: Sequence[results.AppResult]
) -> results.ClusterResult:
    """A cluster's result with these Applications added (a new result when it had none)."""
    base = found or results.ClusterResult(cluster=cluster, server=server)
    return base.model_copy(update={"apps": tuple(sorted((*base.apps, *apps), key=lambda a: a.name))})


def clusters_and_rollouts(
    run_plan: schedule.RunPlan,
    merged: Mapping[str, results.ClusterResult],
    progress: rollout.Progress,
    rollouts: Sequence[results.RolloutResult] | None = None,
) -> tuple[list[results.ClusterResult], tuple[results.RolloutResult, ...]]:
    """Every cluster's result, with the Applications no wave ran (the result of their failure on
    the driver, or why their rollout or a sync window held them back) and every Application's
    rollout step; the rollouts' results (``rollouts``, as the fan-out finished them, or the
    progress's)."""
    out_by_name = dict(merged)
    for key in sorted({*progress.not_run(), *run_plan.held_back}):
        cluster = run_plan.clusters[key[0]]
        reason, message = progress.not_run_reason(key), progress.message(key)
        if key in run_plan.blocked:
            reason = Reason.SYNC_WINDOW_CLOSED
            message = f"not synced: {run_plan.blocked[key]}" + (f"; {message}" if message else "")
        app = run_plan.driver_results.get(key) or failures.did_not_run(
            run_plan.works[key],
            cluster=key[0],
            reason=reason,
            message=message,
        )
        out_by_name[key[0]] = with_apps(out_by_name.get(key[0]), cluster.server, key[0], [app])
    out = []
    for name in sorted(out_by_name):
        cluster_result = out_by_name[name]
        apps = tuple(
            app
            if app.rollout is not None
            else app.model_copy(update={"rollout": progress.app_rollout((name, app.name))})
            for app in cluster_result.apps
        )
        out.append(cluster_result.model_copy(update={"apps": apps}))
    return out, tuple(rollouts) if rollouts is not None else progress.results()


def run_result(
    request: run_request.RunRequest,
    run_plan: schedule.RunPlan,
    *,
    run_id: str,
    started_at: str,
    executor_name: str,
    clusters: Sequence[results.ClusterResult],
    rollouts: tuple[results.RolloutResult, ...],
    warnings: Sequence[str],
) -> results.RunResult:
    """The run's result: its clusters, the errors of generation and selection, its rollouts and
    its notes (warnings first), masked."""
    return results.RunResult(
        run_id=run_id,
        kind=request.kind,
        started_at=started_at,
        finished_at=results.now(),
        source=redact.mask(run_plan.source),
        revision=run_plan.revision,
        executor=executor_name,
        selector=request.selector or "",
        # each cluster with its registry labels: what the report's and the web UI's matrix groups
        # and filters clusters by
        clusters=tuple(
            c.model_copy(update={"labels": dict(run_plan.clusters[c.cluster].labels)})
            if c.cluster in run_plan.clusters
            else c
            for c in clusters
        ),
        errors=tuple(run_plan.errors),
        rollouts=rollouts,
        notes=tuple(redact.mask(n) for n in (*warnings, *run_plan.notes)),
    )


__all__ = ["clusters_and_rollouts", "merge_cluster_results", "replace_apps", "run_result", "with_apps"]
