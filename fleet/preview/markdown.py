"""A plan as Markdown for a pull-request comment: totals first, then one collapsed section per
distinct change, its diff in one fenced ``diff`` block.

The whole comment stays under GitHub's limit of 65,536 characters (GitLab's notes allow more):
sections are added while they fit; the section that does not fit gets its diff cut, with a line
saying how much is left out; later changes are listed by one line each, then only counted; a
note at the end says what was left out and how to see it all (``-o json``).
"""

from __future__ import annotations

import re

from fleet import redact
from fleet.preview import model

GITHUB_COMMENT_LIMIT = 65_536
# Room kept for the closing note, so that it always fits.
_RESERVE = 600
_MIN_DIFF_ROOM = 400  # below this, a section that does not fit is listed without its diff
_MAX_CLUSTERS_SHOWN = 40
_MAX_ERRORS_SHOWN = 20


def _short(commit: str) -> str:
    sha, dirty, _ = commit.partition("+")
    return sha[:12] + ("+dirty" if dirty else "")


def _revision(side: model.Revision) -> str:
    named = f" ({side.flag} {side.revision})" if side.revision and side.revision != side.commit else ""
    return f"`{_short(side.commit)}`" + (named if side.revision else " (working tree)")


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text`` (so it cannot end the block)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _clusters(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:_MAX_CLUSTERS_SHOWN])
    more = f", … and {len(names) - _MAX_CLUSTERS_SHOWN} more" if len(names) > _MAX_CLUSTERS_SHOWN else ""
    return shown + more


def _summary(group: model.Group) -> str:
    apps = ", ".join(group.applications[:3]) + (
        f" and {len(group.applications) - 3} more" if len(group.applications) > 3 else ""
    )
    what = f"{group.count} Applications ({apps})" if group.count > 1 else apps
    return f"<b>{group.change.value}</b>: {what}, {group.headline()}"


def _details(group: model.Group) -> list[str]:
    lines = [f"Clusters: {_clusters(group.clusters)}"]
    if group.appsets:
        lines.append(f"ApplicationSets: {', '.join(group.appsets)}")
    if group.rollout_steps:
        lines.append(
            "Rollout at head: " + "; ".join(f"{step} ({n})" for step, n in group.rollout_steps.items())
        )
    if group.deletion is not None:
        lines.append(f"Deletion: {group.deletion.value}")
    if group.message:
        lines.append(f"Fails at head: {group.message}")
    for violation in group.violations:
        lines.append(f"AppProject violation at head: {violation}")
    for obj in group.objects:
        if obj.prune is not None:
            lines.append(f"`{obj.ref}` is no longer rendered: {obj.prune.value}")
        if obj.note:
            lines.append(f"`{obj.ref}`: {obj.note}")
    return [f"- {line}" for line in lines]


def _section(group: model.Group, *, room: int | None = None) -> tuple[str, bool]:
    """One group's collapsed section; with ``room``, its diff is cut to fit (and says so).
    Returns the text and whether its diff was cut."""
    head = [f"<details><summary>{_summary(group)}</summary>", "", *_details(group), ""]
    tail = ["", "</details>", ""]
    diff = group.diff
    cut = False
    if diff:
        fence = _fence(diff)
        body = diff.rstrip("\n").split("\n")
        if room is not None:
            fixed = len("\n".join(head + tail)) + 2 * (len(fence) + 6) + 120
            kept: list[str] = []
            used = fixed
            for line in body:
                if used + len(line) + 1 > room:
                    break
                kept.append(line)
                used += len(line) + 1
            if len(kept) < len(body):
                cut = True
                kept.append(
                    f"… {len(body) - len(kept)} more lines of this diff not shown (comment size limit)"
                )
            body = kept
        head += [f"{fence}diff", *body, fence]
    return "\n".join(head + tail), cut


def _live_section(group: model.LiveGroup) -> str:
    labels = ",".join(f"{k}={v}" for k, v in sorted(group.labels.items()))
    where = f"on {len(group.clusters)} clusters" + (f" ({labels})" if labels else "")
    lines = [
        f"<details><summary><b>{group.sync_status}</b> against live: {group.count} Applications {where}</summary>",
        "",
        f"- Clusters: {_clusters(group.clusters)}",
        f"- Applications: {', '.join(group.applications[:10])}"
        + (" …" if len(group.applications) > 10 else ""),
    ]
    if group.message:
        lines.append(f"- {group.message}")
    if group.diff:
        fence = _fence(group.diff)
        lines += ["", f"{fence}diff", group.diff.rstrip("\n"), fence]
    return "\n".join([*lines, "", "</details>", ""])


def header(plan: model.PlanResult) -> str:
    totals = plan.totals
    changes = totals.changes
    title = (
        f"### fleet plan: {changes} of {totals.base + totals.added} Applications change on "
        f"{len({a.cluster for a in plan.applications if a.change.is_change()})} clusters"
        if changes
        else "### fleet plan: no Application changes"
    )
    lines = [
        title,
        "",
        f"{plan.fleet}: base {_revision(plan.base)} → head {_revision(plan.head)}",
        "",
        "| | Applications |",
        "| --- | ---: |",
        f"| added | {totals.added} |",
        f"| removed | {totals.removed} |",
        f"| changed | {totals.changed} |",
        f"| failing at head | {totals.failed} |",
        f"| unchanged | {totals.unchanged} |",
        f"| with AppProject violations at head | {totals.violations} |",
        "",
        f"Objects pruned by the next sync: {totals.pruned}; left for want of prune: {totals.requires_pruning}. "
        f"{totals.groups} distinct changes over {totals.clusters} clusters.",
        "",
    ]
    if plan.live:
        lines += [
            f"Against live state (`--live`): {totals.live_out_of_sync} Applications differ from their "
            f"cluster; {totals.live_failed_clusters} clusters could not be compared.",
            "",
        ]
    for title_text, found in (
        ("Generation errors new at head", plan.errors.new),
        (
            "Generation errors at head (already at base)",
            tuple(e for e in plan.errors.head if e not in plan.errors.new),
        ),
        ("Generation errors fixed by head", plan.errors.fixed),
    ):
        if found:
            lines.append(f"**{title_text}:**")
            lines += [f"- {e}" for e in found[:_MAX_ERRORS_SHOWN]]
            if len(found) > _MAX_ERRORS_SHOWN:
                lines.append(f"- … and {len(found) - _MAX_ERRORS_SHOWN} more (`-o json` lists them all)")
            lines.append("")
    return "\n".join(lines) + "\n"


def render(plan: model.PlanResult, *, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """The comment, shorter than ``limit`` characters (masked)."""
    out = [header(plan)]
    size = len(out[0])
    shown = listed = 0
    truncated = cut_short = False
    listing: list[str] = []
    sections: list[tuple[model.Group | None, model.LiveGroup | None]] = [(g, None) for g in plan.groups]
    sections += [(None, g) for g in plan.live_groups]
    for index, (group, live) in enumerate(sections):
        if index == len(plan.groups) and not truncated:
            title = "#### Against live state\n\n"
            out.append(title)
            size += len(title)
        text = _section(group)[0] if group is not None else _live_section(live) if live is not None else ""
        if not truncated and size + len(text) + _RESERVE < limit:
            out.append(text)
            size += len(text)
            shown += 1
            continue
        room = limit - size - _RESERVE
        if not truncated and group is not None and room > _MIN_DIFF_ROOM:
            text, cut_short = _section(group, room=room)
            truncated = True
            if size + len(text) + _RESERVE < limit:
                out.append(text)
                size += len(text)
                shown += 1
                continue
        truncated = True
        if group is not None:
            line = f"- {_summary(group).replace('<b>', '**').replace('</b>', '**')} (diff not shown)\n"
        else:
            assert live is not None
            line = f"- against live: {live.count} Applications {live.sync_status} (diff not shown)\n"
        if size + len(line) + _RESERVE < limit:
            listing.append(line)
            size += len(line)
            listed += 1
    if listing:
        out.append("\n" + "".join(listing))
    if truncated:
        total = len(sections)
        hidden = total - shown - listed
        out.append(
            f"\n> **Truncated** to stay under the comment limit ({limit:,} characters): "
            f"{shown} of {total} changes shown with their diff"
            + (" (the last one cut short)" if cut_short else "")
            + (f", {listed} listed without it" if listed else "")
            + (f", {hidden} not listed" if hidden else "")
            + ". Run `fleet plan` with `-o json` (or `-o table`) to see every change in full.\n"
        )
    for note in plan.notes:
        extra = f"\n> note: {note}\n"
        if size + len(extra) + _RESERVE // 2 < limit:
            out.append(extra)
            size += len(extra)
    text = redact.mask("".join(out))
    if len(text) >= limit:  # masking may lengthen a text a little; the limit is a promise
        text = text[: limit - 200] + "\n\n> **Truncated** to stay under the comment limit.\n"
    return text


__all__ = ["GITHUB_COMMENT_LIMIT", "header", "render"]
