"""Sources combine in one registry; a later source replaces an earlier cluster of the same name."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.clusters import registry

DATA = Path(__file__).parent / "data" / "clusters"


def _write_kubeconfig(path: Path) -> Path:
    path.write_text(
        "clusters:\n"
        "- {name: k-prod, cluster: {server: 'https://kube-view-of-prod-eu-1'}}\n"
        "- {name: k-only, cluster: {server: 'https://only-in-kubeconfig'}}\n"
        "users:\n- {name: u, user: {token: kubeconfig-token-0001}}\n"
        "contexts:\n"
        "- {name: prod-eu-1, context: {cluster: k-prod, user: u}}\n"
        "- {name: edge-7, context: {cluster: k-only, user: u}}\n"
        "- {name: kube-only, context: {cluster: k-only, user: u}}\n"
    )
    return path


def test_argocd_secret_files_give_clusters_with_secret_labels() -> None:
    reg = registry.Registry()
    added = reg.add_argocd_secrets(DATA / "argocd-secrets.yaml")
    assert [c.name for c in added] == ["prod-eu-1", "edge-7"]  # the unlabelled Secret is not a cluster
    assert reg.get("edge-7").server == "https://edge-7.example.com"
    assert reg.get("edge-7").credentials.insecure
    assert reg.get("prod-eu-1").labels["region"] == "eu"


def test_load_applies_kubeconfig_then_argocd_then_cluster_lists(tmp_path: Path) -> None:
    kube = _write_kubeconfig(tmp_path / "config")
    reg = registry.load(
        kubeconfig_paths=kube,
        files=[DATA / "argocd-secrets.yaml"],
        cluster_lists=[DATA / "cluster-list.yaml"],
    )
    assert reg.names() == ["dev-1", "edge-7", "kube-only", "prod-eu-1", "prod-us-1", "staging-eu-1"]
    # prod-eu-1 is in all three: the native list wins, as a whole (its credentials, not a mix).
    prod = reg.get("prod-eu-1")
    assert prod.server == "https://10.0.1.1:6443"
    assert prod.credentials.bearer_token == "ref+vault://kv/data/clusters/{{name}}#/token"
    # edge-7 is in the kubeconfig and Argo CD: Argo CD wins.
    assert reg.get("edge-7").server == "https://edge-7.example.com"
    assert reg.get("edge-7").credentials.bearer_token is None
    assert reg.get("kube-only").source.startswith("kubeconfig:")
    first = reg.overrides[0]
    assert first[1].startswith("kubeconfig:") and "argocd-secrets.yaml" in first[2]
    assert [name for name, _, _ in reg.overrides] == ["prod-eu-1", "edge-7", "prod-eu-1"]


@pytest.mark.parametrize(
    "order, winner_server",
    [
        pytest.param(
            ["argocd-secrets.yaml", "cluster-list.yaml"], "https://10.0.1.1:6443", id="list-last-wins"
        ),
        pytest.param(
            ["cluster-list.yaml", "argocd-secrets.yaml"],
            "https://argocd-view-of-prod-eu-1.example.com",
            id="secrets-last-wins",
        ),
    ],
)
def test_files_are_recognised_by_content_and_applied_in_the_order_given(order, winner_server) -> None:
    reg = registry.load(files=[DATA / name for name in order])
    assert reg.get("prod-eu-1").server == winner_server


def test_a_kubeconfig_given_as_a_clusters_file_is_recognised() -> None:
    assert registry.detect(DATA / "kubeconfig-a.yaml") is registry.SourceKind.KUBECONFIG
    assert registry.load(files=[DATA / "kubeconfig-a.yaml"]).names() == ["alpha", "shared"]


@pytest.mark.parametrize(
    "selector, names",
    [
        pytest.param("env=prod", ["prod-eu-1", "prod-us-1"], id="env"),
        pytest.param("env=prod,gpu", ["prod-us-1"], id="env-and-gpu"),
        pytest.param("region in (eu),!canary", ["prod-eu-1"], id="in-and-not"),
        pytest.param(
            "tier!=db", ["prod-eu-1", "prod-us-1", "staging-eu-1"], id="not-equal-includes-unlabelled"
        ),
        pytest.param("", ["dev-1", "prod-eu-1", "prod-us-1", "staging-eu-1"], id="everything"),
    ],
)
def test_registry_selects_clusters_by_label_selector(selector: str, names: list[str]) -> None:
    reg = registry.load(cluster_lists=[DATA / "cluster-list.yaml"])
    assert [c.name for c in reg.clusters(selector)] == names


def test_without_any_source_the_default_kubeconfig_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(DATA / "kubeconfig-b.yaml"))
    assert registry.load().names() == ["beta", "shared"]
    assert (
        registry.load(cluster_lists=[DATA / "cluster-list.yaml"]).names()[0] == "dev-1"
    )  # no kubeconfig mixed in
