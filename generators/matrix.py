"""The matrix generator: every parameter set of child 1 combined with every set of child 2.

Exactly two children, each with one generator kind. Child 2 is generated once per set of
child 1, after its spec is rendered with that set, so it may use child 1's parameters (a git
path in a cluster selector, a cluster name in a list element). fasttemplate: values become
strings and a key both children set to different values is an error; goTemplate: a deep merge
in which child 1 wins. A child with no sets makes the matrix empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet.generators import interface, transform
from fleet.generators import params as params_mod


class MatrixGenerator:
    """``matrix: {generators: [child1, child2]}``; ``children`` is the tier the children may use."""

    kind = "matrix"

    def __init__(self, children: Mapping[str, interface.Generator]) -> None:
        self.children = children

    def generate(self, spec: Mapping[str, Any], ctx: interface.GenContext) -> list[interface.Params]:
        entries = interface.as_list(spec.get("generators"), what="generators", ctx=ctx)
        if len(entries) < 2:
            raise interface.LessThanTwoGeneratorsError(
                f"found less than two generators, Matrix support only two (got {len(entries)})",
                generator=ctx.path,
            )
        if len(entries) > 2:
            raise interface.MoreThanTwoGeneratorsError(
                f"found more than two generators, Matrix support only two (got {len(entries)})",
                generator=ctx.path,
            )
        out: list[interface.Params] = []
        # Child 2 is generated again for every set of child 1, since its spec may use them. A
        # pure generator (list, clusters, git) whose spec uses none gives the same sets every
        # time: generate it once (for the first set, so errors come as before) and reuse them.
        reusable = _independent_of_parent(entries[1])
        reused: list[interface.Params] | None = None
        for first in child_params(entries[0], 0, self.children, ctx, None):
            first_flat = None if ctx.go_template else params_mod.stringify(first)
            if reused is not None:
                seconds = reused
            else:
                seconds = child_params(entries[1], 1, self.children, ctx, first)
                if reusable:
                    reused = seconds
            for second in seconds:
                if ctx.go_template:
                    # A copy: templates may change maps of their parameters (Sprig's set), and
                    # each combination must own its own, as when child 2 is generated for each.
                    out.append(params_mod.deep_merge(params_mod.copy_params(second), first))
                else:
                    assert first_flat is not None
                    out.append(_combine(first_flat, second, ctx))  # reads ``second`` only
        return out


# Generators whose parameter sets depend on their spec and the ApplicationSet's context alone
# (clusterDecisionResource and plugin read live services, which Argo CD asks again for each set).
_PURE_KINDS = frozenset({"list", "clusters", "git"})


def _independent_of_parent(entry: Any) -> bool:
    """Whether interpolating ``entry`` with child 1's parameters leaves it as it is: one pure
    generator kind and no template tag in any string or map key (the post-selector is never
    interpolated)."""
    if not isinstance(entry, Mapping):
        return False
    kinds = transform.kinds_of(entry)
    if len(kinds) != 1 or kinds[0] not in _PURE_KINDS:
        return False
    return not _has_tags({k: v for k, v in entry.items() if k != "selector"})


def _has_tags(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, Mapping):
        return any(_has_tags(str(k)) or _has_tags(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_tags(v) for v in value)
    return False


def _combine(first: dict[str, str], second: interface.Params, ctx: interface.GenContext) -> interface.Params:
    flat = params_mod.stringify(second)
    combined: interface.Params = {**first, **flat}
    if len(combined) < len(first) + len(flat):  # a key both children set: their values must agree
        for key, value in flat.items():
            current = first.get(key)
            if current is not None and current != value:
                raise interface.DuplicateParamKeyError(
                    f"found duplicate key {key} with different value, a: {current} ,b: {value} (give one of the"
                    " git generators a pathParamPrefix, or use goTemplate)",
                    generator=ctx.path,
                    param=key,
                )
    return combined


def child_params(
    entry: Any,
    index: int,
    tier: Mapping[str, interface.Generator],
    ctx: interface.GenContext,
    parent: interface.Params | None,
) -> list[interface.Params]:
    """The parameter sets of one matrix/merge child (exactly one generator kind)."""
    child_ctx = ctx.at(f"{ctx.path}.generators[{index}]")
    if not isinstance(entry, Mapping):
        raise interface.GeneratorError("a child generator must be a mapping", generator=child_ctx.path)
    results = transform.transform(entry, tier, child_ctx, parent_params=parent)
    if not results:
        unknown = transform.unknown_keys(entry)
        detail = f" (unknown keys: {', '.join(unknown)})" if unknown else ""
        raise interface.NoChildGeneratorError(
            f"child generator generated no parameters: it sets no generator{detail}", generator=child_ctx.path
        )
    if len(results) > 1:
        raise interface.MoreThanOneInnerGeneratorError(
            f"found more than one generator in one child ({', '.join(k for k, _ in results)})",
            generator=child_ctx.path,
        )
    return results[0][1]
