"""Applications removed from Git: what the inventory records at each sync, and what a later run
does once the Application is no longer generated.

Where it sits: the worker (``fleet.reconcile``) writes an Application's inventory ConfigMap with
``inventory_configmap`` after each sync; in a run that covers the whole fleet, the driver hands
every cluster a ``Removal`` scope and the worker finds the inventories of Applications that are
no longer generated (``removed``), decides per Application (``decide``) and carries it out (a
cascade delete with ``plan.plan_deletion``, or only dropping the inventory, or nothing).

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
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fleet import argo, inventory, plan

APPSET_ANNOTATION = (
    "fleet.gitops.io/appset"  # the ApplicationSet that generated it ("" for a plain Application)
)
POLICY_ANNOTATION = (
    "fleet.gitops.io/applications-sync"  # that ApplicationSet's applicationsSync at the last sync
)
CASCADE_ANNOTATION = "fleet.gitops.io/cascade"  # "true": it carried the resources finalizer
NAMESPACE_ANNOTATION = "fleet.gitops.io/destination-namespace"  # for its delete hooks' namespace
DELETE_HOOKS_KEY = "deleteHooks"  # data key: its PreDelete/PostDelete hooks, as in Git
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
_RECORD_KEYS = (APPSET_ANNOTATION, POLICY_ANNOTATION, CASCADE_ANNOTATION, NAMESPACE_ANNOTATION)


def has_resources_finalizer(finalizers: Iterable[str]) -> bool:
    """Whether deleting the Application cascades to its resources (Argo CD's finalizer, any variant)."""
    return any(f == RESOURCES_FINALIZER or f.startswith(RESOURCES_FINALIZER + "/") for f in finalizers)


def delete_hooks(manifests: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The PreDelete and PostDelete hooks among an Application's rendered manifests."""
    wanted = {plan.HookType.PRE_DELETE, plan.HookType.POST_DELETE}
    return [m for m in manifests if wanted & set(plan.hook_types(m))]


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


def inventory_configmap(
    app: str,
    inv: inventory.Inventory,
    *,
    appset: str,
    applications_sync: str,
    cascade: bool,
    namespace: str,
    hooks: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The inventory ConfigMap of ``app``, with what deciding its deletion later needs."""
    cm = inventory.to_configmap(app, inv)
    cm["metadata"]["annotations"].update(
        {
            APPSET_ANNOTATION: appset,
            POLICY_ANNOTATION: applications_sync,
            CASCADE_ANNOTATION: "true" if cascade else "false",
            NAMESPACE_ANNOTATION: namespace,
        }
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


def read(cm: Mapping[str, Any]) -> Record:
    """The record of an inventory ConfigMap (``complete`` False when it has none)."""
    meta = cm.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    app = str(annotations.get(inventory.APP_LABEL) or "")
    if any(k not in annotations for k in (APPSET_ANNOTATION, POLICY_ANNOTATION, CASCADE_ANNOTATION)):
        return Record(app=app, complete=False)
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
    whole fleet). Built by the driver; travels to the worker with the cluster's work."""

    keep: frozenset[str] = frozenset()  # still generated (for this cluster, or where it is uncertain)
    failed_appsets: frozenset[str] = frozenset()  # generation failed this run: their Applications stay
    appsets: Mapping[str, AppSetPolicy] = field(default_factory=dict)  # the ApplicationSets in Git now


class Decision(StrEnum):
    """What to do with an Application that is no longer generated."""

    DELETE = "delete"  # cascade: hooks and resources, then the inventory
    PRESERVE = "preserve"  # drop the inventory, keep the resources
    KEEP = "keep"  # touch nothing


_NEVER_DELETE = {argo.ApplicationsSync.CREATE_ONLY.value, argo.ApplicationsSync.CREATE_UPDATE.value}


def removed(
    inventories: Mapping[str, Mapping[str, Any]], removal: Removal, *, present: Iterable[str]
) -> list[str]:
    """The Applications whose inventory is on the cluster but that this run no longer generates."""
    keep = set(removal.keep) | set(present)
    return sorted(name for name in inventories if name not in keep)


def decide(record: Record, removal: Removal) -> tuple[Decision, str]:
    """Argo CD's rules for an Application that is no longer generated (see the module docstring)."""
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


__all__ = [
    "AppSetPolicy",
    "Decision",
    "Record",
    "Removal",
    "decide",
    "delete_hooks",
    "differs",
    "has_resources_finalizer",
    "inventory_configmap",
    "read",
    "removed",
]
