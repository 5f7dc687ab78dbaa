"""The three classic patch types: JSON merge patch, JSON patch and strategic merge patch.

Each takes the stored object and the patch body and returns a new object; the caller then runs
it through the same write path as a PUT. JSON patch comes from the ``jsonpatch`` library; JSON
merge patch (RFC 7386) is ten lines and has no maintained library; strategic merge patch is
Kubernetes-specific (no Python implementation exists), driven by ``schema.Lists``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jsonpatch

from fleet.clusters.sim import schema, status


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: Mapping[str, Any], operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list):
        raise status.bad_request("json patch must be a JSON array of operations")
    try:
        return jsonpatch.JsonPatch(operations).apply(target)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as exc:
        raise status.ApiError(
            422,
            status.StatusReason.INVALID,
            f"the server rejected our request due to an error in our request: {exc}",
        ) from None


_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def strategic_merge(
    target: Mapping[str, Any], patch: Mapping[str, Any], lists: schema.Lists
) -> dict[str, Any]:
    """Apply a strategic merge patch (the directives kubectl emits: ``$patch``, ``$retainKeys``,
    ``$setElementOrder/``, ``$deleteFromPrimitiveList/``)."""
    if not isinstance(patch, Mapping):
        raise status.bad_request("strategic merge patch must be a JSON object")
    return _merge_map(dict(target), patch, (), lists)


def _merge_map(
    target: dict[str, Any], patch: Mapping[str, Any], path: tuple[str, ...], lists: schema.Lists
) -> dict[str, Any]:
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return {}
    result = dict(target)
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith(_SET_ORDER):
            orders[key[len(_SET_ORDER) :]] = list(value or [])
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            drop = list(value or [])
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in drop]
            continue
        if value is None:
            result.pop(key, None)
            continue
        current = result.get(key)
        sub = path + (key,)
        if isinstance(value, Mapping):
            if isinstance(current, Mapping):
                merged = _merge_map(dict(current), value, sub, lists)
                if value.get("$patch") == "delete":
                    result.pop(key, None)
                    continue
                result[key] = merged
            else:
                result[key] = _strip(value)
        elif isinstance(value, list):
            result[key] = _merge_list(current if isinstance(current, list) else [], value, sub, lists)
        else:
            result[key] = value
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        keep = set(retain)
        result = {k: v for k, v in result.items() if k in keep}
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _reorder(result[field], order, lists(path + (field,)))
    return result


def _strip(value: Any) -> Any:
    """A patch value inserted where nothing was: drop directives, keep the data."""
    if isinstance(value, Mapping):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip(v) for v in value if not (isinstance(v, Mapping) and v.get("$patch") == "delete")]
    return value


def _merge_list(
    current: list[Any], patch: list[Any], path: tuple[str, ...], lists: schema.Lists
) -> list[Any]:
    info = lists(path)
    if any(isinstance(item, Mapping) and item.get("$patch") == "replace" for item in patch):
        return [_strip(item) for item in patch if not (isinstance(item, Mapping) and "$patch" in item)]
    if info.type is schema.ListType.SET:
        out = list(current)
        out.extend(item for item in patch if item not in out)
        return out
    if info.type is not schema.ListType.MAP or not info.patch_key:
        return [_strip(item) for item in patch]
    key = info.patch_key
    out = [copy.deepcopy(item) for item in current]
    for item in patch:
        if not isinstance(item, Mapping):
            continue
        ident = item.get(key)
        index = next(
            (i for i, old in enumerate(out) if isinstance(old, Mapping) and old.get(key) == ident), None
        )
        if item.get("$patch") == "delete":
            out = [old for old in out if not (isinstance(old, Mapping) and old.get(key) == ident)]
        elif index is None:
            out.append(_strip(item))
        else:
            out[index] = _merge_map(dict(out[index]), item, path, lists)
    return out


def _reorder(items: list[Any], order: list[Any], info: schema.ListInfo) -> list[Any]:
    """``$setElementOrder``: put the listed items first, in that order; others keep theirs."""
    key = info.patch_key

    def ident(item: Any) -> Any:
        return item.get(key) if key and isinstance(item, Mapping) else item

    wanted = [ident(o) for o in order]
    ranked = {value: i for i, value in enumerate(wanted) if not isinstance(value, (dict, list))}
    listed = [item for item in items if not isinstance(ident(item), (dict, list)) and ident(item) in ranked]
    listed.sort(key=lambda item: ranked[ident(item)])
    rest = [item for item in items if item not in listed]
    return listed + rest
