"""Server-side apply and ``metadata.managedFields``: who owns which field of an object.

Runs inside every write. An Apply (``PATCH`` with ``application/apply-patch+yaml``) merges the
manager's applied configuration into the live object, removes the fields the manager applied
last time and no longer applies (unless another manager also owns them), and answers 409 when it
would change a field another manager owns, unless ``force`` is set, which takes the field over.
Every other write (create, PUT, merge/JSON/strategic patch) records the fields it changed under an
``Update`` entry of its manager and takes them away from everyone else, as the API server does.

Field sets are Python sets of paths in the ``fieldsV1`` notation (``f:spec``, ``k:{"name":"app"}``,
``v:"x"``), the model of structured-merge-diff, which has no Python implementation.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any, cast

from fleet.clusters.sim import schema, status

Path = tuple[str, ...]
FieldSet = set[Path]

# Fields the API server sets itself; no manager owns them.
_IGNORED_META = frozenset(
    {
        "f:name",
        "f:namespace",
        "f:uid",
        "f:resourceVersion",
        "f:generation",
        "f:creationTimestamp",
        "f:managedFields",
        "f:deletionTimestamp",
        "f:deletionGracePeriodSeconds",
        "f:selfLink",
        "f:generateName",
    }
)
_IGNORED_TOP = frozenset({"f:apiVersion", "f:kind"})


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


@functools.lru_cache(maxsize=4096)
def _parse_key(element: str) -> Any:
    return json.loads(element[2:])


def _key_element(item: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    ident = schema.item_key(item, keys)
    if ident is None:
        return None
    return "k:" + _dumps({k: v for k, v in zip(keys, ident, strict=True) if v is not None})


def fieldset(obj: Mapping[str, Any] | None, lists: schema.Lists, *, scope: str) -> FieldSet:
    """Every field path an object sets, within ``scope``: ``"main"`` (all but status),
    ``"all"``, or ``"status"`` (only status)."""
    out: FieldSet = set()
    if not obj:
        return out
    for key, value in obj.items():
        element = "f:" + key
        if element in _IGNORED_TOP:
            continue
        if scope == "status" and key != "status":
            continue
        if scope == "main" and key == "status":
            continue
        if key == "metadata" and isinstance(value, Mapping):
            for mkey, mvalue in value.items():
                melement = "f:" + mkey
                if melement in _IGNORED_META:
                    continue
                _walk(mvalue, (element, melement), ("metadata", mkey), lists, out)
            continue
        _walk(value, (element,), (key,), lists, out)
    return out


def _walk(value: Any, path: Path, names: tuple[str, ...], lists: schema.Lists, out: FieldSet) -> None:
    if isinstance(value, Mapping):
        if not value:
            out.add(path)
            return
        for key, sub in value.items():
            _walk(sub, path + ("f:" + key,), names + (key,), lists, out)
        return
    if isinstance(value, list):
        info = lists(names)
        if info.type is schema.ListType.MAP and value:
            elements = [_key_element(item, info.keys) for item in value]
            if all(elements):
                for item, element in zip(value, cast(list[str], elements), strict=True):
                    item_path = path + (element,)
                    out.add(item_path)
                    for key, sub in item.items():
                        _walk(sub, item_path + ("f:" + key,), names + (key,), lists, out)
                return
        if info.type is schema.ListType.SET and value:
            for item in value:
                out.add(path + ("v:" + _dumps(item),))
            return
    out.add(path)


# -- navigation -------------------------------------------------------------------------------

_MISSING = object()


def _find_item(items: list[Any], element: str) -> int | None:
    wanted = _parse_key(element)
    if element.startswith("v:"):
        for i, item in enumerate(items):
            if item == wanted:
                return i
        return None
    for i, item in enumerate(items):
        if isinstance(item, Mapping) and all(
            item.get(k, schema.KEY_DEFAULTS.get(k)) == v for k, v in wanted.items()
        ):
            return i
    return None


def get_at(obj: Any, path: Path) -> Any:
    node = obj
    for element in path:
        if element.startswith("f:"):
            if not isinstance(node, Mapping):
                return _MISSING
            node = node.get(element[2:], _MISSING)
        else:
            if not isinstance(node, list):
                return _MISSING
            index = _find_item(node, element)
            if index is None:
                return _MISSING
            node = node[index]
        if node is _MISSING:
            return _MISSING
    return node


def _same_leaf(a: Any, b: Any) -> bool:
    """Values at a path compare equal for ownership (maps and list items: presence is enough)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping) and a and b:
        return True
    return a == b


def remove_at(obj: Any, path: Path) -> bool:
    parents: list[tuple[Any, str]] = []
    node = obj
    for element in path[:-1]:
        parents.append((node, element))
        node = get_at(node, (element,))
        if node is _MISSING:
            return False
    last = path[-1]
    if last.startswith("f:"):
        if not isinstance(node, dict) or last[2:] not in node:
            return False
        del node[last[2:]]
    else:
        if not isinstance(node, list):
            return False
        index = _find_item(node, last)
        if index is None:
            return False
        del node[index]
    return True


def _prune_empty(obj: Any, path: Path, owned: FieldSet) -> None:
    """After a removal, drop maps it left empty, unless someone owns them as they are."""
    for depth in range(len(path) - 1, 0, -1):
        prefix = path[:depth]
        if not prefix[-1].startswith("f:") or prefix in owned:
            return
        value = get_at(obj, prefix)
        if value is _MISSING or value not in ({}, []):
            return
        remove_at(obj, prefix)


def path_text(path: Path) -> str:
    out = []
    for element in path:
        if element.startswith("f:"):
            out.append("." + element[2:])
        elif element.startswith("k:"):
            out.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in _parse_key(element).items()) + "]")
        else:
            out.append(f"[{element[2:]}]")
    return "".join(out)


# -- fieldsV1 encoding ------------------------------------------------------------------------


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    members = sorted(paths)
    for path in members:
        node = root
        for element in path:
            node = node.setdefault(element, {})
    for path in members:
        node = root
        for element in path:
            node = node[element]
        if node and "." not in node:
            node["."] = {}
    return root


def from_fields_v1(fields: Mapping[str, Any] | None) -> FieldSet:
    out: FieldSet = set()

    def walk(node: Mapping[str, Any], path: Path) -> None:
        if not node:
            if path:
                out.add(path)
            return
        for element, sub in node.items():
            if element == ".":
                out.add(path)
                continue
            walk(sub or {}, path + (element,))

    walk(fields or {}, ())
    return out


class Entry:
    """One ``managedFields`` entry, with its field set decoded."""

    __slots__ = ("api_version", "changed", "fields", "manager", "operation", "subresource", "time")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.manager = str(raw.get("manager", ""))
        self.operation = str(raw.get("operation", "Update"))
        self.api_version = str(raw.get("apiVersion", ""))
        self.time = raw.get("time")
        self.subresource = str(raw.get("subresource", ""))
        self.fields = from_fields_v1(raw.get("fieldsV1"))
        self.changed = False

    def same(self, manager: str, operation: str, subresource: str) -> bool:
        return (self.manager, self.operation, self.subresource) == (manager, operation, subresource)

    def raw(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
        }
        if self.time:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = to_fields_v1(self.fields)
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def _entries(obj: Mapping[str, Any] | None) -> list[Entry]:
    raw = ((obj or {}).get("metadata") or {}).get("managedFields") or []
    return [Entry(e) for e in raw if isinstance(e, Mapping)]


def _entry_for(
    entries: list[Entry], manager: str, operation: str, subresource: str, api_version: str
) -> Entry:
    for entry in entries:
        if entry.same(manager, operation, subresource):
            return entry
    entry = Entry(
        {"manager": manager, "operation": operation, "apiVersion": api_version, "subresource": subresource}
    )
    entries.append(entry)
    return entry


def _store(obj: dict[str, Any], entries: list[Entry], previous: list[dict[str, Any]], now: str) -> None:
    kept = []
    for entry, before in zip(entries, previous + [None] * (len(entries) - len(previous)), strict=True):
        if not entry.fields:
            continue
        raw = entry.raw()
        if before is not None and not entry.changed:
            raw = before  # untouched entries keep their exact bytes (and time)
        elif entry.changed:
            raw["time"] = now
        kept.append(raw)
    meta = obj.setdefault("metadata", {})
    if kept:
        meta["managedFields"] = kept
    else:
        meta.pop("managedFields", None)


# -- server-side apply --------------------------------------------------------------------------


def _merge(live: Any, applied: Any, names: tuple[str, ...], lists: schema.Lists) -> Any:
    if isinstance(applied, Mapping):
        result = dict(live) if isinstance(live, Mapping) else {}
        for key, value in applied.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = _merge(result.get(key, _MISSING), value, names + (key,), lists)
        return result
    if isinstance(applied, list) and isinstance(live, list):
        info = lists(names)
        if info.type is schema.ListType.SET:
            out = list(live)
            out.extend(v for v in applied if v not in out)
            return out
        if info.type is schema.ListType.MAP:
            ids = [schema.item_key(item, info.keys) for item in applied]
            if all(i is not None for i in ids):
                out = list(live)
                for item, ident in zip(applied, ids, strict=True):
                    index = next(
                        (n for n, old in enumerate(out) if schema.item_key(old, info.keys) == ident), None
                    )
                    if index is None:
                        out.append(_merge(_MISSING, item, names, lists))
                    else:
                        out[index] = _merge(out[index], item, names, lists)
                return out
    return copy.deepcopy(applied)


def _scope(subresource: str, has_status: bool) -> str:
    if subresource == "status":
        return "status"
    return "main" if has_status else "all"


def server_side_apply(
    live: dict[str, Any] | None,
    applied: Mapping[str, Any],
    *,
    manager: str,
    force: bool,
    lists: schema.Lists,
    api_version: str,
    now: str,
    subresource: str = "",
    has_status: bool = False,
    what: tuple[str, str, str] = ("", "", ""),
) -> dict[str, Any]:
    """The object after ``manager`` applies ``applied`` to ``live`` (None: it does not exist yet).

    Raises a 409 ``ApiError`` listing the conflicting managers and fields when ``force`` is off.
    ``what`` is (plural, group, name) for error messages.
    """
    scope = _scope(subresource, has_status)
    applied = {k: v for k, v in applied.items() if not (scope == "main" and k == "status")}
    if scope == "status":
        applied = {k: v for k, v in applied.items() if k in ("apiVersion", "kind", "metadata", "status")}
        applied["metadata"] = {
            k: v for k, v in (applied.get("metadata") or {}).items() if k in ("name", "namespace")
        }
    applied_set = fieldset(applied, lists, scope=scope)
    base: dict[str, Any] = json.loads(json.dumps(live)) if live is not None else {}
    entries = _entries(live)
    previous = list((base.get("metadata") or {}).get("managedFields") or [])
    mine = _entry_for(entries, manager, "Apply", subresource, api_version)

    conflicts: dict[str, list[Path]] = {}
    for entry in entries:
        if entry is mine:
            continue
        for path in applied_set & entry.fields:
            if not _same_leaf(get_at(base, path), get_at(applied, path)):
                conflicts.setdefault(entry.manager, []).append(path)
    if conflicts and not force:
        raise _conflict_error(conflicts, entries, what)
    if conflicts:
        for entry in entries:
            lost = set(conflicts.get(entry.manager, ())) & entry.fields
            if lost and entry is not mine:
                entry.fields -= lost
                entry.changed = True

    others: FieldSet = set()
    for entry in entries:
        if entry is not mine:
            others |= entry.fields
    # Parents first: a removed list item takes its fields with it, unless another manager owns
    # something inside it (then only this manager's fields in it go).
    removed = sorted(mine.fields - applied_set - others, key=len)
    kept = others | applied_set
    gone: list[Path] = []
    for path in removed:
        if any(path[: len(g)] == g for g in gone):
            continue
        if path[-1][:2] in ("k:", "v:") and any(p[: len(path)] == path for p in kept):
            continue
        if remove_at(base, path):
            gone.append(path)
            _prune_empty(base, path, kept)

    merged = _merge(base, applied, (), lists)
    if mine.fields != applied_set or mine.api_version != api_version:
        mine.fields = applied_set
        mine.api_version = api_version
        mine.changed = True
    _store(merged, entries, previous, now)
    return merged


def _conflict_error(
    conflicts: Mapping[str, list[Path]], entries: list[Entry], what: tuple[str, str, str]
) -> status.ApiError:
    versions = {e.manager: e.api_version for e in entries}
    total = sum(len(p) for p in conflicts.values())
    lines = []
    causes = []
    for manager, paths in conflicts.items():
        for path in sorted(paths):
            lines.append((manager, path_text(path)))
            causes.append(
                {
                    "reason": "FieldManagerConflict",
                    "message": f'conflict with "{manager}" using {versions.get(manager, "")}',
                    "field": path_text(path),
                }
            )
    if total == 1:
        manager, field = lines[0]
        text = f'Apply failed with 1 conflict: conflict with "{manager}" using {versions.get(manager, "")}: {field}'
    else:
        parts = []
        for manager in conflicts:
            fields = "\n".join(f"- {f}" for m, f in lines if m == manager)
            parts.append(f'conflicts with "{manager}" using {versions.get(manager, "")}:\n{fields}')
        text = f"Apply failed with {total} conflicts: " + "\n".join(parts)
    plural, group, name = what
    return status.ApiError(
        409,
        status.StatusReason.CONFLICT,
        text,
        details={"name": name, "group": group, "kind": plural, "causes": causes},
    )


# -- Update operations ------------------------------------------------------------------------------


def track_update(
    old: Mapping[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    lists: schema.Lists,
    api_version: str,
    now: str,
    subresource: str = "",
    has_status: bool = False,
) -> None:
    """Record in ``new``'s managedFields that ``manager`` changed what differs from ``old``."""
    scope = _scope(subresource, has_status)
    entries = _entries(old)
    previous = list(((old or {}).get("metadata") or {}).get("managedFields") or [])
    new_set = fieldset(new, lists, scope=scope)
    if old is None:
        changed, removed = new_set, set()
    else:
        old_set = fieldset(old, lists, scope=scope)
        removed = old_set - new_set
        changed = {p for p in new_set if p not in old_set or not _same_leaf(get_at(old, p), get_at(new, p))}
    for entry in entries:
        lost = entry.fields & (
            removed | (changed if not entry.same(manager, "Update", subresource) else set())
        )
        if lost:
            entry.fields -= lost
            entry.changed = True
    if changed:
        mine = _entry_for(entries, manager, "Update", subresource, api_version)
        mine.fields |= changed
        mine.api_version = api_version
        mine.changed = True
    _store(new, entries, previous, now)
