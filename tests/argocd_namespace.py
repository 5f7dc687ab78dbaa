"""Seeding Argo CD's namespace on a simulated management cluster: ConfigMaps, Secrets, CRDs and
custom resources with a status, as the ApplicationSet controller would find them."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from fleet.clusters import client
from fleet.clusters.sim import SimServer

NAMESPACE = "argocd"


def ensure_namespace(sim: SimServer, cluster: str, name: str = NAMESPACE) -> None:
    sim.apply_object(cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def config_map(sim: SimServer, cluster: str, name: str, data: Mapping[str, str]) -> None:
    ensure_namespace(sim, cluster)
    sim.apply_object(
        cluster,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "data": dict(data),
        },
    )


def secret(sim: SimServer, cluster: str, name: str, data: Mapping[str, str]) -> None:
    ensure_namespace(sim, cluster)
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    sim.apply_object(
        cluster,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": NAMESPACE,
                "labels": {"app.kubernetes.io/part-of": "argocd"},
            },
            "data": encoded,
        },
    )


PLACEMENT_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "placementdecisions.cluster.open-cluster-management.io"},
    "spec": {
        "group": "cluster.open-cluster-management.io",
        "scope": "Namespaced",
        "names": {
            "plural": "placementdecisions",
            "singular": "placementdecision",
            "kind": "PlacementDecision",
        },
        "versions": [
            {
                "name": "v1beta1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}


def placement_decision(
    sim: SimServer,
    cluster: str,
    name: str,
    decisions: list[dict[str, Any]] | None,
    *,
    labels: Mapping[str, str] | None = None,
    status_key: str = "decisions",
) -> None:
    """A PlacementDecision-like resource in Argo CD's namespace, its status set through the status
    subresource as Open Cluster Management's controller sets it (None: no status at all)."""
    ensure_namespace(sim, cluster)
    sim.apply_object(cluster, PLACEMENT_CRD)
    api_version = "cluster.open-cluster-management.io/v1beta1"
    sim.apply_object(
        cluster,
        {
            "apiVersion": api_version,
            "kind": "PlacementDecision",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(labels or {})},
        },
    )
    if decisions is None:
        return
    target = next(c for c in sim.clusters() if c.name == cluster)
    with client.connect(target) as api:
        api.patch(
            api_version,
            "PlacementDecision",
            name,
            {"status": {status_key: decisions}},
            namespace=NAMESPACE,
            subresource="status",
        )
