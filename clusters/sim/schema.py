"""How lists merge: the one piece of schema that strategic merge patch and server-side apply need.

A real API server reads ``x-kubernetes-list-type`` / ``x-kubernetes-list-map-keys`` and the
``patchMergeKey`` tags from its OpenAPI schema. The simulator has no full schema, so built-in kinds
use the table below (the same keys the Go types declare) and custom resources read the markers
from their CRD's ``openAPIV3Schema``. Every other list is atomic: replaced as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ListType(StrEnum):
    """How a list merges (``x-kubernetes-list-type``)."""

    MAP = "map"  # items are merged by their key fields
    SET = "set"  # scalar items, merged as a set
    ATOMIC = "atomic"  # the list is replaced as a whole


@dataclass(frozen=True)
class ListInfo:
    type: ListType
    keys: tuple[str, ...] = ()

    @property
    def patch_key(self) -> str | None:
        """The strategic-merge-patch merge key (the Go ``patchMergeKey``: the first key)."""
        return self.keys[0] if self.keys else None


ATOMIC = ListInfo(ListType.ATOMIC)
SET = ListInfo(ListType.SET)
_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})
_BY_FIELD: dict[str, ListInfo] = {
    "containers": ListInfo(ListType.MAP, ("name",)),
    "initContainers": ListInfo(ListType.MAP, ("name",)),
    "ephemeralContainers": ListInfo(ListType.MAP, ("name",)),
    "env": ListInfo(ListType.MAP, ("name",)),
    "volumes": ListInfo(ListType.MAP, ("name",)),
    "volumeMounts": ListInfo(ListType.MAP, ("mountPath",)),
    "volumeDevices": ListInfo(ListType.MAP, ("devicePath",)),
    "imagePullSecrets": ListInfo(ListType.MAP, ("name",)),
    "hostAliases": ListInfo(ListType.MAP, ("ip",)),
    "resourceClaims": ListInfo(ListType.MAP, ("name",)),
    "topologySpreadConstraints": ListInfo(ListType.MAP, ("topologyKey", "whenUnsatisfiable")),
    "conditions": ListInfo(ListType.MAP, ("type",)),
    "ownerReferences": ListInfo(ListType.MAP, ("uid",)),
}
# Key fields the API server defaults before merging, so an item that omits them still matches.
KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}


def builtin_list_info(path: tuple[str, ...]) -> ListInfo:
    """List semantics for a built-in kind at ``path`` (field names from the root, no indices)."""
    name = path[-1]
    parent = path[-2] if len(path) > 1 else ""
    if name == "ports":
        if parent in _CONTAINER_LISTS:
            return ListInfo(ListType.MAP, ("containerPort", "protocol"))
        if path == ("spec", "ports"):
            return ListInfo(ListType.MAP, ("port", "protocol"))
        return ATOMIC
    if path == ("metadata", "finalizers"):
        return SET
    return _BY_FIELD.get(name, ATOMIC)


def _schema_at(schema: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any] | None:
    node: Mapping[str, Any] | None = schema
    for name in path:
        if node is None:
            return None
        while node is not None and node.get("type") == "array":
            node = node.get("items")
        if node is None:
            return None
        props = node.get("properties")
        if props and name in props:
            node = props[name]
        elif isinstance(node.get("additionalProperties"), Mapping):
            node = node["additionalProperties"]
        else:
            return None
    return node


class Lists:
    """List semantics for one kind: a callable from path to ``ListInfo``."""

    def __init__(self, *, custom: bool = False, schema: Mapping[str, Any] | None = None) -> None:
        self.custom = custom
        self.schema = schema or {}
        self._cache: dict[tuple[str, ...], ListInfo] = {}

    def __call__(self, path: tuple[str, ...]) -> ListInfo:
        info = self._cache.get(path)
        if info is None:
            info = self._compute(path)
            self._cache[path] = info
        return info

    def _compute(self, path: tuple[str, ...]) -> ListInfo:
        if not self.custom or path[:1] == ("metadata",):
            return builtin_list_info(path)
        node = _schema_at(self.schema, path)
        if not node:
            return ATOMIC
        kind = node.get("x-kubernetes-list-type")
        if kind == "map":
            return ListInfo(ListType.MAP, tuple(node.get("x-kubernetes-list-map-keys") or ()))
        if kind == "set":
            return SET
        return ATOMIC


BUILTIN = Lists()


def item_key(item: Any, keys: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The identity of an item of a map-typed list (key fields, defaulted), or None if it has none."""
    if not isinstance(item, Mapping):
        return None
    values = []
    for key in keys:
        value = item.get(key, KEY_DEFAULTS.get(key) if len(keys) > 1 else None)
        values.append(value)
    if all(v is None for v in values):
        return None
    return tuple(values)
