"""Inventory: what fleet applied for one Application on one cluster, as plain data.

Sits between apply and prune. After a sync, the inventory of the desired objects is written to the
cluster; at the next sync, ``diff(previous, current)`` gives the stale objects, which are pruned.
The shape follows Flux's kustomize-controller: an entry is an ID built from namespace, name, group
and kind, plus the API version it was applied with, and the operations are pure functions.

Where it is stored (decided here, both directions provided):

- **Primary record**: a ConfigMap per Application, ``fleet-system/inventory-<app>``
  (``to_configmap`` / ``from_configmap``), holding the entries as sorted JSON. Prune reads it to know
  exactly which kinds to look at, without listing every kind in the cluster.
- **Stamp on every applied object**: the label ``app.kubernetes.io/managed-by: fleet`` and the
  annotation ``fleet.gitops.io/tracking-id: <app>:<group>/<kind>:<namespace>/<name>`` (Argo CD's
  tracking-id format, under fleet's own key so an Argo CD instance never mistakes them for its own).
  ``stamp`` adds them; ``from_live`` rebuilds an inventory from labelled live objects when the
  ConfigMap is lost.

Safety rule: an object is only pruned when its live copy carries THIS Application's tracking id
(``is_owned_by``); anything fleet did not create, or another Application owns, is never touched.
The same annotation detects shared resources (FailOnSharedResource).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fleet import errors

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "fleet"
TRACKING_ANNOTATION = "fleet.gitops.io/tracking-id"
APP_LABEL = (
    "fleet.gitops.io/app"  # on the inventory ConfigMap only (app names may exceed label limits elsewhere)
)
INVENTORY_NAMESPACE = "fleet-system"
INVENTORY_PREFIX = "inventory-"
INVENTORY_DATA_KEY = "entries"
_MAX_NAME = 253


@dataclass(frozen=True, order=True, slots=True)
class ObjectRef:
    """The identity of a Kubernetes object, independent of its API version.

    ``namespace`` is '' for cluster-scoped objects; ``group`` is '' for the core group.
    """

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> ObjectRef:
        api_version = str(obj.get("apiVersion") or "")
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
        metadata = obj.get("metadata") or {}
        name = metadata.get("name") or metadata.get("generateName") or ""
        return cls(group, str(obj.get("kind") or ""), str(metadata.get("namespace") or ""), str(name))

    @property
    def id(self) -> str:
        """Flux's inventory ID form: ``<namespace>_<name>_<group>_<kind>``."""
        return f"{self.namespace}_{self.name}_{self.group}_{self.kind}"

    @classmethod
    def from_id(cls, text: str) -> ObjectRef:
        # Names, namespaces, groups and kinds never contain '_' (DNS names and identifiers).
        parts = text.split("_")
        if len(parts) != 4 or not parts[1] or not parts[3]:
            raise errors.InputError(f"invalid inventory id {text!r}: want <namespace>_<name>_<group>_<kind>")
        namespace, name, group, kind = parts
        return cls(group, kind, namespace, name)

    def __str__(self) -> str:
        gk = f"{self.group}/{self.kind}" if self.group else self.kind
        return f"{gk} {self.namespace}/{self.name}" if self.namespace else f"{gk} {self.name}"


@dataclass(frozen=True, order=True, slots=True)
class Entry:
    """One inventory line: the object and the API version (``v1``, ``v1beta1``) it was applied with."""

    ref: ObjectRef
    version: str

    @property
    def api_version(self) -> str:
        return f"{self.ref.group}/{self.version}" if self.ref.group else self.version


@dataclass(frozen=True, slots=True)
class Inventory:
    """A sorted, duplicate-free set of entries (one per ObjectRef)."""

    entries: tuple[Entry, ...] = ()

    def refs(self) -> frozenset[ObjectRef]:
        return frozenset(e.ref for e in self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, ref: object) -> bool:
        return any(e.ref == ref for e in self.entries)

    def get(self, ref: ObjectRef) -> Entry | None:
        for entry in self.entries:
            if entry.ref == ref:
                return entry
        return None


def new(entries: Iterable[Entry] = ()) -> Inventory:
    """An inventory of these entries; a later entry for the same object replaces an earlier one."""
    by_ref: dict[ObjectRef, Entry] = {}
    for entry in entries:
        by_ref[entry.ref] = entry
    return Inventory(tuple(sorted(by_ref.values())))


def entry_of(obj: Mapping[str, Any]) -> Entry:
    api_version = str(obj.get("apiVersion") or "")
    return Entry(ObjectRef.from_object(obj), api_version.rsplit("/", 1)[-1])


def from_objects(objs: Iterable[Mapping[str, Any]]) -> Inventory:
    """The inventory of the objects a sync applies (hooks excluded by the caller: they are not pruned)."""
    return new(entry_of(obj) for obj in objs)


def diff(previous: Inventory, current: Inventory) -> list[Entry]:
    """Stale entries: in ``previous`` but not in ``current`` (compared by ObjectRef, not version)."""
    keep = current.refs()
    return [entry for entry in previous.entries if entry.ref not in keep]


def merge(base: Inventory, extra: Inventory | Iterable[Entry]) -> Inventory:
    """Union of two inventories; ``extra`` wins where both list an object."""
    more = extra.entries if isinstance(extra, Inventory) else tuple(extra)
    return new((*base.entries, *more))


def remove(inv: Inventory, refs: Iterable[ObjectRef]) -> Inventory:
    gone = set(refs)
    return Inventory(tuple(e for e in inv.entries if e.ref not in gone))


def after_prune(current: Inventory, stale: Iterable[Entry], *, not_deleted: Iterable[ObjectRef]) -> Inventory:
    """The inventory to record once prune ran.

    Objects whose delete was rejected (or skipped) stay listed: otherwise fleet would forget them and
    they would be orphaned for good, never retried by a later prune. Flux's kustomize-controller
    keeps them for the same reason (its prune cites issue #1664).
    """
    kept = set(not_deleted)
    return merge(current, [entry for entry in stale if entry.ref in kept])


# --- storage: the inventory ConfigMap ---------------------------------------------------------


def configmap_name(app: str) -> str:
    """``inventory-<app>``, shortened with a hash when the name would exceed 253 characters."""
    name = f"{INVENTORY_PREFIX}{app}"
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(app.encode()).hexdigest()[:10]
    return f"{name[: _MAX_NAME - 11]}-{digest}"


def to_configmap(app: str, inv: Inventory, *, namespace: str = INVENTORY_NAMESPACE) -> dict[str, Any]:
    """The ConfigMap that records ``inv`` for Application ``app`` (apply it server-side)."""
    entries = [{"id": e.ref.id, "v": e.version} for e in inv.entries]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": configmap_name(app),
            "namespace": namespace,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE},
            "annotations": {APP_LABEL: app},
        },
        "data": {INVENTORY_DATA_KEY: json.dumps(entries, separators=(",", ":"), sort_keys=True)},
    }


def from_configmap(obj: Mapping[str, Any] | None) -> Inventory:
    """Read an inventory ConfigMap (``None``, e.g. first sync: an empty inventory)."""
    if obj is None:
        return Inventory()
    name = (obj.get("metadata") or {}).get("name", "?")
    raw = (obj.get("data") or {}).get(INVENTORY_DATA_KEY, "[]")
    try:
        items = json.loads(raw)
        return new(Entry(ObjectRef.from_id(item["id"]), str(item["v"])) for item in items)
    except (ValueError, TypeError, KeyError) as exc:
        raise errors.InputError(
            f"corrupt inventory: {exc}", obj=f"ConfigMap {name}", field=f"data.{INVENTORY_DATA_KEY}"
        ) from exc


# --- the stamp on every applied object --------------------------------------------------------


def tracking_id(app: str, ref: ObjectRef) -> str:
    """``<app>:<group>/<kind>:<namespace>/<name>`` (Argo CD's annotation tracking format)."""
    return f"{app}:{ref.group}/{ref.kind}:{ref.namespace}/{ref.name}"


def parse_tracking_id(text: str) -> tuple[str, ObjectRef] | None:
    """The (app, ref) in a tracking id, or None when it is not one."""
    try:
        app, gk, nsname = text.rsplit(":", 2)
        group, kind = gk.split("/", 1)
        namespace, name = nsname.split("/", 1)
    except ValueError:
        return None
    if not app or not kind or not name:
        return None
    return app, ObjectRef(group, kind, namespace, name)


def stamp(obj: Mapping[str, Any], app: str) -> dict[str, Any]:
    """A copy of ``obj`` carrying fleet's managed-by label and this Application's tracking id.

    Only ``metadata`` is copied; the rest is shared with the input (manifests are treated as
    immutable everywhere in the sync engine).
    """
    out = dict(obj)
    metadata = dict(obj.get("metadata") or {})
    labels = dict(metadata.get("labels") or {})
    annotations = dict(metadata.get("annotations") or {})
    labels[MANAGED_BY_LABEL] = MANAGED_BY_VALUE
    annotations[TRACKING_ANNOTATION] = tracking_id(app, ObjectRef.from_object(obj))
    metadata["labels"] = labels
    metadata["annotations"] = annotations
    out["metadata"] = metadata
    return out


def owner_of(live: Mapping[str, Any]) -> str | None:
    """The Application a live object belongs to, per its tracking id (None: not fleet's)."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    parsed = parse_tracking_id(str(annotations.get(TRACKING_ANNOTATION) or ""))
    if parsed is None:
        return None
    app, ref = parsed
    # A tracking id copied onto another object (kubectl get -o yaml | edit | apply) does not count.
    actual = ObjectRef.from_object(live)
    if (ref.group, ref.kind, ref.name) != (actual.group, actual.kind, actual.name) or ref.namespace not in (
        actual.namespace,
        "",
    ):
        return None
    return app


def is_owned_by(live: Mapping[str, Any], app: str) -> bool:
    """Whether prune may delete ``live`` on behalf of ``app``."""
    return owner_of(live) == app


def shared_with(live: Mapping[str, Any] | None, app: str) -> str | None:
    """The other Application that owns ``live`` (None when it is free or already ``app``'s)."""
    if live is None:
        return None
    owner = owner_of(live)
    return owner if owner is not None and owner != app else None


def from_live(objs: Iterable[Mapping[str, Any]], app: str) -> Inventory:
    """Rebuild an inventory from live objects that carry ``app``'s tracking id (lost ConfigMap)."""
    return from_objects(obj for obj in objs if is_owned_by(obj, app))
