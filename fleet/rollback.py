"""Automatic rollback of a failed rollout step: what to sync each Application back to.

Where it sits: when a step of a rollout with ``autoRollback`` (``spec.strategy.rollingSync.
autoRollback: true`` or ``--auto-rollback``) fails, the driver's fan-out (``fleet.driver.control``) asks ``plan_one``
for every Application of the step that ran: the status store's last revision at which a sync
left it Synced and Healthy on its cluster (``Store.last_good``) is the target, and ``pinned``
gives the Application with its source at that revision, which the driver renders from its
source checkout and syncs in one more fan-out. Later steps are never touched. The pure parts
live here; the rendering and the fan-out are the driver's.

Nothing is rolled back (and the result says why) when no Synced and Healthy revision is
recorded, when it is the revision that just failed, or when it is not one a checkout can open
again (a working tree, a dirty one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fleet import argo

_NOT_REOPENABLE = ("working-tree",)


@dataclass(frozen=True)
class Target:
    """Where one Application goes back to, or why it stays."""

    cluster: str
    app: str
    from_revision: str
    to_revision: str = ""  # "" : nothing to roll back to
    message: str = ""

    @property
    def possible(self) -> bool:
        return bool(self.to_revision)


def plan_one(*, cluster: str, app: str, current: str, last_good: str | None) -> Target:
    """What rolling ``app`` on ``cluster`` back means, given its last good revision."""
    if not last_good:
        return Target(
            cluster,
            app,
            current,
            message="no Synced and Healthy revision is recorded for it: nothing rolled back",
        )
    if last_good == current:
        return Target(
            cluster,
            app,
            current,
            message=f"its last Synced and Healthy revision is the one that failed ({short(current)}): "
            "nothing to roll back to",
        )
    if last_good in _NOT_REOPENABLE or last_good.endswith("+dirty"):
        return Target(
            cluster,
            app,
            current,
            message=f"its last Synced and Healthy revision {last_good!r} was a working tree, which "
            "cannot be opened again: nothing rolled back",
        )
    return Target(cluster, app, current, to_revision=last_good)


def primary_source_index(sources: list[dict[str, Any]]) -> int:
    """The source whose revision an Application's result records (``fleet.driver.rendering``:
    the first chart source, else the first)."""
    return next(
        (
            i
            for i, s in enumerate(sources)
            if s.get("chart") or str(s.get("repoURL", "")).startswith("oci://")
        ),
        0,
    )


def pinned(app: argo.Application, revision: str) -> argo.Application:
    """The Application with its primary source at ``revision`` (a commit, or a chart version)."""
    data = app.to_dict()
    spec = dict(data.get("spec") or {})
    if spec.get("sources"):
        sources = [dict(s) for s in spec["sources"]]
        sources[primary_source_index(sources)]["targetRevision"] = revision
        spec["sources"] = sources
    elif spec.get("source"):
        spec["source"] = {**spec["source"], "targetRevision": revision}
    data["spec"] = spec
    return argo.Application.model_validate(data)


def short(revision: str) -> str:
    return revision[:12] if len(revision) == 40 else revision


__all__ = ["Target", "pinned", "plan_one", "primary_source_index", "short"]
