"""The clusterDecisionResource generator: clusters chosen by a duck-typed resource on the
management cluster (an Open Cluster Management PlacementDecision, or anything shaped like one).

As Argo CD's ``DuckTypeGenerator`` reads it:

1. the ConfigMap ``configMapRef`` in Argo CD's namespace gives ``apiVersion`` (group/version),
   ``kind`` (the resource's plural, as a dynamic client names it; fleet also takes the kind),
   ``statusListKey`` (default ``clusters``) and ``matchKey``;
2. the resources of that kind in Argo CD's namespace are listed by ``name`` or by
   ``labelSelector`` (exactly one of the two); finding none is an error;
3. every entry of each resource's ``status.<statusListKey>`` is a decision; its ``matchKey``
   value names a registered cluster (Argo CD's cluster Secrets, plus ``in-cluster``); decisions
   for unknown clusters are skipped;
4. each decision yields ``name`` and ``server`` of that cluster, then every field of the
   decision printed with Go's ``%v`` (so ``clusterName``, ``reason``...), then ``values``
   (taken as written: Argo CD does not template this generator's values).

``requeueAfterSeconds`` is accepted and ignored: fleet reads the resource afresh at every
``fleet generate``, every ``fleet sync`` and every run of ``fleet sync --every``; the loop's
interval is what decides how often. Without a management cluster (``--argocd-context``) the
generator fails with a message saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import errors, models
from fleet.generators import interface, selectors
from fleet.generators import params as params_mod

DEFAULT_STATUS_LIST_KEY = "clusters"


class ClusterDecisionResourceGenerator:
    """``clusterDecisionResource: {configMapRef, name | labelSelector, requeueAfterSeconds, values}``."""

    kind = "clusterDecisionResource"

    def generate(self, spec: Mapping[str, Any], ctx: interface.GenContext) -> list[interface.Params]:
        argocd = interface.need_argocd(ctx, self.kind)
        config_map_name = spec.get("configMapRef")
        if not isinstance(config_map_name, str) or not config_map_name:
            raise interface.GeneratorError(
                "configMapRef must name a ConfigMap", generator=ctx.path, param="configMapRef"
            )
        values = interface.as_mapping(spec.get("values"), what="values", ctx=ctx)
        try:
            data = argocd.config_map(config_map_name)
        except errors.FleetError as exc:
            raise interface.GeneratorError(f"error reading configMapRef: {exc}", generator=ctx.path) from exc
        if data is None:
            raise interface.GeneratorError(
                f"error reading configMapRef: configmaps {config_map_name!r} not found in namespace"
                f" {argocd.namespace} of cluster {argocd.name}",
                generator=ctx.path,
                param="configMapRef",
            )
        api_version, resource_name = data.get("apiVersion", ""), data.get("kind", "")
        if not resource_name or api_version.find("/") < 1:
            raise interface.GeneratorError(
                "there is a problem with the apiVersion, kind or resourceName provided"
                f" (ConfigMap {config_map_name} needs apiVersion group/version and kind)",
                generator=ctx.path,
                param="configMapRef",
            )
        name = spec.get("name") or ""
        selector_obj = interface.as_mapping(spec.get("labelSelector"), what="labelSelector", ctx=ctx)
        has_selector = bool(selector_obj.get("matchLabels") or selector_obj.get("matchExpressions"))
        if bool(name) == has_selector:
            raise interface.GeneratorError(
                "there is a problem with the definition of the ClusterDecisionResource generator:"
                " give either name or labelSelector",
                generator=ctx.path,
            )
        label_selector = (
            str(selectors.build(selector_obj, ctx=ctx, field="labelSelector", check_values=True))
            if has_selector
            else None
        )
        try:
            resource = argocd.resource(api_version, resource_name)
            found = argocd.list(resource, name=str(name) or None, label_selector=label_selector)
        except errors.FleetError as exc:
            raise interface.GeneratorError(
                f"failed to get dynamic resources: {exc}", generator=ctx.path
            ) from exc
        if not found:
            raise interface.GeneratorError("no clusterDecisionResources found", generator=ctx.path)
        match_key = data.get("matchKey", "")
        if not match_key:
            return []  # Argo CD logs "matchKey not found" and generates nothing
        status_key = data.get("statusListKey") or DEFAULT_STATUS_LIST_KEY
        clusters = _known_clusters(ctx)
        out: list[interface.Params] = []
        for decision in _decisions(found, status_key, ctx):
            value = decision.get(match_key)
            if value is None or params_mod.go_sprint(value) == "":
                continue
            cluster = clusters.get(params_mod.go_sprint(value))
            if cluster is None:
                continue  # a decision for a cluster Argo CD does not know
            params: interface.Params = {"name": cluster.name, "server": cluster.server}
            for key, item in decision.items():
                params[str(key)] = params_mod.go_sprint(item)
            out.append(_with_values(params, values, ctx))
        return out


def _known_clusters(ctx: interface.GenContext) -> dict[str, models.Cluster]:
    """Registered clusters by name (the first of a name wins, as Argo CD's list order), with the
    implicit in-cluster one when no Secret points at the local API server."""
    known: dict[str, models.Cluster] = {}
    for cluster in ctx.clusters:
        known.setdefault(cluster.name, cluster)
    if ctx.in_cluster and not any(c.server == models.IN_CLUSTER_SERVER for c in ctx.clusters):
        known.setdefault(models.IN_CLUSTER_NAME, models.in_cluster())
    return known


def _decisions(
    found: list[dict[str, Any]], status_key: str, ctx: interface.GenContext
) -> list[Mapping[str, Any]]:
    decisions: list[Mapping[str, Any]] = []
    for item in found:
        status = item.get("status")
        if not isinstance(status, Mapping) or not status:
            continue  # Argo CD skips a resource without status
        entries = status.get(status_key)
        name = (item.get("metadata") or {}).get("name", "")
        if not isinstance(entries, list):
            raise interface.GeneratorError(
                f"status.{status_key} of {item.get('kind', 'resource')} {name} must be a list of decisions",
                generator=ctx.path,
            )
        for index, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise interface.GeneratorError(
                    f"status.{status_key}[{index}] of {item.get('kind', 'resource')} {name} must be a mapping",
                    generator=ctx.path,
                )
            decisions.append(entry)
    return decisions


def _with_values(
    params: interface.Params, values: Mapping[str, Any], ctx: interface.GenContext
) -> interface.Params:
    """Argo CD's collectParams: ``values`` as written, ``values.<k>`` or a ``values`` map."""
    if not values:
        return params
    if ctx.go_template:
        params["values"] = params_mod.str_map({str(k): str(v) for k, v in values.items()})
    else:
        for key, value in values.items():
            params[f"values.{key}"] = str(value)
    return params
