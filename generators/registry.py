"""Generator kinds by spec key, in the three tiers that bound how deeply matrix and merge nest.

As in Argo CD's ``utils.go``: terminal generators produce parameters from a source; the nested
tier adds matrix and merge whose children may only be terminal; the top level adds matrix and
merge whose children may be nested. The depth limit is this data, not a check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet.generators import cluster, cluster_decision, git, interface, matrix, merge, plugin
from fleet.generators import list as list_gen


class UnsupportedGenerator:
    """An Argo CD generator kind fleet does not run: it needs a live SCM API."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def generate(self, spec: Mapping[str, Any], ctx: interface.GenContext) -> list[interface.Params]:
        raise interface.UnsupportedGeneratorError(
            f"the {self.kind} generator is not supported by fleet"
            " (supported: list, clusters, git, matrix, merge, clusterDecisionResource, plugin)",
            generator=ctx.path,
        )


TERMINAL: dict[str, interface.Generator] = {
    "list": list_gen.ListGenerator(),
    "clusters": cluster.ClusterGenerator(),
    "git": git.GitGenerator(),
    "clusterDecisionResource": cluster_decision.ClusterDecisionResourceGenerator(),
    "plugin": plugin.PluginGenerator(),
    **{kind: UnsupportedGenerator(kind) for kind in ("scmProvider", "pullRequest")},
}

NESTED: dict[str, interface.Generator] = {
    **TERMINAL,
    "matrix": matrix.MatrixGenerator(TERMINAL),
    "merge": merge.MergeGenerator(TERMINAL),
}

TOP_LEVEL: dict[str, interface.Generator] = {
    **TERMINAL,
    "matrix": matrix.MatrixGenerator(NESTED),
    "merge": merge.MergeGenerator(NESTED),
}
