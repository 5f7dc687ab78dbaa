"""The cluster generator: one parameter set per registered cluster the selector matches.

Clusters are Argo CD cluster Secrets (``fleet.clusters.argocd``) or any other registered
cluster; each yields ``name``, ``nameNormalized``, ``server``, ``project`` and its labels and
annotations (``metadata.labels.<k>`` flat, or a ``metadata`` map in goTemplate mode), plus the
rendered ``values``. The implicit local cluster (``in-cluster``) comes last, only when the
selector is empty and no selected cluster already uses ``https://kubernetes.default.svc``; it
has no metadata at all. ``flatList: true`` yields one set ``{clusters: [...]}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import models
from fleet.generators import interface, selectors
from fleet.generators import params as params_mod


class ClusterGenerator:
    """``clusters: {selector: ..., values: {...}, flatList: false}``."""

    kind = "clusters"

    def generate(self, spec: Mapping[str, Any], ctx: interface.GenContext) -> list[interface.Params]:
        selector_obj = interface.as_mapping(spec.get("selector"), what="selector", ctx=ctx)
        # Local clusters have no Secret and so no labels: any non-empty selector leaves them out.
        ignore_local = bool(selector_obj.get("matchLabels") or selector_obj.get("matchExpressions"))
        selector = selectors.build(selector_obj, ctx=ctx, field="selector", check_values=True)
        values = interface.as_mapping(spec.get("values"), what="values", ctx=ctx)

        selected: dict[str, models.Cluster] = {}  # keyed by name: Argo CD collapses same-name Secrets
        for cluster in ctx.clusters:
            if selector is None or selector.matches(cluster.labels):
                selected.pop(cluster.name, None)
                selected[cluster.name] = cluster

        out: list[interface.Params] = []
        for cluster in selected.values():
            params = self._params(cluster, ctx.go_template)
            out.append(interface.render_values(values, params, ctx))
        has_local = any(c.server == models.IN_CLUSTER_SERVER for c in selected.values())
        if ctx.in_cluster and not ignore_local and not has_local:
            local: interface.Params = {
                "name": models.IN_CLUSTER_NAME,
                "nameNormalized": models.IN_CLUSTER_NAME,
                "server": models.IN_CLUSTER_SERVER,
                "project": "",
            }
            out.append(interface.render_values(values, local, ctx))
        if spec.get("flatList"):
            return [{"clusters": out}]
        return out

    @staticmethod
    def _params(cluster: models.Cluster, go_template: bool) -> interface.Params:
        params: interface.Params = {
            "name": cluster.name,
            "nameNormalized": params_mod.sanitize_name(cluster.name),
            "server": cluster.server,
            "project": cluster.project,
        }
        if go_template:
            meta: dict[str, Any] = {}
            if cluster.annotations:
                meta["annotations"] = params_mod.str_map(cluster.annotations)
            if cluster.labels:
                meta["labels"] = params_mod.str_map(cluster.labels)
            params["metadata"] = meta
        else:
            for key, value in cluster.annotations.items():
                params[f"metadata.annotations.{key}"] = value
            for key, value in cluster.labels.items():
                params[f"metadata.labels.{key}"] = value
        return params
