"""The fleet-native ClusterList: clusters with labels and credentials, references kept as written."""

from __future__ import annotations

from pathlib import Path

import yaml

from fleet import models
from fleet.clusters import native

DATA = Path(__file__).parent / "data" / "clusters"


def test_cluster_list_gives_every_cluster_with_labels_and_annotations() -> None:
    clusters = {c.name: c for c in native.load(DATA / "cluster-list.yaml")}
    assert list(clusters) == ["prod-eu-1", "prod-us-1", "staging-eu-1", "dev-1"]
    assert clusters["prod-eu-1"].labels == {"env": "prod", "region": "eu", "tier": "web"}
    assert clusters["prod-eu-1"].annotations == {"owner": "team-a"}
    assert clusters["prod-us-1"].server == "https://10.0.2.1:6443/prefix"
    assert clusters["dev-1"].source == f"{DATA / 'cluster-list.yaml'}:dev-1"


def test_secret_references_are_kept_exactly_as_written_for_the_secret_layer() -> None:
    clusters = {c.name: c for c in native.load(DATA / "cluster-list.yaml")}
    assert clusters["prod-eu-1"].credentials.bearer_token == "ref+vault://kv/data/clusters/{{name}}#/token"
    assert (
        clusters["staging-eu-1"].credentials.client_key_data == "ref+sops://keys/staging-eu-1.enc.yaml#/key"
    )


def test_credential_fields_map_onto_the_cluster_model() -> None:
    clusters = {c.name: c for c in native.load(DATA / "cluster-list.yaml")}
    prod_eu = clusters["prod-eu-1"].credentials
    assert prod_eu.ca_data and prod_eu.ca_data.startswith("-----BEGIN CERTIFICATE-----")
    assert prod_eu.server_name == "api.prod-eu-1.internal"
    prod_us = clusters["prod-us-1"].credentials
    assert prod_us.insecure and prod_us.proxy_url == "http://proxy.us.example.com:3128"
    # base64 PEM (Argo CD's habit) is decoded to PEM.
    assert "c3RhZ2luZy1jZXJ0" in (clusters["staging-eu-1"].credentials.client_cert_data or "")
    exec_cfg = clusters["dev-1"].credentials.exec
    assert exec_cfg == models.ExecConfig(
        command="aws", args=("eks", "get-token", "--cluster-name", "dev-1"), env={"AWS_PROFILE": "dev"}
    )


def test_cluster_list_round_trips_through_its_document_form(tmp_path: Path) -> None:
    original = native.load(DATA / "cluster-list.yaml")
    out = tmp_path / "again.yaml"
    out.write_text(yaml.safe_dump(native.document(original)))
    again = native.load(out)
    strip = lambda cs: [c.model_dump(exclude={"source"}) for c in cs]  # noqa: E731
    assert strip(again) == strip(original)


def test_several_cluster_list_documents_in_one_file_are_concatenated(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(
        "apiVersion: fleet.gitops/v1\nkind: ClusterList\nclusters: [{name: a, server: 'https://a'}]\n---\n"
        "apiVersion: fleet.gitops/v1\nkind: ClusterList\nclusters: [{name: b, server: 'https://b'}]\n"
    )
    assert [c.name for c in native.load(path)] == ["a", "b"]
