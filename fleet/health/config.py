"""Configured health checks: Argo CD's Lua scripts and Flux's CEL expressions, in one order.

Where it sits: the driver (``fleet sync``/``fleet diff``) and ``fleet health`` build a
``HealthConfig`` from the flags and the fleet's ``fleet.yaml``; it is frozen plain data (scripts
and expressions as text), carried to every cluster's worker in the run's settings, where
``fleet.health.check(obj, config=...)`` asks it first. Only the entries that can match a kind the
run applies travel (``for_kinds``), so a whole Argo CD ``resource_customizations`` checkout
costs the workers nothing.

Which check decides an object's health, first match wins (``Source`` names each step):

1. Lua from an ``argocd-cm`` ConfigMap for exactly this group/kind, then a wildcard key
   (Argo CD: a ConfigMap script overrides every other check for that kind);
2. a CEL ``healthCheckExprs`` entry for this kind, then one for the whole group;
3. a Python check registered in the process (``fleet.health.custom``: ``register``, entry
   points, jq rules files);
4. Lua from a ``resource_customizations`` directory, exact ``group/kind`` then ``_`` wildcards
   (these are Argo CD's bundled scripts, so anything configured explicitly wins over them);
5. fleet's built-in check for the kind (Deployment, Job, ...);
6. the generic check (``status.conditions`` / ``status.phase``).

Within one kind of source, a later file wins over an earlier one for the same key, and flags win
over ``fleet.yaml``.

The fleet-level file is ``fleet.yaml`` at the fleet repository's root::

    apiVersion: fleet.gitops/v1
    kind: FleetConfig
    health:
      resourceCustomizations: [argo-cd/resource_customizations]   # directories, repo-relative
      argocdConfigMaps: [argocd/argocd-cm.yaml]                    # files holding argocd-cm
      healthCheckExprsFiles: [flux/apps.yaml]                      # Flux Kustomizations or lists
      healthCheckExprs:                                            # entries written inline
        - apiVersion: cert-manager.io/v1
          kind: Certificate
          current: status.conditions.exists(e, e.type == 'Ready' && e.status == 'True')

Every path in it is resolved inside the repository (``fleet.gitsource``); one leading outside is
bad input.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from fleet import errors, gitsource, health, kyaml
from fleet.health import cel, lua

FLEET_CONFIG_FILE = "fleet.yaml"
FLEET_CONFIG_API_VERSION = "fleet.gitops/v1"
FLEET_CONFIG_KIND = "FleetConfig"


class Source(StrEnum):
    """Which check decided an object's health, in the order they are tried (see the module docstring)."""

    ARGOCD_CM = "argocd-cm"  # a Lua script of an argocd-cm ConfigMap for exactly this group/kind
    ARGOCD_CM_WILDCARD = "argocd-cm-wildcard"  # an argocd-cm script whose key is a glob matching it
    CEL = "cel"  # a healthCheckExprs entry naming this kind
    CEL_GROUP = "cel-group"  # a healthCheckExprs entry for every kind of the group
    PYTHON = "python"  # a check registered in the process (fleet.health.custom)
    CUSTOMIZATIONS = "resource-customizations"  # group/kind/health.lua of a resource_customizations tree
    CUSTOMIZATIONS_WILDCARD = "resource-customizations-wildcard"  # a `_` wildcard directory of that tree
    BUILT_IN = "built-in"  # fleet's own check for the kind
    GENERIC = "generic"  # conditions / phase, for every other kind


@dataclass(frozen=True, slots=True)
class HealthConfig:
    """The configured checks of a run, in precedence order within each kind of source."""

    overrides: tuple[lua.Override, ...] = ()  # argocd-cm: exact keys and globs, later files first
    cel_checks: tuple[cel.CelCheck, ...] = ()
    customizations: tuple[lua.Customization, ...] = ()  # exact paths first, then wildcards sorted

    def __bool__(self) -> bool:
        return bool(self.overrides or self.cel_checks or self.customizations)

    def before_python(self, group: str, kind: str) -> tuple[Source, health.HealthCheck] | None:
        """The Lua (argocd-cm) or CEL check that decides before any Python check, if any."""
        key = lua.group_kind_key(group, kind)
        for override in self.overrides:
            if override.key == key:
                return Source.ARGOCD_CM, override.check
        for override in self.overrides:
            if override.wildcard and override.matches(key):
                return Source.ARGOCD_CM_WILDCARD, override.check
        for check in self.cel_checks:
            if check.kind and check.matches(group, kind):
                return Source.CEL, check
        for check in self.cel_checks:
            if not check.kind and check.matches(group, kind):
                return Source.CEL_GROUP, check
        return None

    def after_python(self, group: str, kind: str) -> tuple[Source, health.HealthCheck] | None:
        """The ``resource_customizations`` script for the kind, if any (tried after Python checks)."""
        key = lua.group_kind_key(group, kind)
        for item in self.customizations:
            if item.matches(key):
                return (
                    Source.CUSTOMIZATIONS_WILDCARD if item.wildcard else Source.CUSTOMIZATIONS
                ), item.check
        return None

    def for_kinds(self, kinds: Iterable[tuple[str, str]]) -> HealthConfig:
        """Only the entries that can decide one of ``kinds`` (what a run ships to its workers)."""
        keys = {(group, kind, lua.group_kind_key(group, kind)) for group, kind in kinds}
        return HealthConfig(
            overrides=tuple(o for o in self.overrides if any(o.matches(k) for _, _, k in keys)),
            cel_checks=tuple(c for c in self.cel_checks if any(c.matches(g, k) for g, k, _ in keys)),
            customizations=tuple(c for c in self.customizations if any(c.matches(k) for _, _, k in keys)),
        )

    def over(self, base: HealthConfig) -> HealthConfig:
        """This configuration's entries winning over ``base``'s for the same key."""
        return HealthConfig(
            overrides=_merge(base.overrides, self.overrides, key=lambda o: o.key, order=_override_order),
            cel_checks=_merge(base.cel_checks, self.cel_checks, key=lambda c: (c.group, c.kind), order=None),
            customizations=_merge(
                base.customizations, self.customizations, key=lambda c: c.path, order=_path_order
            ),
        )


def _override_order(item: lua.Override) -> tuple[bool, str]:
    return item.wildcard, item.key


def _path_order(item: lua.Customization) -> tuple[bool, str]:
    return item.wildcard, item.path


def _merge(base: Sequence[Any], top: Sequence[Any], *, key: Any, order: Any) -> tuple[Any, ...]:
    merged: dict[Any, Any] = {key(item): item for item in base}
    for item in top:
        merged.pop(key(item), None)
        merged[key(item)] = item
    values = list(merged.values())
    return tuple(sorted(values, key=order)) if order is not None else tuple(values)


# --- reading the sources ---------------------------------------------------------------------------


def _documents(data: bytes, *, file: str) -> list[Any]:
    try:
        return [doc for doc in kyaml.load_all(data) if doc is not None]
    except yaml.YAMLError as exc:  # not chained: the parser's message would quote the input
        raise errors.InputError(f"is not valid YAML or JSON: {kyaml.error_text(exc)}", file=file) from None


def argocd_cm_from_bytes(data: bytes, *, file: str) -> tuple[lua.Override, ...]:
    """The health scripts of the ConfigMaps in a file (usually one ``argocd-cm``)."""
    maps = [d for d in _documents(data, file=file) if isinstance(d, Mapping) and d.get("kind") == "ConfigMap"]
    if not maps:
        raise errors.InputError("holds no ConfigMap (expected Argo CD's argocd-cm)", file=file)
    found: tuple[lua.Override, ...] = ()
    for doc in maps:
        payload = doc.get("data") or {}
        if not isinstance(payload, Mapping):
            raise errors.InputError("must be a mapping", file=file, obj="ConfigMap argocd-cm", field="data")
        found = (
            HealthConfig(overrides=lua.overrides_from_configmap(payload, file=file))
            .over(HealthConfig(overrides=found))
            .overrides
        )
    return found


def cel_from_bytes(data: bytes, *, file: str) -> tuple[cel.CelCheck, ...]:
    """``healthCheckExprs`` from a file of Flux Kustomizations or bare entry lists."""
    return cel.checks_from_documents(_documents(data, file=file), file=file)


def customizations_from_source(
    source: gitsource.Source, under: str, *, label: str
) -> tuple[lua.Customization, ...]:
    """The ``health.lua`` scripts of a ``resource_customizations`` tree at ``under`` in ``source``."""
    prefix = under.strip("/")
    if prefix and prefix not in source.list_all_dirs():
        raise errors.InputError(f"{under!r} is not a directory of the repository", file=label)
    files = []
    for rel in source.list_files():
        inner = rel[len(prefix) + 1 :] if prefix else rel
        if prefix and not rel.startswith(prefix + "/"):
            continue
        if inner.rpartition("/")[2] != lua.HEALTH_SCRIPT:
            continue
        try:
            files.append((inner, source.read_text(rel)))
        except gitsource.RepoError as exc:
            raise errors.InputError(str(exc), file=f"{label}/{inner}") from exc
    return lua.customizations_from_files(files, root=label)


def from_paths(
    *,
    resource_customizations: Sequence[str | Path] = (),
    argocd_cms: Sequence[str | Path] = (),
    health_exprs: Sequence[str | Path] = (),
) -> HealthConfig:
    """The configuration the flags name (local paths); later paths win over earlier ones."""
    config = HealthConfig()
    for directory in resource_customizations:
        label = str(directory)
        if not Path(directory).is_dir():
            raise errors.InputError("is not a directory", file=label, field="--resource-customizations")
        try:
            source = gitsource.WorkTreeSource(directory, url=label)
        except gitsource.RepoError as exc:
            raise errors.InputError(str(exc), file=label) from exc
        config = HealthConfig(
            customizations=customizations_from_source(source, "", label=label.rstrip("/"))
        ).over(config)
    for file in argocd_cms:
        config = HealthConfig(
            overrides=argocd_cm_from_bytes(_read(file, "--argocd-cm"), file=str(file))
        ).over(config)
    for file in health_exprs:
        config = HealthConfig(cel_checks=cel_from_bytes(_read(file, "--health-exprs"), file=str(file))).over(
            config
        )
    return config


def _read(path: str | Path, flag: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise errors.InputError(f"cannot be read: {exc.strerror}", file=str(path), field=flag) from exc


def from_fleet(source: gitsource.Source) -> HealthConfig:
    """The ``health`` section of the fleet's ``fleet.yaml`` (an empty configuration without one)."""
    if FLEET_CONFIG_FILE not in source.list_files():
        return HealthConfig()
    label = f"{source.describe()}:{FLEET_CONFIG_FILE}"
    docs = _documents(source.read(FLEET_CONFIG_FILE), file=label)
    if len(docs) != 1 or not isinstance(docs[0], Mapping):
        raise errors.InputError("must hold one FleetConfig object", file=label)
    doc = docs[0]
    if doc.get("apiVersion") != FLEET_CONFIG_API_VERSION or doc.get("kind") != FLEET_CONFIG_KIND:
        raise errors.InputError(
            f"must be apiVersion {FLEET_CONFIG_API_VERSION}, kind {FLEET_CONFIG_KIND}",
            file=label,
            field="kind",
        )
    section = doc.get("health") or {}
    if not isinstance(section, Mapping):
        raise errors.InputError("must be a mapping", file=label, field="health")
    known = {"resourceCustomizations", "argocdConfigMaps", "healthCheckExprs", "healthCheckExprsFiles"}
    unknown = sorted(set(section) - known)
    if unknown:
        raise errors.InputError(
            f"unknown field (known: {', '.join(sorted(known))})", file=label, field=f"health.{unknown[0]}"
        )

    def paths(field: str) -> list[str]:
        value = section.get(field) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise errors.InputError("must be a list of repository paths", file=label, field=f"health.{field}")
        return value

    config = HealthConfig()
    for under in paths("resourceCustomizations"):
        where = f"{source.describe()}:{under.strip('/')}"
        try:
            found = customizations_from_source(
                source, _inside(under, source, label, "resourceCustomizations"), label=where
            )
        except gitsource.RepoError as exc:
            raise errors.InputError(str(exc), file=label, field="health.resourceCustomizations") from exc
        config = HealthConfig(customizations=found).over(config)
    for rel in paths("argocdConfigMaps"):
        data = _read_inside(source, rel, label, "argocdConfigMaps")
        config = HealthConfig(overrides=argocd_cm_from_bytes(data, file=f"{source.describe()}:{rel}")).over(
            config
        )
    cel_checks: list[cel.CelCheck] = []
    for rel in paths("healthCheckExprsFiles"):
        data = _read_inside(source, rel, label, "healthCheckExprsFiles")
        cel_checks.extend(cel_from_bytes(data, file=f"{source.describe()}:{rel}"))
    inline = section.get("healthCheckExprs") or []
    if not isinstance(inline, list):
        raise errors.InputError("must be a list", file=label, field="health.healthCheckExprs")
    cel_checks.extend(cel.checks_from_entries(inline, file=label, where="health.healthCheckExprs"))
    seen: set[tuple[str, str]] = set()
    for check in cel_checks:
        if (check.group, check.kind) in seen:
            raise errors.InputError(
                f"two health checks for {check.group}/{check.kind or '*'} ({check.origin})",
                file=label,
                field="health.healthCheckExprs",
            )
        seen.add((check.group, check.kind))
    return dataclasses.replace(config, cel_checks=tuple(cel_checks))


def _inside(path: str, source: gitsource.Source, label: str, field: str) -> str:
    """A repository-relative path, refused when it leads outside the repository."""
    clean = Path(path)
    if clean.is_absolute() or ".." in clean.parts:
        raise errors.InputError(f"{path!r} leads outside the repository", file=label, field=f"health.{field}")
    if isinstance(source, gitsource.WorkTreeSource):
        full = (source.root / path).resolve()
        if not full.is_relative_to(source.root):
            raise errors.InputError(
                f"{path!r} leads outside the repository", file=label, field=f"health.{field}"
            )
    return clean.as_posix().strip("/")


def _read_inside(source: gitsource.Source, rel: str, label: str, field: str) -> bytes:
    clean = _inside(rel, source, label, field)
    if clean not in source.list_files():
        raise errors.InputError(
            f"{rel!r} is not a file of the repository", file=label, field=f"health.{field}"
        )
    try:
        return source.read(clean)
    except gitsource.RepoError as exc:
        raise errors.InputError(str(exc), file=label, field=f"health.{field}") from exc
