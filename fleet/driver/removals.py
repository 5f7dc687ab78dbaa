"""The deletion guard over Applications removed from Git: judged for the whole run between the
two passes of the fan-out (``lifecycle.Removal``).

Where it sits: the removals and the guard are planned with the run (``schedule``: what each
cluster keeps, ``--max-delete``, ``--allow-mass-delete``); the first pass of the fan-out only
reports what every cluster would delete or preserve. These pure functions then judge it:

1. what every cluster would delete or preserve (``planned``);
2. the deletion guard, over the whole run (``guard_stops``): when a cluster goes past it, nothing
   is deleted anywhere and every planned removal is reported as DeleteBlocked (``block_removals``),
   with a note naming the flags (``guard_note``; a dry run or a diff says the same of what a sync
   would do);
3. a sync then deletes, on the clusters concerned only, exactly what the first pass planned
   (``fanout``), and ``with_deletions`` puts what it did in place of the plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from fleet import lifecycle, redact, results
from fleet.driver import merge, schedule
from fleet.status import OperationPhase, Reason

_PLANNED = (results.Deletion.WOULD_DELETE, results.Deletion.WOULD_PRESERVE)


def planned(merged: Mapping[str, results.ClusterResult]) -> dict[str, frozenset[str]]:
    """Cluster -> the Applications removed from Git that the first pass would delete or preserve
    there (clusters with none are left out)."""
    found = {
        name: frozenset(a.name for a in result.apps if a.deletion in _PLANNED)
        for name, result in merged.items()
    }
    return {name: names for name, names in found.items() if names}


def guard_stops(
    run_plan: schedule.RunPlan, merged: Mapping[str, results.ClusterResult]
) -> dict[str, lifecycle.GuardStop]:
    """Cluster -> why the deletion guard stops the run there (empty: it allows every deletion).
    Only cascade deletes count; what the fleet still generates for the cluster is what stays."""
    generated = Counter(cluster for cluster, _ in run_plan.works)
    stops: dict[str, lifecycle.GuardStop] = {}
    for name, result in sorted(merged.items()):
        deleting = sum(1 for a in result.apps if a.deletion is results.Deletion.WOULD_DELETE)
        stop = run_plan.guard.check(deleting, remaining=generated[name])
        if stop is not None:
            stops[name] = stop
    return stops


def guard_note(
    stops: Mapping[str, lifecycle.GuardStop], guard: lifecycle.DeletionGuard, *, kind: results.RunKind
) -> str:
    """The run's note when the deletion guard stops it: where, why, and the flags that allow it."""
    where = "; ".join(f"on cluster {name}, {stop.why}" for name, stop in sorted(stops.items()))
    done = (
        "nothing removed from Git was deleted"
        if kind is results.RunKind.SYNC
        else "a sync would delete nothing removed from Git"
    )
    allow = (
        "--allow-mass-delete"
        if any(stop.whole_cluster for stop in stops.values())
        else f"--allow-mass-delete or a --max-delete above {guard.text}"
    )
    return f"deletion guard: {done}, because {where}. If that is intended, run again with {allow}"


def block_removals(
    result: results.ClusterResult, note: str, *, kind: results.RunKind
) -> results.ClusterResult:
    """The cluster's result with every planned removal reported as stopped by the deletion guard."""
    verb = "not deleted" if kind is results.RunKind.SYNC else "a sync would not delete it"
    apps = tuple(
        app.model_copy(
            update={
                "deletion": results.Deletion.BLOCKED,
                "reason": Reason.DELETION_BLOCKED,
                "phase": OperationPhase.FAILED,
                "message": redact.mask(f"{app.message}; {verb}: {note}"),
            }
        )
        if app.deletion in _PLANNED
        else app
        for app in result.apps
    )
    return result.model_copy(update={"apps": apps})


def with_deletions(
    first: results.ClusterResult, second: results.ClusterResult, planned: frozenset[str]
) -> results.ClusterResult:
    """A cluster's first-pass result with the planned removals replaced by what the second pass
    did; one the second pass did not report (its cluster failed) is a failed deletion."""
    done = {app.name: app for app in second.apps}
    apps = []
    for app in first.apps:
        if app.name not in planned:
            apps.append(app)
        elif app.name in done:
            apps.append(done.pop(app.name))
        else:
            apps.append(
                app.model_copy(
                    update={
                        "deletion": results.Deletion.FAILED,
                        "reason": second.reason or Reason.PRUNE_FAILED,
                        "phase": OperationPhase.ERROR,
                        "message": redact.mask(
                            f"not deleted: {second.message or 'the cluster did not report it'}"
                        ),
                    }
                )
            )
    apps.extend(done.values())
    merged = merge.merge_cluster_results(
        first.model_copy(update={"apps": ()}), second.model_copy(update={"apps": ()})
    )
    return merged.model_copy(update={"apps": tuple(sorted(apps, key=lambda a: a.name))})


__all__ = ["block_removals", "guard_note", "guard_stops", "planned", "with_deletions"]
