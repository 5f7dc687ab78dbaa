"""Argo CD cluster Secrets read live from a (simulated) management cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet import models
from fleet.clusters import argocd, client, registry


def _secret(name: str, server: str, labels: dict, token: str, namespace: str = "argocd") -> dict:
    cluster = models.Cluster(
        name=name, server=server, labels=labels, credentials=models.ClusterCredentials(bearer_token=token)
    )
    return argocd.cluster_secret(cluster, namespace=namespace)


@pytest.fixture
def management(sim_module) -> client.ClusterClient:
    """The first simulated cluster, holding Argo CD cluster Secrets in the argocd namespace."""
    api = client.connect(sim_module.clusters()[0])
    for ns in ("argocd", "elsewhere"):
        api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    api.apply(_secret("edge-1", "https://edge-1.example.com", {"env": "edge"}, "edge-1-token-abcd"))
    api.apply(
        _secret("edge-2", "https://edge-2.example.com", {"env": "edge", "gpu": "true"}, "edge-2-token-abcd")
    )
    api.apply(_secret("other", "https://other.example.com", {}, "other-token-abcd", namespace="elsewhere"))
    api.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "plain", "namespace": "argocd"},
            "stringData": {"a": "b"},
        }
    )
    return api


def test_cluster_secrets_are_read_live_from_the_argocd_namespace(management: client.ClusterClient) -> None:
    clusters = {c.name: c for c in registry.argocd_live(management)}
    assert set(clusters) == {"edge-1", "edge-2"}
    assert clusters["edge-2"].labels["gpu"] == "true"
    assert clusters["edge-1"].credentials.bearer_token == "edge-1-token-abcd"
    assert clusters["edge-1"].source.startswith(
        f"argocd-live:cluster {management.cluster.name} namespace argocd"
    )
    assert management.stats().by_verb.get("list") == 1


def test_another_namespace_can_be_read(management: client.ClusterClient) -> None:
    assert [c.name for c in registry.argocd_live(management, namespace="elsewhere")] == ["other"]


def test_load_reads_argocd_live_through_a_kubeconfig_context(
    sim_module, management: client.ClusterClient, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    sim_module.write_kubeconfig(kubeconfig)
    reg = registry.load(kubeconfig_paths=kubeconfig, argocd_context=management.cluster.name)
    assert reg.names() == ["edge-1", "edge-2"]  # the kubeconfig only located the management cluster
    # with chosen contexts, the kubeconfig is a source too (and the live Secrets come after it)
    both = registry.load(
        kubeconfig_paths=kubeconfig,
        contexts=[management.cluster.name],
        argocd_context=management.cluster.name,
    )
    assert both.names() == sorted(["edge-1", "edge-2", management.cluster.name])
