"""What ``fleet plan`` reports: the change a pull request makes to each Application on each
cluster, grouped by identical change, as frozen pydantic models (the ``-o json`` schema,
``fleet.plan/v1``, documented in the README).

Sits at the bottom of ``fleet.preview``: the comparison (``compare``) fills these models, the
grouping (``grouping``) and the formats (``markdown``, ``terminal``) read them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fleet import redact, results

SCHEMA = "fleet.plan/v1"


class ChangeKind(StrEnum):
    """What merging the pull request does to one Application on one cluster."""

    ADDED = "Added"  # generated at head only: created by the next sync
    REMOVED = "Removed"  # generated at base only: deleted (or its resources kept) by the next sync
    CHANGED = "Changed"  # generated on both sides, and the rendered objects differ
    FAILED = "Failed"  # at head it does not render, or its AppProject refuses it: a sync would fail it
    UNCHANGED = "Unchanged"  # generated on both sides, rendered the same

    def is_change(self) -> bool:
        """Whether the next sync would do something different because of the pull request."""
        return self is not ChangeKind.UNCHANGED


class ObjectChangeKind(StrEnum):
    """What happens to one rendered object between base and head."""

    ADDED = "Added"  # rendered at head only
    REMOVED = "Removed"  # rendered at base only
    CHANGED = "Changed"  # rendered on both sides, differently


class PruneAction(StrEnum):
    """What the next sync does with an object the head no longer renders (Argo CD's prune)."""

    PRUNE = "Prune"  # deleted: the Application prunes (automated.prune, or --prune)
    REQUIRES_PRUNING = "RequiresPruning"  # left on the cluster, OutOfSync, until a sync with prune
    KEEP = "Keep"  # the object says Prune=false: never pruned


class ObjectChange(BaseModel):
    """One object whose rendering differs; ``diff`` is a masked unified diff, base to head."""

    model_config = ConfigDict(frozen=True)

    ref: str  # group/Kind namespace/name
    change: ObjectChangeKind
    diff: str = ""
    prune: PruneAction | None = None  # for a removed object of an Application that stays
    note: str = ""  # e.g. a SOPS file no key here can decrypt: only its keys are compared


class Revision(BaseModel):
    """One side of the plan."""

    model_config = ConfigDict(frozen=True)

    flag: str  # --base or --head
    revision: str  # as given ("" for the working tree)
    commit: str  # the commit read (``<sha>+dirty`` for a working tree with changes)


class LiveState(BaseModel):
    """``--live``: the head against the cluster, as ``fleet diff`` compares them."""

    model_config = ConfigDict(frozen=True)

    sync_status: str
    health: str
    reason: str = ""
    message: str = ""
    diff: str = ""  # masked unified diffs of every object that differs from live
    group: str = ""  # the id of the live group holding this diff (``PlanResult.live_groups``)
    deletion: results.Deletion | None = None  # a removed Application the cluster still has


class AppChange(BaseModel):
    """One Application on one cluster; its diff text is in its group (``group``)."""

    model_config = ConfigDict(frozen=True)

    cluster: str
    app: str
    appset: str = ""
    project: str = ""
    change: ChangeKind
    group: str = ""  # the id of its group (empty for an unchanged Application)
    rollout: results.AppRollout | None = None  # its rollout step at head (none when it has none)
    live: LiveState | None = None


class Group(BaseModel):
    """Applications whose change is the same (same diff text, same prunes, same violations):
    shown once, with the clusters it happens on and the labels those clusters share."""

    model_config = ConfigDict(frozen=True)

    id: str  # a digest of the change, stable across runs
    change: ChangeKind
    count: int  # Applications in the group
    clusters: tuple[str, ...]
    applications: tuple[str, ...]  # distinct Application names
    appsets: tuple[str, ...] = ()
    labels: dict[str, str] = Field(default_factory=dict)  # what its clusters share and other clusters do not
    objects: tuple[ObjectChange, ...] = ()
    violations: tuple[str, ...] = ()  # AppProject violations at head
    message: str = ""  # why it fails at head (RenderFailed, ...), the Application's name as <app>
    deletion: results.Deletion | None = None  # a removed Application: deleted with its resources, or not
    rollout_steps: dict[str, int] = Field(default_factory=dict)  # "web step 2/3" -> Applications in it

    @property
    def diff(self) -> str:
        return "".join(o.diff for o in self.objects)

    def headline(self) -> str:
        """``the same diff on 183 clusters (env=prod)``, or the one cluster's name."""
        labels = ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        where = (
            f"on cluster {self.clusters[0]}"
            if len(self.clusters) == 1
            else f"the same {'diff' if self.objects else 'change'} on {len(self.clusters)} clusters"
        )
        return f"{where} ({labels})" if labels else where


class LiveGroup(BaseModel):
    """``--live``: Applications whose head differs from the cluster in the same way."""

    model_config = ConfigDict(frozen=True)

    id: str
    sync_status: str
    count: int
    clusters: tuple[str, ...]
    applications: tuple[str, ...]
    labels: dict[str, str] = Field(default_factory=dict)
    diff: str = ""
    message: str = ""


class Totals(BaseModel):
    model_config = ConfigDict(frozen=True)

    clusters: int = 0  # clusters with an Application on either side
    base: int = 0  # Applications generated at base
    head: int = 0  # Applications generated at head
    added: int = 0
    removed: int = 0
    changed: int = 0
    failed: int = 0
    unchanged: int = 0
    groups: int = 0  # distinct changes
    violations: int = 0  # Applications with an AppProject violation at head
    pruned: int = 0  # objects the next sync deletes from Applications that stay
    requires_pruning: int = 0  # objects left OutOfSync for want of prune
    live_out_of_sync: int | None = None  # --live: Applications whose head differs from the cluster
    live_failed_clusters: int | None = None  # --live: clusters that could not be compared

    @property
    def changes(self) -> int:
        return self.added + self.removed + self.changed + self.failed


class Errors(BaseModel):
    """Generation errors (ApplicationSets, destinations, AppProjects, rollouts) at head, and
    how they differ from the base's."""

    model_config = ConfigDict(frozen=True)

    head: tuple[str, ...] = ()
    new: tuple[str, ...] = ()  # at head, not at base: the pull request introduces them
    fixed: tuple[str, ...] = ()  # at base, not at head


class PlanResult(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_: str = Field(SCHEMA, alias="schema")
    fleet: str
    base: Revision
    head: Revision
    live: bool = False
    totals: Totals
    groups: tuple[Group, ...] = ()
    applications: tuple[AppChange, ...] = ()  # every Application of either side, unchanged ones too
    live_groups: tuple[LiveGroup, ...] = ()
    errors: Errors = Field(default_factory=Errors)
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether anything would change (exit 1): an Application added, removed, changed or
        failing at head, a new generation error, or with ``--live`` a cluster that differs."""
        return bool(
            self.totals.changes
            or self.errors.head
            or (self.totals.live_out_of_sync or 0)
            or (self.totals.live_failed_clusters or 0)
        )

    def to_json(self, **kwargs: Any) -> str:
        """The JSON document, masked once more against every secret value this process has seen."""
        return redact.mask(self.model_dump_json(by_alias=True, **kwargs))


__all__ = [
    "SCHEMA",
    "AppChange",
    "ChangeKind",
    "Errors",
    "Group",
    "LiveGroup",
    "LiveState",
    "ObjectChange",
    "ObjectChangeKind",
    "PlanResult",
    "PruneAction",
    "Revision",
    "Totals",
]
