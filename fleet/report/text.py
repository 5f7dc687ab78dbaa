"""Text formats of a run for terminals: the per-Application table, the rollout table, the
one-line summary and the rollout lines.

Where it sits: beside the HTML, Markdown, JSON and metrics formats (``fleet.report``); the CLI
(``fleet sync``, ``fleet diff``, ``fleet status``) and ``fleet demo`` print these. rich is
imported when a table is built, not when this module is.
"""

from __future__ import annotations

from typing import Any

from fleet import redact, results
from fleet.health import Health
from fleet.status import SyncStatus


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


def run_table(run: results.RunResult) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False, header_style="bold")
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
                redact.mask(cluster.message),
            )
        for app in cluster.apps:
            table.add_row(
                cluster.cluster,
                app.name,
                style(app.sync_status.value),
                style(app.health.value),
                changes(app),
                app.reason.value,
                redact.mask(app.message)[:160],
            )
    return table


def summary_line(run: results.RunResult, *, seconds: float | None = None) -> str:
    s = run.summary()
    ok_apps = sum(1 for a in run.apps() if a.ok)
    parts = [
        f"{s['clusters']} clusters ({s['clusters_failed']} failed)",
        f"{s['applications']} applications: {ok_apps} Synced and Healthy, {s['out_of_sync']} OutOfSync, "
        f"{s['unknown']} Unknown, {s['degraded']} Degraded, {s['progressing']} Progressing",
        f"{s['changed']} objects changed, {s['drifted']} drifted",
        f"{s['requests']} API requests",
    ]
    if s["generation_errors"]:
        parts.append(f"{s['generation_errors']} generation errors")
    if s["deleted"] or s["would_delete"]:
        parts.append(
            f"removed from Git: {s['deleted']} Applications deleted, {s['would_delete']} would be"
            if run.kind is not results.RunKind.SYNC
            else f"removed from Git: {s['deleted']} Applications deleted"
        )
    if s["rollout_waiting"] or s["rollout_skipped"]:
        parts.append(
            f"rollout: {s['rollout_waiting']} waiting, {s['rollout_skipped']} skipped (selected by no step)"
        )
    line = "; ".join(parts)
    return f"{run.kind.value} {'OK' if run.ok else 'NOT OK'}: {line}"


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
