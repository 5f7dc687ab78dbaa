"""Helm HTTP(S) repositories with Argo CD repository Secrets instead of credentials in the URL:
username and password as basic auth (a repo-creds template by URL prefix too), the repository's
CA from ``argocd-tls-certs-cm`` over HTTPS, and a client certificate the server requires."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from fleet import repocreds
from fleet.render import helmrepo
from tests.fixtures.helmrepo import HelmRepo
from tests.fixtures.testca import TestCA

USER = "chart-bot"
PASSWORD = "helm-Pa55-81kx"


def _secret(url: str, *, kind: str = "repository", **fields: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "charts",
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": kind},
        },
        "stringData": {"type": "helm", "url": url, **fields},
    }


@pytest.mark.parametrize("kind", ["repository", "repo-creds"])
def test_basic_auth_comes_from_the_repository_secret(helm_repo, kind: str) -> None:
    helm_repo.require_auth(USER, PASSWORD)
    url = helm_repo.url if kind == "repository" else helm_repo.url.rsplit(":", 1)[0]  # a prefix: the host
    creds = repocreds.RepoCredentials.from_objects(
        [_secret(url, kind=kind, username=USER, password=PASSWORD)]
    )
    fetched = helmrepo.ChartFetcher(credentials=creds).fetch(helm_repo.url, "podinfo", "6.5.*")
    assert fetched.version == "6.5.1"
    assert helm_repo.requests_with_credentials() == 2  # the index and the archive


@pytest.fixture
def tls_repo(helm_repo, tmp_path) -> Any:
    """The same charts served over HTTPS with a test CA, requiring a client certificate from it."""
    ca = TestCA("fleet test chart CA")
    root = tmp_path / "tls-repo"
    shutil.copytree(helm_repo.root, root)
    repo = HelmRepo(root)
    context = ca.server("127.0.0.1").server_context(tmp_path / "tls", client_ca=ca.cert_pem)
    repo._server.socket = context.wrap_socket(repo._server.socket, server_side=True)
    repo.start()
    repo.ca = ca
    repo.https_url = f"https://127.0.0.1:{repo._server.server_port}"
    yield repo
    repo.stop()


def _tls_objects(repo: Any, *, client: bool) -> list[dict[str, Any]]:
    fields: dict[str, str] = {}
    if client:
        leaf = repo.ca.client("fleet")
        fields = {"tlsClientCertData": leaf.cert_pem, "tlsClientCertKey": leaf.key_pem}
    return [
        _secret(repo.https_url, **fields),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-tls-certs-cm", "namespace": "argocd"},
            "data": {"127.0.0.1": repo.ca.cert_pem},
        },
    ]


def test_https_with_the_ca_and_a_client_certificate(tls_repo) -> None:
    creds = repocreds.RepoCredentials.from_objects(_tls_objects(tls_repo, client=True))
    fetched = helmrepo.ChartFetcher(credentials=creds).fetch(tls_repo.https_url, "podinfo", "6.4.0")
    assert fetched.version == "6.4.0" and fetched.downloaded


@pytest.mark.parametrize(
    ("objects", "words"),
    [
        ("none", ["certificate verify failed"]),
        ("ca-only", []),
    ],
    ids=["without-the-ca", "without-a-client-certificate"],
)
def test_https_without_the_ca_or_the_client_certificate_fails(
    tls_repo, objects: str, words: list[str]
) -> None:
    creds = (
        None
        if objects == "none"
        else repocreds.RepoCredentials.from_objects(_tls_objects(tls_repo, client=False))
    )
    with pytest.raises(helmrepo.ChartError) as caught:
        helmrepo.ChartFetcher(credentials=creds).fetch(tls_repo.https_url, "podinfo", "6.4.0")
    for word in words:
        assert word in str(caught.value)
    assert tls_repo.downloads() == 0


def test_a_client_key_that_does_not_match_is_refused_naming_the_secret(tls_repo) -> None:
    objects = _tls_objects(tls_repo, client=True)
    objects[0]["stringData"]["tlsClientCertKey"] = tls_repo.ca.client("other").key_pem
    creds = repocreds.RepoCredentials.from_objects(objects)
    with pytest.raises(helmrepo.RepoRefusedError) as caught:
        helmrepo.ChartFetcher(credentials=creds).fetch(tls_repo.https_url, "podinfo", "6.4.0")
    assert "Secret charts" in str(caught.value) and "tlsClientCertKey" in str(caught.value)
    assert "PRIVATE KEY" not in str(caught.value)
