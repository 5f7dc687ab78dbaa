"""Applications removed from Git: what the inventory records at each sync, and what a later run
does once the Application is no longer generated.

Where it sits: the worker (``fleet.reconcile``) writes an Application's inventory ConfigMap with
``inventory_configmap`` after each sync; in a run that covers the whole fleet, the driver hands
every cluster a ``Removal`` scope and the worker finds the inventories of Applications that are
no longer generated (``removed``), decides per Application (``decide``) and carries it out (a
cascade delete with ``waves.plan_deletion``, or only dropping the inventory, or nothing).

Argo CD's rules (appset-semantics.md §9-§10) and how the record keeps them decidable once the
Application is gone:

- ``applicationsSync`` of its ApplicationSet: ``create-only`` and ``create-update`` never delete
  an Application. The ApplicationSet's CURRENT policy decides while it is still in Git; once the
  ApplicationSet itself is gone, the policy recorded at the last sync does (Argo CD then strips
  the owner references first, so the Applications stay).
- Deleting an Application deletes its resources only when it carries the resources finalizer
  (``resources-finalizer.argocd.argoproj.io``, with or without ``/foreground`` or
  ``/background``). Generated Applications get it unless ``preserveResourcesOnDeletion: true``;
  a plain Application has it only when written with it. The record says whether it had it; an
  ApplicationSet still in Git that now asks to preserve resources keeps them too (the safer of
  the two readings).
- PreDelete and PostDelete hooks run around a cascade delete. They come from the manifests,
  which are no longer rendered, so the record keeps them (as in Git: references unresolved,
  SOPS files still encrypted).
- An inventory recorded without this information (by an older fleet) is kept, with a message.

What fleet adds for safety (issue 8, item 1: syncing the wrong directory, or a second fleet against
the same clusters, deleted every Application):

- **Fleet identity.** Every inventory records the fleet that wrote it (``FleetIdentity``: the
  normalised repository URL, with the folder inside it, plus an optional ``--fleet-name``). A run
  only ever deletes Applications whose inventory this same fleet wrote; other fleets'
  inventories are not even reported. An inventory without an identity (written before fleets
  had one) is kept with a message unless the run adopts such inventories (``--adopt-inventories``).
- **Deletion guard.** ``DeletionGuard.check`` stops a run whose cascade deletes on a cluster
  exceed ``--max-delete`` (default 10% of the cluster's Applications, at least one) or would
  delete every Application the fleet has there, unless ``--allow-mass-delete``; the driver then
  deletes nothing anywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fleet import argo, errors, inventory, waves

APPSET_ANNOTATION = (
    "fleet.gitops.io/appset"  # the ApplicationSet that generated it ("" for a plain Application)
)
POLICY_ANNOTATION = (
    "fleet.gitops.io/applications-sync"  # that ApplicationSet's applicationsSync at the last sync
)
CASCADE_ANNOTATION = "fleet.gitops.io/cascade"  # "true": it carried the resources finalizer
NAMESPACE_ANNOTATION = "fleet.gitops.io/destination-namespace"  # for its delete hooks' namespace
FLEET_REPO_ANNOTATION = "fleet.gitops.io/fleet-repo"  # the fleet that wrote it: its normalised repository
FLEET_NAME_ANNOTATION = "fleet.gitops.io/fleet-name"  # ... and its --fleet-name ("" when none)
DELETE_HOOKS_KEY = "deleteHooks"  # data key: its PreDelete/PostDelete hooks, as in Git
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
_RECORD_KEYS = (
    APPSET_ANNOTATION,
    POLICY_ANNOTATION,
    CASCADE_ANNOTATION,
    NAMESPACE_ANNOTATION,
    FLEET_REPO_ANNOTATION,
    FLEET_NAME_ANNOTATION,
)
# A fleet name is a label value (so it reads well in annotations, logs and reports).
_FLEET_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class FleetIdentity:
    """Which fleet wrote an inventory: two fleets are the same only when both parts are equal.

    ``repo`` is the fleet repository's URL normalised as Argo CD normalises repoURLs (credentials
    dropped), followed by ``//folder`` when the fleet is a folder inside the repository; a
    directory outside git is ``file://`` and its absolute path. ``name`` is ``--fleet-name``.
    """

    repo: str
    name: str = ""

    def __str__(self) -> str:
        return f"{self.repo} (fleet name {self.name})" if self.name else self.repo


def check_fleet_name(name: str, *, where: str = "--fleet-name") -> str:
    """A fleet name as given, or bad input naming ``where``."""
    if name and not _FLEET_NAME.match(name):
        raise errors.InputError(
            f"{name!r} is not a fleet name: up to 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit",
            field=where,
        )
    return name


def has_resources_finalizer(finalizers: Iterable[str]) -> bool:
    """Whether deleting the Application cascades to its resources (Argo CD's finalizer, any variant)."""
    return any(f == RESOURCES_FINALIZER or f.startswith(RESOURCES_FINALIZER + "/") for f in finalizers)


def delete_hooks(manifests: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The PreDelete and PostDelete hooks among an Application's rendered manifests."""
    wanted = {waves.HookType.PRE_DELETE, waves.HookType.POST_DELETE}
    return [m for m in manifests if wanted & set(waves.hook_types(m))]


# --- the record --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """What an inventory ConfigMap says about its Application beyond the object list."""

    app: str
    appset: str = ""
    applications_sync: str = argo.ApplicationsSync.SYNC.value
    cascade: bool = True
    namespace: str = ""
    hooks: tuple[Mapping[str, Any], ...] = ()
    complete: bool = True  # False: written by an older fleet, without the deletion policy
    fleet: FleetIdentity | None = None  # None: written before fleets had an identity


def inventory_configmap(
    app: str,
    inv: inventory.Inventory,
    *,
    appset: str,
    applications_sync: str,
    cascade: bool,
    namespace: str,
    hooks: Sequence[Mapping[str, Any]] = (),
    fleet: FleetIdentity | None = None,
) -> dict[str, Any]:
    """The inventory ConfigMap of ``app``, with what deciding its deletion later needs and the
    fleet that wrote it (None only for library callers that run without an identity)."""
    cm = inventory.to_configmap(app, inv)
    cm["metadata"]["annotations"].update(
        {
            APPSET_ANNOTATION: appset,
            POLICY_ANNOTATION: applications_sync,
            CASCADE_ANNOTATION: "true" if cascade else "false",
            NAMESPACE_ANNOTATION: namespace,
        }
    )
    if fleet is not None:
        cm["metadata"]["annotations"].update(
            {FLEET_REPO_ANNOTATION: fleet.repo, FLEET_NAME_ANNOTATION: fleet.name}
        )
    if hooks:
        cm["data"][DELETE_HOOKS_KEY] = json.dumps(list(hooks), sort_keys=True, separators=(",", ":"))
    return cm


def differs(live: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> bool:
    """Whether the live inventory ConfigMap must be written again (its record changed)."""
    if live is None:
        return True
    have = (live.get("metadata") or {}).get("annotations") or {}
    want = desired["metadata"]["annotations"]
    if any(have.get(k) != want.get(k) for k in _RECORD_KEYS):
        return True
    return ((live.get("data") or {}).get(DELETE_HOOKS_KEY) or "") != desired["data"].get(DELETE_HOOKS_KEY, "")


def recorded_fleet(cm: Mapping[str, Any] | None) -> FleetIdentity | None:
    """The fleet that wrote an inventory ConfigMap (None: no identity recorded)."""
    annotations = ((cm or {}).get("metadata") or {}).get("annotations") or {}
    repo = annotations.get(FLEET_REPO_ANNOTATION)
    if not repo:
        return None
    return FleetIdentity(str(repo), str(annotations.get(FLEET_NAME_ANNOTATION) or ""))


def read(cm: Mapping[str, Any]) -> Record:
    """The record of an inventory ConfigMap (``complete`` False when it has none)."""
    meta = cm.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    app = str(annotations.get(inventory.APP_LABEL) or "")
    fleet = recorded_fleet(cm)
    if any(k not in annotations for k in (APPSET_ANNOTATION, POLICY_ANNOTATION, CASCADE_ANNOTATION)):
        return Record(app=app, complete=False, fleet=fleet)
    raw = (cm.get("data") or {}).get(DELETE_HOOKS_KEY) or "[]"
    try:
        hooks = json.loads(raw)
    except ValueError:
        hooks = []
    return Record(
        app=app,
        appset=str(annotations.get(APPSET_ANNOTATION) or ""),
        applications_sync=str(annotations.get(POLICY_ANNOTATION) or argo.ApplicationsSync.SYNC.value),
        cascade=str(annotations.get(CASCADE_ANNOTATION)) == "true",
        namespace=str(annotations.get(NAMESPACE_ANNOTATION) or ""),
        hooks=tuple(h for h in hooks if isinstance(h, dict)) if isinstance(hooks, list) else (),
        fleet=fleet,
    )


# --- deciding ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppSetPolicy:
    """An ApplicationSet of this run's fleet, as far as deleting its Applications goes."""

    applications_sync: str = argo.ApplicationsSync.SYNC.value
    preserve_resources: bool = False


@dataclass(frozen=True)
class Removal:
    """Delete the Applications removed from Git on one cluster (only in a run that covers the
    whole fleet). Built by the driver; travels to the worker with the cluster's work.

    A run handles them in two passes so that the deletion guard can stop it before anything is
    deleted: first every cluster only reports what it would do (``execute`` None), then, when the
    guard allows it and the run is a sync, the clusters concerned carry it out for exactly the
    Applications named in ``execute``.
    """

    keep: frozenset[str] = frozenset()  # still generated (for this cluster, or where it is uncertain)
    failed_appsets: frozenset[str] = frozenset()  # generation failed this run: their Applications stay
    appsets: Mapping[str, AppSetPolicy] = field(default_factory=dict)  # the ApplicationSets in Git now
    fleet: FleetIdentity | None = None  # this run's fleet: only its inventories are considered
    adopt: bool = False  # inventories without an identity count as this fleet's (--adopt-inventories)
    execute: frozenset[str] | None = None  # None: report only; else delete (or preserve) these


class Ownership(StrEnum):
    """Whose an inventory on a cluster is, seen from the fleet of this run."""

    OURS = "ours"  # written by this fleet (same repository and fleet name)
    LEGACY = "legacy"  # written before fleets recorded an identity: kept unless adopted
    FOREIGN = "foreign"  # written by another fleet: never touched, not reported


def ownership(record_fleet: FleetIdentity | None, removal: Removal) -> Ownership:
    """Whose an inventory is (a Removal without an identity treats every inventory as its own)."""
    if removal.fleet is None:
        return Ownership.OURS
    if record_fleet is None:
        return Ownership.OURS if removal.adopt else Ownership.LEGACY
    return Ownership.OURS if record_fleet == removal.fleet else Ownership.FOREIGN


class Decision(StrEnum):
    """What to do with an Application that is no longer generated."""

    DELETE = "delete"  # cascade: hooks and resources, then the inventory
    PRESERVE = "preserve"  # drop the inventory, keep the resources
    KEEP = "keep"  # touch nothing


_NEVER_DELETE = {argo.ApplicationsSync.CREATE_ONLY.value, argo.ApplicationsSync.CREATE_UPDATE.value}


def removed(
    inventories: Mapping[str, Mapping[str, Any]], removal: Removal, *, present: Iterable[str]
) -> list[str]:
    """The Applications whose inventory is on the cluster but that this run no longer generates;
    other fleets' inventories are left out (they are not this fleet's to delete or report)."""
    keep = set(removal.keep) | set(present)
    return sorted(
        name
        for name, cm in inventories.items()
        if name not in keep and ownership(recorded_fleet(cm), removal) is not Ownership.FOREIGN
    )


def decide(record: Record, removal: Removal) -> tuple[Decision, str]:
    """Argo CD's rules for an Application that is no longer generated (see the module docstring),
    after fleet's own: an inventory that records no fleet is kept unless adopted."""
    if ownership(record.fleet, removal) is Ownership.LEGACY:
        return Decision.KEEP, (
            "no longer generated, but its inventory records no fleet (written before fleets had an "
            "identity), so it may belong to another fleet: kept; pass --adopt-inventories to let this "
            f"fleet delete it, or delete ConfigMap {inventory.INVENTORY_NAMESPACE}/"
            f"{inventory.configmap_name(record.app)} to forget it"
        )
    if not record.complete:
        return Decision.KEEP, (
            "removed from Git, but its inventory was recorded without a deletion policy (by an older fleet): "
            f"kept; delete ConfigMap {inventory.INVENTORY_NAMESPACE}/{inventory.configmap_name(record.app)} "
            "to forget it"
        )
    if record.appset and record.appset in removal.failed_appsets:
        return Decision.KEEP, (
            f"not generated because ApplicationSet {record.appset} failed to generate in this run: kept"
        )
    current = removal.appsets.get(record.appset) if record.appset else None
    policy = current.applications_sync if current is not None else record.applications_sync
    if record.appset and policy in _NEVER_DELETE:
        where = "its" if current is not None else "its (now deleted)"
        return Decision.KEEP, (
            f"removed from Git, but {where} ApplicationSet {record.appset}'s applicationsSync policy is "
            f"{policy}, which never deletes Applications: kept"
        )
    if not record.cascade:
        return Decision.PRESERVE, (
            "removed from Git without the resources finalizer (preserveResourcesOnDeletion): "
            "inventory dropped, resources kept"
        )
    if current is not None and current.preserve_resources:
        return Decision.PRESERVE, (
            f"removed from Git; ApplicationSet {record.appset} sets preserveResourcesOnDeletion: "
            "inventory dropped, resources kept"
        )
    return Decision.DELETE, "removed from Git: deleted with its resources (cascade)"


# --- the deletion guard -----------------------------------------------------------------------

DEFAULT_MAX_DELETE = "10%"
_LIMIT = re.compile(r"^(\d+)(%?)$")


@dataclass(frozen=True)
class DeletionGuard:
    """How much a run may delete of what was removed from Git, per cluster, before it stops.

    ``count`` (``--max-delete N``) or ``percent`` (``--max-delete P%`` of the cluster's
    Applications: those the fleet keeps there plus those it would delete; rounded down, but a
    non-zero percentage always allows one) bounds the cascade deletes on one cluster. Deleting
    every Application the fleet has on a cluster always needs ``allow_mass`` (``--allow-mass-delete``),
    which also lifts the bound. Only cascade deletes count: preserving (dropping an inventory and
    keeping the resources) destroys nothing.
    """

    count: int | None = None
    percent: int | None = 10
    allow_mass: bool = False

    @classmethod
    def parse(cls, text: str | None, *, allow_mass: bool = False) -> DeletionGuard:
        """``--max-delete`` (``N`` or ``P%``; default 10%), or bad input naming the flag."""
        raw = (text or DEFAULT_MAX_DELETE).strip()
        match = _LIMIT.match(raw)
        if match is None or (match.group(2) and int(match.group(1)) > 100):
            raise errors.InputError(
                f"{raw!r}: want a number of Applications or a percentage up to 100% (e.g. 3 or 10%)",
                field="--max-delete",
            )
        value = int(match.group(1))
        if match.group(2):
            return cls(count=None, percent=value, allow_mass=allow_mass)
        return cls(count=value, percent=None, allow_mass=allow_mass)

    @property
    def text(self) -> str:
        return f"{self.percent}%" if self.percent is not None else str(self.count)

    def allowed(self, total: int) -> int:
        """How many of a cluster's ``total`` Applications one run may delete there."""
        if self.count is not None:
            return self.count
        percent = self.percent or 0
        found = total * percent // 100
        return max(found, 1) if percent > 0 and total > 0 else found

    def check(self, deleting: int, *, remaining: int) -> GuardStop | None:
        """Why deleting ``deleting`` Applications of a cluster where the fleet keeps ``remaining``
        is stopped (None: allowed)."""
        if deleting <= 0 or self.allow_mass:
            return None
        if remaining == 0:
            return GuardStop(f"it would delete every Application this fleet has there ({deleting})", True)
        total = deleting + remaining
        limit = self.allowed(total)
        if deleting > limit:
            return GuardStop(
                f"it would delete {deleting} of its {total} Applications (--max-delete {self.text} allows {limit})",
                False,
            )
        return None


@dataclass(frozen=True)
class GuardStop:
    """Why the deletion guard stops a run on one cluster."""

    why: str
    whole_cluster: bool  # only --allow-mass-delete allows it (a higher --max-delete does not)


__all__ = [
    "DEFAULT_MAX_DELETE",
    "AppSetPolicy",
    "Decision",
    "DeletionGuard",
    "FleetIdentity",
    "GuardStop",
    "Ownership",
    "Record",
    "Removal",
    "check_fleet_name",
    "decide",
    "delete_hooks",
    "differs",
    "has_resources_finalizer",
    "inventory_configmap",
    "ownership",
    "read",
    "recorded_fleet",
    "removed",
]
