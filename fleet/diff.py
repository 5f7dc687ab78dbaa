"""Diff: is a live object what Git asks for, and if not, what differs (secrets always masked).

Sits between rendering (plus secret resolution) and the sync plan: the orchestrator diffs every
desired object against its live copy (from one LIST per kind), feeds the refs that differ to
``waves.plan_sync`` (ApplyOutOfSyncOnly, drift detection, selfHeal) and shows the result in
``fleet diff`` and the status report.

Comparison rules, chosen so that "in sync" means "a server-side apply would change nothing":

- **Desired is a subset of live.** Only fields present in the desired object are compared;
  server-defaulted fields, ``status``, ``metadata.managedFields``/``uid``/``resourceVersion``/...
  and anything other managers added exist only in live and are ignored. Lists of objects with a
  merge key (``name``, ``containerPort``, ...) are matched by key, so an item another manager
  added (an injected sidecar) is not drift; other lists are compared whole (SSA replaces them).
- **Normalisation where cheap**: a desired ``null`` is absent; Secret ``stringData`` is folded into
  ``data`` (base64), as the API server does; numbers and Kubernetes quantities compare by value
  (``cpu: 0.5`` equals ``500m``, ``1`` equals ``"1"``). Normalisation runs only on values that
  differ, so an unchanged object costs a walk with early ``==`` exits.
- **ignoreDifferences** (Argo CD's ``spec.ignoreDifferences``): per group/kind[/name/namespace],
  ``jsonPointers``, ``jqPathExpressions`` (``del(expr)`` with the ``jq`` package) and
  ``managedFieldsManagers`` (fields those managers own per the live ``managedFields``,
  ``fieldsV1`` format: ``f:`` fields, ``k:`` keyed items, ``v:`` set values, ``i:`` indexes) are
  removed from both sides before comparing. ``respect_ignore_differences`` copies those live values
  into the desired object before apply (``RespectIgnoreDifferences=true``).
- **Masking**: values under a Secret's ``data``/``stringData`` are never shown, only whether a key
  was added, changed or removed (``*** (changed)``); so is any value at a path the secret layer
  reports (``secret_paths``). The text then passes through ``fleet.redact.mask``.
"""

from __future__ import annotations

import base64
import difflib
import functools
import json
import re
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import jq
import jsonpointer
import yaml

from fleet import errors, inventory, redact

MASK = redact.MASK
MASK_CHANGED = f"{MASK} (changed)"

# Fields of metadata the server owns; dropped from the desired side (renderers emit some, e.g.
# ``creationTimestamp: null``) and never compared.
SERVER_METADATA = frozenset(
    {
        "managedFields",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)
# Keys that identify items of a list of objects, tried in order (Kubernetes' patchMergeKeys).
MERGE_KEYS = ("name", "containerPort", "port", "mountPath", "devicePath", "ip", "topologyKey", "type")

Path = tuple[str | int, ...]


class DiffKind(StrEnum):
    """The verdict of comparing one desired object with its live copy."""

    UNCHANGED = "Unchanged"  # live already matches desired
    MODIFIED = "Modified"  # both exist and some desired field differs
    MISSING = "Missing"  # desired, but not in the cluster (will be created)
    EXTRA = "Extra"  # in the cluster (and inventory), but no longer desired (requires pruning)


class ChangeOp(StrEnum):
    """What happened at one path, seen from live towards desired."""

    ADD = "add"  # desired sets a field live lacks
    CHANGE = "change"  # both have the field with different values
    REMOVE = "remove"  # live has an item desired lacks (whole-list comparisons, extra objects)


@dataclass(frozen=True, slots=True)
class Change:
    op: ChangeOp
    path: str  # dotted, with [key=value] for keyed list items: spec.template.spec.containers[name=app].image


@dataclass(frozen=True, slots=True)
class DiffResult:
    """The comparison of one object: verdict, changed paths and a masked unified diff."""

    ref: inventory.ObjectRef
    kind: DiffKind
    changes: tuple[Change, ...] = ()
    text: str = ""

    @property
    def in_sync(self) -> bool:
        return self.kind is DiffKind.UNCHANGED

    def paths(self, op: ChangeOp) -> list[str]:
        return [c.path for c in self.changes if c.op is op]


# --- ignoreDifferences ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """One ``spec.ignoreDifferences`` entry (empty name/namespace match any; group '' is core)."""

    kind: str
    group: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()

    def matches(self, ref: inventory.ObjectRef) -> bool:
        return (
            (self.kind == "*" or self.kind == ref.kind)
            and (self.group == "*" or self.group == ref.group)
            and (not self.name or self.name == ref.name)
            and (not self.namespace or self.namespace == ref.namespace)
        )


def parse_ignore_differences(
    spec: Sequence[Mapping[str, Any]] | None, *, source: str = "spec.ignoreDifferences"
) -> tuple[IgnoreRule, ...]:
    """Parse Argo CD's ``ignoreDifferences`` list; bad pointers or jq are InputErrors naming the field."""
    rules = []
    for index, entry in enumerate(spec or ()):
        where = f"{source}[{index}]"
        if not isinstance(entry, Mapping) or not entry.get("kind"):
            raise errors.InputError("each entry needs a kind", field=where)
        pointers = tuple(str(p) for p in entry.get("jsonPointers") or ())
        for pointer in pointers:
            try:
                jsonpointer.JsonPointer(pointer)
            except jsonpointer.JsonPointerException as exc:
                raise errors.InputError(
                    f"invalid JSON pointer {pointer!r}: {exc}", field=f"{where}.jsonPointers"
                ) from exc
        expressions = tuple(str(e) for e in entry.get("jqPathExpressions") or ())
        for expression in expressions:
            try:
                _compile(f"del({expression})")
            except ValueError as exc:
                raise errors.InputError(
                    f"invalid jq expression {expression!r}: {exc}", field=f"{where}.jqPathExpressions"
                ) from exc
        rules.append(
            IgnoreRule(
                kind=str(entry["kind"]),
                group=str(entry.get("group") or ""),
                name=str(entry.get("name") or ""),
                namespace=str(entry.get("namespace") or ""),
                json_pointers=pointers,
                jq_path_expressions=expressions,
                managed_fields_managers=tuple(str(m) for m in entry.get("managedFieldsManagers") or ()),
            )
        )
    return tuple(rules)


@functools.lru_cache(maxsize=512)
def _compile(program: str) -> Any:
    return jq.compile(program)


def _pointer_path(obj: Any, pointer: str) -> Path | None:
    """The concrete path of a JSON pointer in ``obj`` (list indices as ints), or None if absent."""
    parts: list[str | int] = []
    node = obj
    for part in jsonpointer.JsonPointer(pointer).parts:
        if isinstance(node, Mapping) and part in node:
            parts.append(part)
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            parts.append(int(part))
            node = node[int(part)]
        else:
            return None
    return tuple(parts)


def _jq_paths(obj: Any, expression: str) -> list[Path]:
    try:
        found = _compile(f"[path({expression})]").input_value(obj).first()
    except ValueError:
        return []  # the expression does not apply to this object (iterating null, ...): ignore nothing
    return [tuple(p) for p in found or ()]


# --- managedFields (fieldsV1) -----------------------------------------------------------------


def managed_paths(
    live: Mapping[str, Any] | None, managers: Iterable[str]
) -> list[tuple[tuple[str, Any], ...]]:
    """Symbolic paths owned by ``managers`` in live ``metadata.managedFields`` (fieldsV1).

    Each step is ("f", name), ("k", {keys}), ("v", value) or ("i", index). A list item whose node
    has "." is owned whole; for fields only leaves are taken (a manager owning ``f:labels`` "."
    owns the map's existence, not the other managers' labels).
    """
    wanted = set(managers)
    out: list[tuple[tuple[str, Any], ...]] = []
    for entry in ((live or {}).get("metadata") or {}).get("managedFields") or ():
        if entry.get("manager") in wanted and isinstance(entry.get("fieldsV1"), Mapping):
            _walk_fields(entry["fieldsV1"], (), out)
    return out


def _walk_fields(node: Mapping[str, Any], prefix: tuple[tuple[str, Any], ...], out: list) -> None:
    for key, child in node.items():
        if key == ".":
            continue
        kind, _, raw = key.partition(":")
        if kind == "f":
            step: tuple[str, Any] = ("f", raw)
        elif kind in ("k", "v"):
            step = (kind, json.loads(raw))
        elif kind == "i":
            step = ("i", int(raw))
        else:
            continue
        path = (*prefix, step)
        children = {k: v for k, v in (child or {}).items() if k != "."} if isinstance(child, Mapping) else {}
        whole_item = kind in ("k", "v", "i") and isinstance(child, Mapping) and "." in child
        if not children or whole_item:
            out.append(path)
        else:
            _walk_fields(children, path, out)


def _resolve_managed(obj: Any, symbolic: tuple[tuple[str, Any], ...]) -> Path | None:
    parts: list[str | int] = []
    node = obj
    for kind, value in symbolic:
        if kind == "f":
            if not isinstance(node, Mapping) or value not in node:
                return None
            parts.append(value)
            node = node[value]
            continue
        if not isinstance(node, list):
            return None
        if kind == "i":
            index = value if value < len(node) else None
        elif kind == "v":
            index = next((i for i, item in enumerate(node) if item == value), None)
        else:
            index = next(
                (
                    i
                    for i, item in enumerate(node)
                    if isinstance(item, Mapping)
                    and all(_same_scalar(item.get(k), v) for k, v in value.items())
                ),
                None,
            )
        if index is None:
            return None
        parts.append(index)
        node = node[index]
    return tuple(parts)


# --- path editing -----------------------------------------------------------------------------


def _copy_along(obj: Any, path: Path) -> Any:
    """A copy of ``obj`` where every container on ``path`` is new (the rest is shared)."""
    root = _shallow(obj)
    node = root
    for part in path[:-1]:
        child = _shallow(node[part])
        node[part] = child
        node = child
    return root


def _shallow(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


def _get(obj: Any, path: Path) -> Any:
    for part in path:
        obj = obj[part]
    return obj


def _delete_paths(obj: Any, paths: Iterable[Path]) -> Any:
    # Deepest paths and highest list indices first, so a deletion never shifts a later one.
    order = sorted(
        set(paths), key=lambda p: [(0, x) if isinstance(x, str) else (1, x) for x in p], reverse=True
    )
    for path in order:
        if not path:
            continue
        try:
            parent = _get(obj, path[:-1])
        except (KeyError, IndexError, TypeError):
            continue
        last = path[-1]
        present = (isinstance(parent, Mapping) and last in parent) or (
            isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent)
        )
        if present:
            obj = _copy_along(obj, path)
            del _get(obj, path[:-1])[last]
    return obj


def _set_path(obj: Any, path: Path, value: Any) -> Any:
    """Set ``value`` at ``path``, creating maps on the way; list items must exist."""
    if not path:
        return value
    root = _shallow(obj)
    node = root
    for part in path[:-1]:
        if isinstance(node, Mapping):
            child = _shallow(node.get(part)) if isinstance(node.get(part), (Mapping, list)) else {}
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            child = _shallow(node[part])
        else:
            return obj  # no such list item in desired: leave desired unchanged
        node[part] = child
        node = child
    last = path[-1]
    if isinstance(node, MutableMapping):  # _shallow copies are dicts
        node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = value
    return root


def _ignored_paths(obj: Any, rules: Sequence[IgnoreRule], managed: list) -> list[Path]:
    paths: list[Path] = []
    for rule in rules:
        for pointer in rule.json_pointers:
            found = _pointer_path(obj, pointer)
            if found is not None:
                paths.append(found)
        for expression in rule.jq_path_expressions:
            paths.extend(_jq_paths(obj, expression))
    for symbolic in managed:
        found = _resolve_managed(obj, symbolic)
        if found is not None:
            paths.append(found)
    return paths


def rules_for(rules: Sequence[IgnoreRule], ref: inventory.ObjectRef) -> tuple[IgnoreRule, ...]:
    return tuple(rule for rule in rules if rule.matches(ref))


def apply_ignore_differences(
    desired: Mapping[str, Any] | None, live: Mapping[str, Any] | None, rules: Sequence[IgnoreRule]
) -> tuple[Any, Any]:
    """Both objects with every ignored path removed (copies; inputs are untouched)."""
    if not rules:
        return desired, live
    managers = [m for rule in rules for m in rule.managed_fields_managers]
    managed = managed_paths(live, managers) if managers else []
    out = []
    for obj in (desired, live):
        out.append(None if obj is None else _delete_paths(obj, _ignored_paths(obj, rules, managed)))
    return out[0], out[1]


def respect_ignore_differences(
    desired: Mapping[str, Any], live: Mapping[str, Any] | None, rules: Sequence[IgnoreRule]
) -> dict[str, Any]:
    """``RespectIgnoreDifferences=true``: the desired object with ignored fields taken from live.

    Where live has a value at an ignored path, desired gets it; where live has none, the field is
    dropped from desired. The applied object then leaves those fields as they are in the cluster.
    """
    if live is None or not rules:
        return dict(desired)
    managers = [m for rule in rules for m in rule.managed_fields_managers]
    managed = managed_paths(live, managers) if managers else []
    result: Any = dict(desired)
    live_paths = _ignored_paths(live, rules, managed)
    for path in live_paths:
        result = _set_path(result, path, _get(live, path))
    extra = [p for p in _ignored_paths(result, rules, managed) if not _has_path(live, p)]
    return _delete_paths(result, extra)


def _has_path(obj: Any, path: Path) -> bool:
    try:
        _get(obj, path)
        return True
    except (KeyError, IndexError, TypeError):
        return False


# --- normalisation and comparison -------------------------------------------------------------


def is_secret(ref: inventory.ObjectRef) -> bool:
    return ref.group == "" and ref.kind == "Secret"


def normalize_desired(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The desired object as the API server would store it, for the fields fleet compares."""
    out = {k: v for k, v in obj.items() if k != "status"}
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping) and SERVER_METADATA.intersection(metadata):
        out["metadata"] = {k: v for k, v in metadata.items() if k not in SERVER_METADATA}
    if obj.get("kind") == "Secret" and str(obj.get("apiVersion")) == "v1" and obj.get("stringData"):
        data = dict(obj.get("data") or {})
        for key, value in (obj.get("stringData") or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        out["data"] = data
        out.pop("stringData", None)
    return out


_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIX = {
    None: Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(1024),
    "Mi": Decimal(1024**2),
    "Gi": Decimal(1024**3),
    "Ti": Decimal(1024**4),
    "Pi": Decimal(1024**5),
    "Ei": Decimal(1024**6),
}


def _quantity(value: Any) -> Decimal | None:
    # Written by hand: parsing a Kubernetes quantity is a dozen lines; no small library covers it.
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if match is None:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2)]
    except InvalidOperation:
        return None


def _same_scalar(desired: Any, live: Any) -> bool:
    if desired == live and type(desired) is type(live):
        return True
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired == live and isinstance(desired, bool) and isinstance(live, bool)
    if isinstance(desired, (str, int, float)) and isinstance(live, (str, int, float)):
        left, right = _quantity(desired), _quantity(live)
        return left is not None and left == right
    return False


def _merge_key(items: list[Any]) -> str | None:
    if not items or not all(isinstance(item, Mapping) for item in items):
        return None
    for key in MERGE_KEYS:
        if all(key in item for item in items):
            return key
    return None


def _fmt(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("["):
            out += part
        else:
            out += f".{part}" if out else part
    return out


def _is_empty(value: Any) -> bool:
    return value is None or value == {} or value == []


def _compare(desired: Any, live: Any, path: Path, out: list[Change]) -> None:
    """Record how ``live`` differs from ``desired``, looking only at what desired sets."""
    if desired is live:
        return
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            out.append(Change(ChangeOp.ADD if live is None else ChangeOp.CHANGE, _fmt(path)))
            return
        for key, value in desired.items():
            if value is None:
                continue  # null in an apply means "not set"
            if key in live:
                other = live[key]
                if value is not other and value != other:
                    _compare(value, other, (*path, key), out)
            elif not _is_empty(value):
                out.append(Change(ChangeOp.ADD, _fmt((*path, key))))
        return
    if isinstance(desired, list):
        if not isinstance(live, list):
            if not (desired == [] and live is None):
                out.append(Change(ChangeOp.ADD if live is None else ChangeOp.CHANGE, _fmt(path)))
            return
        key = _merge_key(desired)
        if key is not None and _merge_key(live) == key:
            index = {item[key]: item for item in live}
            for item in desired:
                step = f"[{key}={item[key]}]"
                if item[key] in index:
                    other = index[item[key]]
                    if item != other:
                        _compare(item, other, (*path, step), out)
                else:
                    out.append(Change(ChangeOp.ADD, _fmt((*path, step))))
            return
        for position, item in enumerate(desired):
            if position < len(live):
                if item != live[position]:
                    _compare(item, live[position], (*path, position), out)
            else:
                out.append(Change(ChangeOp.ADD, _fmt((*path, position))))
        for position in range(len(desired), len(live)):
            out.append(Change(ChangeOp.REMOVE, _fmt((*path, position))))
        return
    if not _same_scalar(desired, live):
        out.append(Change(ChangeOp.ADD if live is None else ChangeOp.CHANGE, _fmt(path)))


def _project(desired: Any, live: Any) -> Any:
    """The part of ``live`` that desired talks about (for a readable diff text).

    Equivalent scalars (``0.5`` / ``500m``) show desired's spelling, and keyed list items only live
    has are left out: neither counts as a difference, so neither may show up as one.
    """
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        return {k: _project(v, live[k]) for k, v in desired.items() if k in live}
    if isinstance(desired, list) and isinstance(live, list):
        key = _merge_key(desired)
        if key is not None and _merge_key(live) == key:
            index = {item[key]: item for item in live}
            return [_project(item, index[item[key]]) for item in desired if item[key] in index]
        return [_project(d, have) for d, have in zip(desired, live, strict=False)] + live[len(desired) :]
    if not isinstance(desired, (Mapping, list)) and _same_scalar(desired, live):
        return desired
    return live


# --- masking ----------------------------------------------------------------------------------


def _mask_pair(desired: Any, live: Any, paths: Iterable[Path]) -> tuple[Any, Any]:
    """Replace the values at ``paths`` on both sides: equal -> ``***``, differing -> ``*** (changed)``."""
    for path in paths:
        have_d, have_l = _has_path(desired, path), _has_path(live, path)
        if not have_d and not have_l:
            continue
        value_d = _get(desired, path) if have_d else None
        value_l = _get(live, path) if have_l else None
        if have_d:
            desired = _set_path(desired, path, MASK if (have_l and value_d == value_l) else MASK_CHANGED)
        if have_l:
            live = _set_path(live, path, MASK)
    return desired, live


def _secret_value_paths(desired: Any, live: Any) -> list[Path]:
    paths: list[Path] = []
    for section in ("data", "stringData"):
        keys: set[str] = set()
        for obj in (desired, live):
            if isinstance(obj, Mapping) and isinstance(obj.get(section), Mapping):
                keys.update(obj[section])
        paths.extend((section, key) for key in sorted(keys))
    return paths


def _parse_secret_path(path: str | Sequence[str | int]) -> Path:
    if isinstance(path, str):
        if path.startswith("/"):
            return tuple(int(p) if p.isdigit() else p for p in jsonpointer.JsonPointer(path).parts)
        return tuple(int(p) if p.isdigit() else p for p in path.split("."))
    return tuple(path)


def _dump(obj: Any) -> list[str]:
    if obj is None:
        return []
    return yaml.dump(
        obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True
    ).splitlines(keepends=True)


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter is ~10x faster


# --- the entry points -------------------------------------------------------------------------


def diff(
    desired: Mapping[str, Any] | None,
    live: Mapping[str, Any] | None,
    *,
    ignore: Sequence[IgnoreRule] = (),
    secret_paths: Iterable[str | Sequence[str | int]] = (),
    text: bool = True,
) -> DiffResult:
    """Compare one desired object with its live copy (either may be None, not both).

    Parameters:
        ignore: the Application's ignore rules (``parse_ignore_differences``); only those that
            match this object's group/kind/name/namespace are used.
        secret_paths: paths whose values must never be shown (JSON pointers ``/data/token``,
            dotted ``spec.password`` or tuples), besides Secret ``data``/``stringData``.
        text: build the unified diff text (skip it when only the verdict is needed).
    """
    source = desired if desired is not None else live
    if source is None:
        raise ValueError("diff needs a desired or a live object")
    ref = inventory.ObjectRef.from_object(source)
    rules = rules_for(ignore, ref)
    want = normalize_desired(desired) if desired is not None else None
    have = live
    if rules:
        want, have = apply_ignore_differences(want, have, rules)

    changes: tuple[Change, ...]
    if want is None:
        kind, changes = DiffKind.EXTRA, (Change(ChangeOp.REMOVE, ""),)
    elif have is None:
        kind, changes = DiffKind.MISSING, (Change(ChangeOp.ADD, ""),)
    else:
        found: list[Change] = []
        if want != have:
            _compare(want, have, (), found)
        kind = DiffKind.MODIFIED if found else DiffKind.UNCHANGED
        changes = tuple(found)
    if kind is DiffKind.UNCHANGED or not text:
        return DiffResult(ref, kind, changes)

    shown_live = _project(want, have) if want is not None and have is not None else have
    if shown_live is not None and want is not None:
        shown_live = dict(shown_live)
    masked_paths = [_parse_secret_path(p) for p in secret_paths]
    if is_secret(ref):
        masked_paths.extend(_secret_value_paths(want, shown_live))
    shown_want = want
    if masked_paths:
        shown_want, shown_live = _mask_pair(
            want if want is not None else {}, shown_live if shown_live is not None else {}, masked_paths
        )
        shown_want = shown_want if want is not None else None
        shown_live = shown_live if have is not None else None
    lines = difflib.unified_diff(
        _dump(shown_live), _dump(shown_want), fromfile=f"live {ref}", tofile=f"desired {ref}"
    )
    return DiffResult(ref, kind, changes, redact.mask("".join(lines)))


@dataclass(frozen=True, slots=True)
class AppDiff:
    """The diff of a whole Application on one cluster."""

    results: tuple[DiffResult, ...] = field(default_factory=tuple)

    @property
    def in_sync(self) -> bool:
        return all(r.in_sync for r in self.results)

    def out_of_sync(self) -> list[inventory.ObjectRef]:
        return [r.ref for r in self.results if not r.in_sync]

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.results if r.text)


def diff_all(
    desired: Iterable[Mapping[str, Any]],
    live: Mapping[inventory.ObjectRef, Mapping[str, Any]],
    *,
    extra: Iterable[inventory.ObjectRef] = (),
    ignore: Sequence[IgnoreRule] = (),
    secret_paths: Mapping[inventory.ObjectRef, Iterable[str | Sequence[str | int]]] | None = None,
    text: bool = True,
) -> AppDiff:
    """Diff every desired object against ``live`` (by ref), plus ``extra`` refs (stale, to prune)."""
    results = []
    secret_paths = secret_paths or {}
    for obj in desired:
        ref = inventory.ObjectRef.from_object(obj)
        results.append(
            diff(obj, live.get(ref), ignore=ignore, secret_paths=secret_paths.get(ref, ()), text=text)
        )
    for ref in extra:
        if ref in live:
            results.append(
                diff(None, live[ref], ignore=ignore, secret_paths=secret_paths.get(ref, ()), text=text)
            )
    return AppDiff(tuple(results))
