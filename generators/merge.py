"""The merge generator: the first child's parameter sets, overridden by matching sets of the others.

Sets are matched by the values of ``mergeKeys`` (top-level keys; a missing key counts as null).
Within any child, two sets with the same merge-key values are an error. A later child's set
is merged over the base set it matches (later wins: key copy in fasttemplate, deep merge in
goTemplate); child sets without a base partner are dropped and unmatched base sets stay as
they are. Children are not interpolated with each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet.generators import interface, matrix
from fleet.generators import params as params_mod


class MergeGenerator:
    """``merge: {mergeKeys: [...], generators: [base, override, ...]}``."""

    kind = "merge"

    def __init__(self, children: Mapping[str, interface.Generator]) -> None:
        self.children = children

    def generate(self, spec: Mapping[str, Any], ctx: interface.GenContext) -> list[interface.Params]:
        entries = interface.as_list(spec.get("generators"), what="generators", ctx=ctx)
        if len(entries) < 2:
            raise interface.LessThanTwoGeneratorsInMergeError(
                f"found less than two generators, Merge requires two or more (got {len(entries)})",
                generator=ctx.path,
            )
        per_child = [
            matrix.child_params(entry, i, self.children, ctx, None) for i, entry in enumerate(entries)
        ]
        keys = list(
            dict.fromkeys(str(k) for k in interface.as_list(spec.get("mergeKeys"), what="mergeKeys", ctx=ctx))
        )
        if not keys:
            raise interface.NoMergeKeysError(
                "no merge keys were specified, Merge requires at least one",
                generator=ctx.path,
                param="mergeKeys",
            )
        base = _index(keys, per_child[0], 0, ctx)
        for i, sets in enumerate(per_child[1:], start=1):
            overrides = _index(keys, sets, i, ctx)
            for key, base_set in base.items():
                override = overrides.get(key)
                if override is None:
                    continue
                if ctx.go_template:
                    base[key] = params_mod.deep_merge(base_set, override)
                else:
                    base[key] = {**base_set, **override}
        return list(base.values())


def _index(
    keys: list[str], sets: list[interface.Params], child: int, ctx: interface.GenContext
) -> dict[str, interface.Params]:
    indexed: dict[str, interface.Params] = {}
    for params in sets:
        key = params_mod.json_key({k: params.get(k) for k in keys})
        if key in indexed:
            raise interface.NonUniqueParamSetsError(
                "the parameters from a generator were not unique by the given mergeKeys,"
                " Merge requires all param"
                f" sets to be unique. Duplicate key was {key}",
                generator=f"{ctx.path}.generators[{child}]",
                param="mergeKeys",
            )
        indexed[key] = params
    return indexed
