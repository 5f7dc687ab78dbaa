"""Bad cluster sources are input errors that name the file, the object and the field, never a value."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet import errors
from fleet.clusters import argocd, kubeconfig, native, registry

LIST_HEAD = "apiVersion: fleet.gitops/v1\nkind: ClusterList\nclusters:\n"

NATIVE_CASES = [
    pytest.param(
        "apiVersion: fleet.gitops/v2\nkind: ClusterList\n",
        None,
        "apiVersion",
        "must be 'fleet.gitops/v1'",
        id="wrong-apiVersion",
    ),
    pytest.param(
        "apiVersion: fleet.gitops/v1\nkind: Clusters\n",
        None,
        "kind",
        "must be 'ClusterList'",
        id="wrong-kind",
    ),
    pytest.param(
        LIST_HEAD + "  - name: a\n    server: ftp://a\n",
        "cluster a",
        "server",
        "http:// or https://",
        id="bad-server",
    ),
    pytest.param(
        LIST_HEAD + "  - server: https://a\n", "clusters[0]", "name", "Field required", id="missing-name"
    ),
    pytest.param(
        LIST_HEAD + "  - name: a\n    server: https://a\n    credentials: {bearerTokn: s3cr3t-typo-value}\n",
        "cluster a",
        "credentials.bearerTokn",
        "not a known field",
        id="typo-in-credentials",
    ),
    pytest.param(
        LIST_HEAD + "  - name: a\n    server: https://a\n    labels: {gpu: true}\n",
        "cluster a",
        "labels.gpu",
        "quote",
        id="unquoted-boolean-label",
    ),
    pytest.param(
        LIST_HEAD + "  - name: a\n    server: https://a\n    credentials: {caData: not-pem-at-all}\n",
        "cluster a",
        "credentials.caData",
        "neither PEM",
        id="ca-not-pem",
    ),
    pytest.param(
        LIST_HEAD + "  - {name: a, server: 'https://a'}\n  - {name: a, server: 'https://b'}\n",
        "cluster a",
        "name",
        "more than one cluster",
        id="duplicate-name",
    ),
    pytest.param("[1, 2]\n", None, None, "must be a mapping", id="not-a-mapping"),
]


@pytest.mark.parametrize("text, obj, field, message", NATIVE_CASES)
def test_bad_cluster_list_names_file_cluster_and_field(tmp_path: Path, text, obj, field, message) -> None:
    path = tmp_path / "clusters.yaml"
    path.write_text(text)
    with pytest.raises(errors.InputError) as info:
        native.load(path)
    err = info.value
    assert (err.file, err.obj, err.field) == (str(path), obj, field)
    assert message in str(err)
    assert "s3cr3t-typo-value" not in str(err)
    assert err.exit_code == errors.ExitCode.BAD_INPUT


KUBECONFIG_CASES = [
    pytest.param(
        "contexts:\n- name: c\n  context: {cluster: nowhere, user: u}\n",
        "context c",
        "context.cluster",
        "which no kubeconfig defines",
        id="context-names-unknown-cluster",
    ),
    pytest.param(
        "clusters:\n- name: k\n  cluster: {server: 'https://k'}\ncontexts:\n- name: c\n  context: {cluster: k, user: ghost}\n",
        "context c",
        "context.user",
        "ghost",
        id="context-names-unknown-user",
    ),
    pytest.param(
        "clusters:\n- name: k\n  cluster: {}\ncontexts:\n- name: c\n  context: {cluster: k}\n",
        "cluster k",
        "cluster.server",
        "missing",
        id="cluster-without-server",
    ),
    pytest.param(
        "clusters:\n- name: k\n  cluster: {server: 'https://k'}\nusers:\n- name: u\n  user: {client-key-data: '!!notbase64!!'}\n"
        "contexts:\n- name: c\n  context: {cluster: k, user: u}\n",
        "user u",
        "user.client-key-data",
        "base64",
        id="key-data-not-base64",
    ),
    pytest.param(
        "clusters:\n- name: k\n  cluster: {server: 'https://k', certificate-authority: missing-ca.crt}\n"
        "contexts:\n- name: c\n  context: {cluster: k}\n",
        "cluster k",
        "cluster.certificate-authority",
        "cannot be read",
        id="ca-file-missing",
    ),
    pytest.param(
        "clusters:\n- name: k\n  cluster: {server: 'https://k'}\nusers:\n- name: u\n  user: {exec: {args: [x]}}\n"
        "contexts:\n- name: c\n  context: {cluster: k, user: u}\n",
        "user u",
        "user.exec",
        "command",
        id="exec-without-command",
    ),
    pytest.param(
        "clusters:\n- name: k\n  cluster: {server: 'https://k', insecure-skip-tls-verify: 'false'}\n"
        "contexts:\n- name: c\n  context: {cluster: k}\n",
        "cluster k",
        "cluster.insecure-skip-tls-verify",
        "must be true or false",
        id="insecure-given-as-a-string",
    ),
    pytest.param("clusters: {k: 1}\n", None, "clusters", "must be a list", id="clusters-not-a-list"),
    pytest.param("- just\n- a list\n", None, None, "must be a YAML mapping", id="not-a-mapping"),
]


@pytest.mark.parametrize("text, obj, field, message", KUBECONFIG_CASES)
def test_bad_kubeconfig_names_file_entry_and_field(tmp_path: Path, text, obj, field, message) -> None:
    path = tmp_path / "config"
    path.write_text(text)
    with pytest.raises(errors.InputError) as info:
        kubeconfig.load(path)
    err = info.value
    assert (err.file, err.obj, err.field) == (str(path), obj, field)
    assert message in str(err)


def test_unknown_context_lists_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(
        "clusters:\n- name: k\n  cluster: {server: 'https://k'}\ncontexts:\n- name: c\n  context: {cluster: k}\n"
    )
    with pytest.raises(errors.InputError, match=r"no context named 'prod' \(known: c\)"):
        kubeconfig.load(path, contexts=["prod"])


def test_bad_argocd_secret_file_names_the_secret_and_field(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-x\n  namespace: argocd\n"
        "  labels: {argocd.argoproj.io/secret-type: cluster}\nstringData:\n  name: x\n  config: '{bearerToken: leaked-value'\n"
    )
    with pytest.raises(errors.InputError) as info:
        registry.Registry().add_file(path)
    assert (info.value.file, info.value.obj, info.value.field) == (
        str(path),
        "Secret cluster-x",
        "data.server",
    )


ARGOCD_CONFIG_CASES = [
    pytest.param(
        '{"bearerToken": "s3cr3t-in-config", "tlsClientConfig": {"insecure": "false"}}',
        "data.config.tlsClientConfig.insecure",
        "valid boolean",
        id="insecure-given-as-a-string",
    ),
    pytest.param(
        '{"bearerToken": "s3cr3t-in-config", "tlsClientConfig": ["insecure"]}',
        "data.config.tlsClientConfig",
        "valid dictionary",
        id="tls-config-not-an-object",
    ),
    pytest.param(
        '{"bearerToken": ["s3cr3t-in-config"]}',
        "data.config.bearerToken",
        "valid string",
        id="token-not-a-string",
    ),
]


@pytest.mark.parametrize("config, field, message", ARGOCD_CONFIG_CASES)
def test_a_wrongly_typed_config_in_an_argocd_secret_is_refused_naming_the_field(
    tmp_path: Path, config: str, field: str, message: str
) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-x\n  namespace: argocd\n"
        "  labels: {argocd.argoproj.io/secret-type: cluster}\nstringData:\n  name: x\n  server: https://x\n"
        f"  config: '{config}'\n"
    )
    with pytest.raises(errors.InputError) as info:
        argocd.load_cluster_secrets(path)
    assert (info.value.file, info.value.obj, info.value.field) == (str(path), "Secret cluster-x", field)
    assert message in str(info.value) and "s3cr3t-in-config" not in str(info.value)
    assert info.value.__cause__ is None


def test_unknown_cluster_name_is_an_input_error_listing_known_ones() -> None:
    reg = registry.Registry(argocd.clusters_from_objects([]))
    with pytest.raises(errors.InputError, match="no cluster named 'ghost'"):
        reg.get("ghost")


UNREADABLE_SOURCES = [
    pytest.param(b"\xff\xfeclusters: []\n", "is not UTF-8 text", id="not-utf8"),
    pytest.param(b"clusters: [s3cr3t-in-yaml\n", "is not valid YAML: line 2, column 1", id="broken-yaml"),
]
LOADERS = [
    pytest.param(native.load, id="cluster-list"),
    pytest.param(argocd.load_cluster_secrets, id="argocd-secrets"),
    pytest.param(registry.Registry().add_file, id="any-cluster-file"),
    pytest.param(kubeconfig.load, id="kubeconfig"),
]


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("content, message", UNREADABLE_SOURCES)
def test_a_cluster_file_that_is_not_yaml_text_is_an_input_error_naming_only_the_file(
    tmp_path: Path, loader, content: bytes, message: str
) -> None:
    path = tmp_path / "clusters.yaml"
    path.write_bytes(content)
    with pytest.raises(errors.InputError) as info:
        loader(path)
    assert (info.value.file, info.value.obj, info.value.field) == (str(path), None, None)
    assert message in str(info.value) and "s3cr3t-in-yaml" not in str(info.value)
    assert info.value.__cause__ is None
