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
        for first in child_params(entries[0], 0, self.children, ctx, None):
            first_flat = None if ctx.go_template else params_mod.stringify(first)
            for second in child_params(entries[1], 1, self.children, ctx, first):
                if ctx.go_template:
                    out.append(params_mod.deep_merge(second, first))
                else:
                    assert first_flat is not None
                    out.append(_combine(first_flat, second, ctx))
        return out


def _combine(first: dict[str, str], second: interface.Params, ctx: interface.GenContext) -> interface.Params:
    combined: interface.Params = dict(first)
    for key, value in params_mod.stringify(second).items():
        current = combined.get(key)
        if current is not None and current != value:
            raise interface.DuplicateParamKeyError(
                f"found duplicate key {key} with different value, a: {current} ,b: {value} (give one of the"
                " git generators a pathParamPrefix, or use goTemplate)",
                generator=ctx.path,
                param=key,
            )
        combined[key] = value
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
