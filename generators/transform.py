"""Running one generator entry: pick its kind, interpolate, generate, apply the post-selector.

This is Argo CD's ``Transform``. An entry may set several generator kinds; each runs on its
own (top level) or is an error (inside matrix and merge, which take one kind per child). For
the second child of a matrix, the entry is first rendered with each parameter set of the first
child (``interpolate``): every string and map key, except that a child's ``values`` keep any
template that still needs the child's own parameters. The entry's ``selector`` is never
interpolated; it filters the parameter sets after generation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import errors
from fleet.generators import interface, selectors

# Generator kinds in the order of Argo CD's ApplicationSetGenerator struct (the order they run).
KINDS = (
    "list",
    "clusters",
    "git",
    "scmProvider",
    "clusterDecisionResource",
    "pullRequest",
    "matrix",
    "merge",
    "plugin",
)
# Kinds whose ``values`` map Argo CD pre-resolves when interpolating a matrix child.
KINDS_WITH_VALUES = frozenset(
    {"clusters", "git", "scmProvider", "clusterDecisionResource", "pullRequest", "plugin"}
)


def kinds_of(entry: Mapping[str, Any]) -> list[str]:
    """The generator kinds an entry sets, in Argo CD's order."""
    return [kind for kind in KINDS if entry.get(kind) is not None]


def unknown_keys(entry: Mapping[str, Any]) -> list[str]:
    return sorted(k for k in entry if k not in KINDS and k != "selector")


def transform(
    entry: Mapping[str, Any],
    tier: Mapping[str, interface.Generator],
    ctx: interface.GenContext,
    *,
    parent_params: interface.Params | None = None,
) -> list[tuple[str, list[interface.Params]]]:
    """(kind, parameter sets) for every kind the entry sets; errors carry the generator path."""
    selector = selectors.build(entry.get("selector"), ctx=ctx, field="selector", check_values=False)
    results: list[tuple[str, list[interface.Params]]] = []
    for kind in kinds_of(entry):
        kind_ctx = ctx.at(f"{ctx.path}.{kind}")
        generator = tier.get(kind)
        if generator is None:
            raise interface.NoChildGeneratorError(
                f"{kind} cannot be used at this depth: a matrix or merge child may contain one more matrix or"
                " merge, and that one only list, clusters, git, clusterDecisionResource and plugin generators"
                " (child generator generated no"
                " parameters)",
                generator=kind_ctx.path,
            )
        spec_entry = interpolate(entry, parent_params, ctx) if parent_params else entry
        spec = spec_entry[kind]
        if not isinstance(spec, Mapping):
            raise interface.GeneratorError(
                f"must be a mapping, not {type(spec).__name__}", generator=kind_ctx.path
            )
        try:
            sets = generator.generate(spec, kind_ctx)
        except interface.GeneratorError as exc:
            exc.at(kind_ctx.path)
            raise
        results.append((kind, selectors.post_select(sets, selector)))
    return results


def interpolate(
    entry: Mapping[str, Any], params: interface.Params, ctx: interface.GenContext
) -> dict[str, Any]:
    """The entry rendered with another generator's parameters (Argo CD's RenderGeneratorParams)."""
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key == "selector":
            out[key] = value  # the post-selector is applied as written
            continue
        if key in KINDS_WITH_VALUES and isinstance(value, Mapping):
            values = value.get("values")
            rest = _render(dict(value, values=None), params, ctx, f"{key}")
            if values is not None:
                rest["values"] = _pre_resolve(values, params, ctx, key)
            out[key] = rest
        else:
            out[key] = _render(value, params, ctx, key)
    return out


def _pre_resolve(values: Any, params: interface.Params, ctx: interface.GenContext, kind: str) -> Any:
    """Values that still need the child's own parameters keep their template (missing-key errors)."""
    if not isinstance(values, Mapping):
        return values
    from fleet import templating

    resolved: dict[str, Any] = {}
    for key, text in values.items():
        try:
            resolved[key] = ctx.render(str(text), params, missingkey=templating.MissingKey.ERROR)
        except errors.FleetError as exc:
            if templating.is_missing_key_error(exc):
                resolved[key] = text
                continue
            raise interface.GeneratorError(
                f"failed to pre-resolve values key {key!r}: {exc}",
                generator=ctx.path,
                param=f"{kind}.values.{key}",
            ) from exc
    return resolved


def _render(value: Any, params: interface.Params, ctx: interface.GenContext, field: str) -> Any:
    if isinstance(value, str):
        try:
            return ctx.render(value, params)
        except errors.FleetError as exc:
            raise interface.GeneratorError(
                f"error interpolating the generator with the first generator's parameters: {exc}",
                generator=ctx.path,
                param=field,
            ) from exc
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:  # Go skips nil map values
                continue
            out[_render(str(key), params, ctx, f"{field}.{key} (map key)")] = _render(
                item, params, ctx, f"{field}.{key}"
            )
        return out
    if isinstance(value, list):
        return [_render(item, params, ctx, f"{field}[{i}]") for i, item in enumerate(value)]
    return value
