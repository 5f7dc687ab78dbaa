"""A plan for people at a terminal: a table of the distinct changes, then each change's diff
once, then one summary line. rich is imported when the table is built."""

from __future__ import annotations

from typing import Any

from fleet.preview import model

_STYLE = {
    model.ChangeKind.ADDED: "green",
    model.ChangeKind.REMOVED: "red",
    model.ChangeKind.CHANGED: "yellow",
    model.ChangeKind.FAILED: "bold red",
}
_MAX_CLUSTERS_SHOWN = 12


def _clusters(names: tuple[str, ...]) -> str:
    more = f" … (+{len(names) - _MAX_CLUSTERS_SHOWN})" if len(names) > _MAX_CLUSTERS_SHOWN else ""
    return ", ".join(names[:_MAX_CLUSTERS_SHOWN]) + more


def groups_table(plan: model.PlanResult) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False, header_style="bold")
    for column in ("#", "CHANGE", "APPLICATIONS", "CLUSTERS", "LABELS", "OBJECTS", "NOTES"):
        table.add_column(column, overflow="fold")
    for number, group in enumerate(plan.groups, start=1):
        notes = [*group.violations, group.message]
        notes += [f"{o.ref}: {o.prune.value}" for o in group.objects if o.prune is not None]
        if group.deletion is not None:
            notes.append(group.deletion.value)
        table.add_row(
            str(number),
            f"[{_STYLE[group.change]}]{group.change.value}[/]",
            f"{group.count} ({', '.join(group.applications[:2])}{' …' if len(group.applications) > 2 else ''})",
            str(len(group.clusters)),
            ",".join(f"{k}={v}" for k, v in sorted(group.labels.items())) or "-",
            str(len(group.objects)),
            "; ".join(n for n in notes if n) or "-",
        )
    return table


def diff_lines(plan: model.PlanResult) -> list[str]:
    """Each distinct change once: a header naming where it happens, then its diff."""
    lines: list[str] = []
    for number, group in enumerate(plan.groups, start=1):
        lines.append(
            f"=== #{number} {group.change.value}: {', '.join(group.applications[:3])}"
            f"{' …' if len(group.applications) > 3 else ''}, {group.headline()}"
        )
        lines.append(f"    clusters: {_clusters(group.clusters)}")
        if group.rollout_steps:
            lines.append(
                "    rollout at head: " + "; ".join(f"{s} ({n})" for s, n in group.rollout_steps.items())
            )
        for violation in group.violations:
            lines.append(f"    AppProject violation: {violation}")
        if group.message:
            lines.append(f"    fails at head: {group.message}")
        if group.deletion is not None:
            lines.append(f"    deletion: {group.deletion.value}")
        for obj in group.objects:
            if obj.note:
                lines.append(f"    {obj.ref}: {obj.note}")
            if obj.prune is not None:
                lines.append(f"    {obj.ref}: no longer rendered: {obj.prune.value}")
            if obj.diff:
                lines.append(obj.diff.rstrip("\n"))
    for live in plan.live_groups:
        labels = ",".join(f"{k}={v}" for k, v in sorted(live.labels.items()))
        lines.append(
            f"=== live: {live.sync_status} on {len(live.clusters)} clusters"
            + (f" ({labels})" if labels else "")
            + f": {', '.join(live.applications[:3])}"
        )
        lines.append(f"    clusters: {_clusters(live.clusters)}")
        if live.message:
            lines.append(f"    {live.message}")
        if live.diff:
            lines.append(live.diff.rstrip("\n"))
    return lines


def summary_line(plan: model.PlanResult) -> str:
    t = plan.totals
    line = (
        f"plan: {t.changes} of {t.base + t.added} applications change on {t.clusters} clusters "
        f"({t.added} added, {t.removed} removed, {t.changed} changed, {t.failed} failing at head; "
        f"{t.unchanged} unchanged) in {t.groups} distinct changes; {t.pruned} objects pruned, "
        f"{t.requires_pruning} left for want of prune; {len(plan.errors.head)} generation errors at head "
        f"({len(plan.errors.new)} new)"
    )
    if plan.live:
        line += (
            f"; live: {t.live_out_of_sync} applications differ from their cluster, "
            f"{t.live_failed_clusters} clusters could not be compared"
        )
    return line


__all__ = ["diff_lines", "groups_table", "summary_line"]
