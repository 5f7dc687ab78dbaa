"""Text formats of a run for terminals: the per-Application table, the rollout table, the
one-line summary and the rollout lines.

Where it sits: beside the HTML, Markdown, JSON and metrics formats (``fleet.report``); the CLI
(``fleet sync``, ``fleet diff``, ``fleet status``) and ``fleet demo`` print these. rich is
imported when a table is built, not when this module is.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fleet import redact, results
from fleet.health import Health
from fleet.status import Reason, SyncStatus


def changes(app: results.AppResult) -> str:
    counts = app.count()
    counts.pop(results.Action.UNCHANGED.value, None)
    return ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "-"


def style(value: str) -> str:
    good = {SyncStatus.SYNCED.value, Health.HEALTHY.value}
    bad = {
        SyncStatus.OUT_OF_SYNC.value,
        SyncStatus.UNKNOWN.value,
        Health.DEGRADED.value,
        Health.UNKNOWN.value,
        Health.MISSING.value,
    }
    if value in good:
        return f"[green]{value}[/green]"
    if value in bad:
        return f"[red]{value}[/red]"
    return f"[yellow]{value}[/yellow]"


# A run of more Applications than this lists only those that want a look in its table (see
# ``run_table``): at 2,000 Applications the full table took 3 s of CPU to lay out, and 2,000 rows
# of "Synced Healthy -" hide the few that matter.
LIST_EVERY_APPLICATION_UP_TO = 100


def _quiet(app: results.AppResult) -> bool:
    """Synced and Healthy, nothing changed, nothing drifted, not being removed."""
    return (
        app.sync_status is SyncStatus.SYNCED
        and app.health is Health.HEALTHY
        and app.deletion is None
        and app.reason is Reason.SUCCEEDED
        and changes(app) == "-"
    )


def run_table(run: results.RunResult) -> Any:
    """One row per Application. Beyond ``LIST_EVERY_APPLICATION_UP_TO`` Applications, those that
    are Synced and Healthy with nothing changed are counted below the table instead (``-o json``
    and the reports list every one)."""
    from rich import box
    from rich.table import Table

    apps = list(run.apps())
    hidden: set[tuple[str, str]] = set()  # (cluster, Application) counted below, not listed
    if len(apps) > LIST_EVERY_APPLICATION_UP_TO:
        hidden = {(a.cluster, a.name) for a in apps if _quiet(a)}
    caption = (
        f"and {len(hidden)} more Applications Synced and Healthy with nothing changed (-o json lists every one)"
        if hidden
        else None
    )
    table = Table(
        box=box.SIMPLE,
        show_edge=False,
        pad_edge=False,
        header_style="bold",
        caption=caption,
        caption_justify="left",
    )
    for column in ("CLUSTER", "APPLICATION", "SYNC", "HEALTH", "CHANGES", "REASON", "MESSAGE"):
        table.add_column(column, overflow="fold")
    for cluster in run.clusters:
        if not cluster.apps and cluster.reason:
            table.add_row(
                cluster.cluster,
                "-",
                style("Unknown"),
                style("Unknown"),
                "-",
                cluster.reason.value,
                results.root_cause(redact.mask(cluster.message)),
            )
        for app in cluster.apps:
            if (app.cluster, app.name) in hidden:
                continue
            table.add_row(
                cluster.cluster,
                app.name,
                style(app.sync_status.value),
                style(app.health.value),
                changes(app),
                app.reason.value,
                results.root_cause(redact.mask(app.message)),
            )
    return table


def summary_line(run: results.RunResult, *, seconds: float | None = None) -> str:
    """One line for the run. The Applications it counts are those Git still generates; those
    removed from Git are counted apart, by what happened to them (a deleted Application is
    neither Synced nor Healthy: it is gone; issue 8, item 8)."""
    s = run.summary()
    present = [a for a in run.apps() if a.deletion is None]
    sync = Counter(a.sync_status for a in present)
    health = Counter(a.health for a in present)
    parts = [
        f"{s['clusters']} clusters ({s['clusters_failed']} failed)",
        (
            f"{len(present)} applications: {sum(1 for a in present if a.ok)} Synced and Healthy, "
            f"{sync[SyncStatus.OUT_OF_SYNC]} OutOfSync, {sync[SyncStatus.UNKNOWN]} Unknown, "
            f"{health[Health.DEGRADED]} Degraded, {health[Health.PROGRESSING]} Progressing"
        ),
        f"{s['changed']} objects changed, {s['drifted']} drifted",
        f"{s['requests']} API requests",
    ]
    if s["generation_errors"]:
        parts.append(f"{s['generation_errors']} generation errors")
    removed = removal_counts(run)
    if removed:
        parts.append(f"removed from Git: {removed}")
    if s["rollout_waiting"] or s["rollout_skipped"]:
        parts.append(
            f"rollout: {s['rollout_waiting']} waiting, {s['rollout_skipped']} skipped (selected by no step)"
        )
    line = "; ".join(parts)
    return f"{run.kind.value} {'OK' if run.ok else 'NOT OK'}: {line}"


def removal_counts(run: results.RunResult) -> str:
    """What the run did with the Applications removed from Git, e.g. "2 deleted, 1 kept" ("" for none)."""
    counts = Counter(a.deletion for a in run.apps() if a.deletion is not None)
    words = [
        (results.Deletion.DELETED, "deleted"),
        (results.Deletion.PRESERVED, "preserved (resources kept)"),
        (results.Deletion.WOULD_DELETE, "would be deleted"),
        (results.Deletion.WOULD_PRESERVE, "would be preserved"),
        (results.Deletion.BLOCKED, "blocked by the deletion guard"),
        (results.Deletion.FAILED, "failed to delete"),
        (results.Deletion.KEPT, "kept"),
    ]
    return ", ".join(f"{counts[d]} {word}" for d, word in words if counts[d])


def rollout_table(run: results.RunResult) -> Any:
    """The rollouts of a run: each step in order, its state, and why a rollout stopped."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False, header_style="bold")
    for column in ("ROLLOUT", "STEP", "SELECTOR", "MAX UPDATE", "APPS", "CLUSTERS", "STATE", "MESSAGE"):
        table.add_column(column, overflow="fold")
    for found in run.rollouts:
        for step in found.steps:
            clusters = ", ".join(step.clusters[:4]) + (
                f" +{len(step.clusters) - 4}" if len(step.clusters) > 4 else ""
            )
            table.add_row(
                found.name,
                f"{step.step}/{len(found.steps)}",
                step.selector,
                step.max_update or "all",
                str(step.applications),
                clusters or "-",
                step.state.value,
                redact.mask(step.message)[:160],
            )
        if found.skipped:
            table.add_row(
                found.name,
                "-",
                "(no step)",
                "-",
                str(found.skipped),
                "-",
                "Skipped",
                "not synced by the rollout",
            )
    return table


def rollout_lines(run: results.RunResult) -> list[str]:
    """One line per rollout: completed, or where and why it stopped."""
    lines = []
    for found in run.rollouts:
        done = sum(1 for s in found.steps if s.state is results.StepState.COMPLETED)
        if found.stopped_at:
            lines.append(
                f"rollout {found.name}: STOPPED at step {found.stopped_at}/{len(found.steps)} "
                f"({done} completed): {redact.mask(found.message)}"
            )
        elif found.message:
            lines.append(f"rollout {found.name}: {redact.mask(found.message)}")
        elif all(s.state is results.StepState.PLANNED for s in found.steps):
            lines.append(f"rollout {found.name}: {len(found.steps)} steps planned (nothing rolled out)")
        else:
            lines.append(f"rollout {found.name}: {done}/{len(found.steps)} steps completed")
        if found.skipped:
            lines.append(
                f"rollout {found.name}: {found.skipped} Applications selected by no step were not synced "
                "(sync them by name with --app)"
            )
    return lines
