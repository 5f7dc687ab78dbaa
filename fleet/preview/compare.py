"""Compare one Application's rendering at base and at head: which objects are added, removed or
changed (a masked unified diff each), what the next sync prunes, and the AppProject violations
at head.

Phase 3 of ``fleet plan`` (``fleet.preview.run``), over the driver's rendered ``AppWork`` of each
side. Pure: no cluster, no git. Every text it makes is masked:

- a Secret's ``data``/``stringData`` values never show, only whether a key was added, changed or
  removed (``***``, ``*** (changed)``), as in ``fleet diff``;
- a SOPS-encrypted object is decrypted in memory when a key is at hand, and diffed by its
  structure with every encrypted value masked the same way; without a key, only its keys are
  compared (a note says so), and its ``sops`` metadata (MAC, dates) is never shown;
- the text then passes through ``fleet.redact.mask`` (every secret value this process has
  decrypted or resolved).

A fleet of 500 clusters renders the same objects again and again: an object pair is compared
once (``Comparer`` keeps each pair's result by digest), and so is each SOPS document decrypted.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from fleet import diff, errors, inventory, kyaml, models, projects, reconcile, redact, results, waves
from fleet.preview import model

MASK = diff.MASK
MASK_CHANGED = diff.MASK_CHANGED
SOPS_NO_KEY = "SOPS-encrypted and no key here decrypts it: only its keys are compared, not its values"
_ENCRYPTED_PREFIX = "ENC["

Path = tuple[str | int, ...]
Objects = dict[inventory.ObjectRef, dict[str, Any]]


@dataclass(frozen=True)
class Compared:
    """One Application's change, before grouping: everything its group is made of."""

    change: model.ChangeKind
    objects: tuple[model.ObjectChange, ...] = ()
    violations: tuple[str, ...] = ()
    message: str = ""
    deletion: results.Deletion | None = None

    def digest(self) -> str:
        """The group id: equal for the same change on any cluster (the diff text, prunes,
        violations and failure; the Application's name is not part of it)."""
        text = json.dumps(
            {
                "change": self.change.value,
                "objects": [o.model_dump(mode="json") for o in self.objects],
                "violations": list(self.violations),
                "message": self.message,
                "deletion": self.deletion.value if self.deletion else "",
            },
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]


# --- objects as the plan shows them ----------------------------------------------------------------


def _objects(work: reconcile.AppWork | None) -> Objects:
    """An Application's rendered objects by identity, as the API server would store their
    compared fields (namespace defaulted, Secret ``stringData`` folded into ``data``)."""
    if work is None:
        return {}
    out: Objects = {}
    for raw, obj in zip(work.manifests, waves.default_namespace(work.manifests, work.namespace), strict=True):
        # A SOPS document stays as written: its MAC covers every value, so it is normalised only
        # once decrypted (``Comparer._object_change``).
        out[inventory.ObjectRef.from_object(obj)] = (
            dict(raw) if _is_sops(raw) else diff.normalize_desired(obj)
        )
    return out


def _is_sops(obj: Mapping[str, Any]) -> bool:
    meta = obj.get("sops")
    return isinstance(meta, Mapping) and ("mac" in meta or "lastmodified" in meta)


def _encrypted_paths(value: Any, path: Path = ()) -> list[Path]:
    """Where a SOPS document holds encrypted values (``ENC[...]`` leaves)."""
    if isinstance(value, Mapping):
        return [
            p for key, item in value.items() if key != "sops" for p in _encrypted_paths(item, (*path, key))
        ]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _encrypted_paths(item, (*path, index))]
    if isinstance(value, str) and value.startswith(_ENCRYPTED_PREFIX):
        return [path]
    return []


def _has(obj: Any, path: Path) -> bool:
    node = obj
    for part in path:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
    return True


def _get(obj: Any, path: Path) -> Any:
    node = obj
    for part in path:
        node = node[part]
    return node


def _set(obj: Any, path: Path, value: Any) -> None:
    node = obj
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _secret_paths(*objs: Mapping[str, Any] | None) -> list[Path]:
    paths: set[Path] = set()
    for obj in objs:
        if obj is None or obj.get("kind") != "Secret" or "/" in str(obj.get("apiVersion") or ""):
            continue
        for section in ("data", "stringData"):
            if isinstance(obj.get(section), Mapping):
                paths.update((section, key) for key in obj[section])
    return sorted(paths, key=str)


def _dump(obj: Mapping[str, Any] | None) -> list[str]:
    if obj is None:
        return []
    text = yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True)
    return text.splitlines(keepends=True)


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter is ~10x faster


class Comparer:
    """Compares Applications, keeping what repeats across clusters: each object pair's result
    and each decrypted SOPS document, by digest. One per plan (it holds decrypted values in
    memory only, for as long as the plan runs)."""

    def __init__(self) -> None:
        self._pairs: dict[str, model.ObjectChange | None] = {}
        self._decrypted: dict[str, tuple[dict[str, Any] | None, str]] = {}

    # -- SOPS ------------------------------------------------------------------------------------

    def _open(self, obj: dict[str, Any], ref: inventory.ObjectRef) -> tuple[dict[str, Any] | None, str]:
        """A SOPS document decrypted in memory, or None and why not. The values it holds are
        registered with ``fleet.redact`` by the SOPS layer as it decrypts them."""
        text = json.dumps(obj, indent=2)  # in its own order: the MAC covers the order of the values
        digest = hashlib.sha256(text.encode()).hexdigest()
        if digest not in self._decrypted:
            from fleet.secrets import sops

            try:
                plain = kyaml.yaml_or_json(
                    sops.decrypt_if_encrypted(text, path=f"{ref}.json"), where=str(ref)
                )
                found: tuple[dict[str, Any] | None, str] = (
                    (dict(plain), "")
                    if isinstance(plain, Mapping) and not _is_sops(plain)
                    else (None, SOPS_NO_KEY)
                )
            except errors.FleetError as exc:
                found = (None, f"{SOPS_NO_KEY} ({type(exc).__name__})")
            except Exception as exc:  # noqa: BLE001 - a SOPS failure names no value; any is "keys only"
                found = (None, f"{SOPS_NO_KEY} ({type(exc).__name__})")
            self._decrypted[digest] = found
        return self._decrypted[digest]

    # -- one object ------------------------------------------------------------------------------

    def object_change(
        self, ref: inventory.ObjectRef, base: dict[str, Any] | None, head: dict[str, Any] | None
    ) -> model.ObjectChange | None:
        """How one object differs between base and head (None: it does not)."""
        if base == head:
            return None
        key = hashlib.sha256(
            json.dumps([str(ref), base, head], sort_keys=True, default=str).encode()
        ).hexdigest()
        if key not in self._pairs:
            self._pairs[key] = self._object_change(ref, base, head)
        return self._pairs[key]

    def _object_change(
        self, ref: inventory.ObjectRef, base: dict[str, Any] | None, head: dict[str, Any] | None
    ) -> model.ObjectChange | None:
        shown = [copy.deepcopy(obj) if obj is not None else None for obj in (base, head)]
        masked: list[Path] = []
        comparable = True
        note = ""
        for index, obj in enumerate(shown):
            if obj is None or not _is_sops(obj):
                continue
            paths = _encrypted_paths(obj)
            plain, why = self._open(obj, ref)
            if plain is None:
                comparable, note = False, why
                plain = {k: v for k, v in obj.items() if k != "sops"}
            else:
                plain = diff.normalize_desired(plain)
            if ref.namespace:
                plain["metadata"] = {**(plain.get("metadata") or {}), "namespace": ref.namespace}
            shown[index] = plain
            masked.extend(paths)
        masked.extend(_secret_paths(*shown))
        before, after = shown
        for path in dict.fromkeys(masked):  # in order, once each
            in_before, in_after = _has(before, path), _has(after, path)
            same = comparable and in_before and in_after and _get(before, path) == _get(after, path)
            if in_before:
                _set(before, path, MASK)
            if in_after:
                _set(after, path, MASK if same or not comparable else MASK_CHANGED)
        kind = (
            model.ObjectChangeKind.ADDED
            if base is None
            else model.ObjectChangeKind.REMOVED
            if head is None
            else model.ObjectChangeKind.CHANGED
        )
        if kind is model.ObjectChangeKind.CHANGED and before == after and comparable:
            return None  # re-encrypted, or the same values: nothing a sync would change
        lines = difflib.unified_diff(
            _dump(before), _dump(after), fromfile=f"base {ref}", tofile=f"head {ref}"
        )
        return model.ObjectChange(ref=str(ref), change=kind, diff=redact.mask("".join(lines)), note=note)

    # -- one Application -------------------------------------------------------------------------

    def compare(
        self,
        base: reconcile.AppWork | None,
        head: reconcile.AppWork | None,
        *,
        cluster: models.Cluster,
        head_failure: str = "",
        refusal: str = "",
        unsure_at_head: bool = False,
        prune: bool = False,
    ) -> Compared:
        """One Application on one cluster.

        Parameters:
            base, head: its rendering on each side (None: not generated there).
            head_failure: why it failed at head on the driver (RenderFailed, SourceFailed, ...).
            refusal: its AppProject refuses its sources or destination at head.
            unsure_at_head: it is not generated validly at head (a generation error names it).
            prune: ``--prune``: removed objects are pruned whatever the sync policy says.
        """
        either = head or base
        name = either.name if either is not None else ""
        # The same refusal on every cluster is one change: its text names the cluster (issue 13).
        for word in (cluster.server, cluster.name):
            refusal = refusal.replace(word, "<cluster>") if word else refusal
        if head is None and base is not None:
            if refusal:
                return Compared(model.ChangeKind.FAILED, violations=(refusal,))
            if unsure_at_head:
                return Compared(
                    model.ChangeKind.FAILED,
                    message="not generated validly at head: see the generation errors",
                )
            return self._removed(base)
        if head is None:
            raise ValueError("an Application of neither side")
        if head_failure:
            # Nothing rendered at head: its objects are unknown, not removed (nothing is pruned).
            message = redact.mask(head_failure).replace(name, "<app>") if name else redact.mask(head_failure)
            return Compared(
                model.ChangeKind.FAILED, violations=tuple(filter(None, [refusal])), message=message
            )
        before, after = _objects(base), _objects(head)
        changes: list[model.ObjectChange] = []
        for ref in sorted(set(before) | set(after), key=str):
            found = self.object_change(ref, before.get(ref), after.get(ref))
            if found is None:
                continue
            if found.change is model.ObjectChangeKind.REMOVED and base is not None:
                found = found.model_copy(update={"prune": _prune_action(before[ref], head, prune)})
            changes.append(found)
        violations = list(filter(None, [refusal]))
        if head.project_rules is not None:
            violations.extend(
                projects.denied_objects(
                    head.project_rules,
                    after.values(),
                    cluster_scoped=waves.CLUSTER_SCOPED_KINDS,
                    server=cluster.server,
                    name=cluster.name,
                )
            )
        if violations:
            kind = model.ChangeKind.FAILED
        elif base is None:
            kind = model.ChangeKind.ADDED
        else:
            kind = model.ChangeKind.CHANGED if changes else model.ChangeKind.UNCHANGED
        return Compared(kind, tuple(changes), tuple(violations))

    def _removed(self, base: reconcile.AppWork) -> Compared:
        """An Application no longer generated: the next full sync deletes it (its ApplicationSet's
        policy and its finalizer decide what happens to its resources, as ``fleet.lifecycle`` does)."""
        if base.applications_sync in ("create-only", "create-update"):
            deletion = results.Deletion.KEPT
        elif base.cascade:
            deletion = results.Deletion.WOULD_DELETE
        else:
            deletion = results.Deletion.WOULD_PRESERVE
        objects = _objects(base)
        changes = [self.object_change(ref, objects[ref], None) for ref in sorted(objects, key=str)]
        return Compared(
            model.ChangeKind.REMOVED, tuple(c for c in changes if c is not None), deletion=deletion
        )


def _prune_action(obj: Mapping[str, Any], head: reconcile.AppWork, prune: bool) -> model.PruneAction | None:
    """What the next sync does with an object head no longer renders (hooks are never pruned)."""
    if waves.is_hook(obj):
        return None
    try:
        if waves.object_options(obj).prune is False:
            return model.PruneAction.KEEP
        policy = waves.parse_sync_policy(head.sync_policy)
    except errors.InputError:
        policy = waves.SyncPolicy()  # an invalid policy fails the sync itself; it prunes nothing
    if prune or (policy.automated and policy.prune):
        return model.PruneAction.PRUNE
    return model.PruneAction.REQUIRES_PRUNING


__all__ = ["MASK", "MASK_CHANGED", "SOPS_NO_KEY", "Compared", "Comparer"]
