"""Group identical changes: the same diff on 183 clusters shows once, with those clusters and
the labels they share (``env=prod``), so a change to a shared base reads as one diff per
distinct result.

Phase 4 of ``fleet plan`` (``fleet.preview.run``). Identical means the same digest
(``compare.Compared.digest``: the masked diff text, prunes, violations and failure); nothing
cluster-specific is normalised away, so a change that renders differently per cluster makes one
group per distinct rendering.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from fleet import models, results
from fleet.preview import compare, model


def distinguishing_labels(members: Iterable[str], clusters: Mapping[str, models.Cluster]) -> dict[str, str]:
    """The labels every one of ``members`` has with the same value, less those every cluster of
    the plan has (they tell the group apart from nothing)."""
    names = [name for name in dict.fromkeys(members) if name in clusters]
    if not names:
        return {}
    shared = set(clusters[names[0]].labels.items())
    for name in names[1:]:
        shared &= set(clusters[name].labels.items())
    everywhere = set.intersection(*(set(c.labels.items()) for c in clusters.values()))
    return dict(sorted(shared - everywhere))


def step_text(found: results.AppRollout) -> str:
    """An Application's place in its rollout, as the group shows it."""
    if found.state is results.RolloutState.SKIPPED or not found.step:
        return f"{found.rollout}: in no step"
    batch = f", batch {found.batch}" if found.batch > 1 else ""
    return f"{found.rollout} step {found.step}/{found.steps}{batch}"


def group(
    entries: Sequence[tuple[model.AppChange, compare.Compared]], clusters: Mapping[str, models.Cluster]
) -> tuple[model.Group, ...]:
    """One group per distinct change (unchanged Applications form none), the largest first."""
    members: dict[str, list[tuple[model.AppChange, compare.Compared]]] = {}
    for app, compared in entries:
        if compared.change.is_change():
            members.setdefault(app.group, []).append((app, compared))
    out = []
    for digest, found in members.items():
        compared = found[0][1]
        apps = [app for app, _ in found]
        names = sorted({app.cluster for app in apps})
        out.append(
            model.Group(
                id=digest,
                change=compared.change,
                count=len(apps),
                clusters=tuple(names),
                applications=tuple(sorted({app.app for app in apps})),
                appsets=tuple(sorted({app.appset for app in apps if app.appset})),
                labels=distinguishing_labels(names, clusters),
                objects=compared.objects,
                violations=compared.violations,
                message=compared.message,
                deletion=compared.deletion,
                rollout_steps=dict(
                    sorted(Counter(step_text(app.rollout) for app in apps if app.rollout is not None).items())
                ),
            )
        )
    order = [
        model.ChangeKind.FAILED,
        model.ChangeKind.REMOVED,
        model.ChangeKind.CHANGED,
        model.ChangeKind.ADDED,
    ]
    return tuple(sorted(out, key=lambda g: (order.index(g.change), -g.count, g.clusters, g.id)))


def group_live(
    entries: Sequence[model.AppChange], clusters: Mapping[str, models.Cluster]
) -> tuple[model.LiveGroup, ...]:
    """``--live``: Applications whose head differs from their cluster in the same way."""
    members: dict[str, list[model.AppChange]] = {}
    for app in entries:
        if app.live is not None and app.live.group:
            members.setdefault(app.live.group, []).append(app)
    out = []
    for digest, apps in members.items():
        live = apps[0].live
        assert live is not None  # grouped above only when set
        names = sorted({app.cluster for app in apps})
        out.append(
            model.LiveGroup(
                id=digest,
                sync_status=live.sync_status,
                count=len(apps),
                clusters=tuple(names),
                applications=tuple(sorted({app.app for app in apps})),
                labels=distinguishing_labels(names, clusters),
                diff=live.diff,
                message=live.message,
            )
        )
    return tuple(sorted(out, key=lambda g: (-g.count, g.clusters, g.id)))


__all__ = ["distinguishing_labels", "group", "group_live", "step_text"]
