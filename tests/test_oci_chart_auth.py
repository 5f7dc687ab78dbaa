"""Authentication and TLS with a real OCI registry (docker-registry): anonymous, htpasswd (Basic),
the ``WWW-Authenticate: Bearer`` token dance against a token service the registry trusts (with
credentials, and anonymous pulls), HTTPS with a test CA from ``argocd-tls-certs-cm``, and client
certificates. Credentials come from an Argo CD repository Secret; without them, or with a wrong
password, the chart is refused with a message that names neither."""

from __future__ import annotations

from typing import Any

import pytest

from fleet import repocreds
from fleet.render import helmrepo
from tests.fixtures.oci_registry import PASSWORD, USER

# (id, registry options, credentials the Secret carries, token requests expected)
MODES = [
    ("anonymous-http", {"auth": "none"}, False, 0),
    ("htpasswd-basic", {"auth": "htpasswd"}, True, 0),
    ("bearer-token", {"auth": "token"}, True, 1),
    ("anonymous-bearer-token-over-tls", {"auth": "token-anonymous", "tls": True}, False, 1),
    ("htpasswd-over-mutual-tls", {"auth": "htpasswd", "tls": True, "client_certs": True}, True, 0),
]


def _credentials(registry: Any, *, login: bool, password: str = PASSWORD) -> repocreds.RepoCredentials:
    fields = {"username": USER, "password": password} if login else {}
    if registry.client_leaf is not None:
        fields.update(
            tlsClientCertData=registry.client_leaf.cert_pem, tlsClientCertKey=registry.client_leaf.key_pem
        )
    objects = [registry.repo_secret(**fields)]
    if registry.scheme == "https":
        objects.append(registry.tls_certs_configmap())
    return repocreds.RepoCredentials.from_objects(objects)


@pytest.mark.parametrize(("options", "login", "tokens"), [m[1:] for m in MODES], ids=[m[0] for m in MODES])
def test_a_chart_is_pulled_with_the_repository_credentials(
    oci_registry_factory, options: dict[str, Any], login: bool, tokens: int
) -> None:
    registry = oci_registry_factory(**options)
    registry.publish_podinfo(("6.5.0", "6.5.1"))
    fetcher = helmrepo.ChartFetcher(credentials=_credentials(registry, login=login))
    fetched = fetcher.fetch(f"{registry.host}/charts", "podinfo", "6.5.*")
    assert fetched.version == "6.5.1" and fetched.downloaded
    assert registry.served("/v2/charts/podinfo/blobs/") == 1
    if registry.token_server is not None:
        # One token for the repository's pull scope, reused for tags, manifest and blob.
        assert registry.token_server.requests == tokens
        assert registry.token_server.authenticated == (tokens if login else 0)


@pytest.mark.parametrize("auth", ["htpasswd", "token"])
def test_without_credentials_the_registry_refuses_and_the_error_says_so(
    oci_registry_factory, auth: str
) -> None:
    registry = oci_registry_factory(auth=auth)
    registry.publish_podinfo(("6.5.1",))
    with pytest.raises(helmrepo.RepoRefusedError) as caught:
        helmrepo.ChartFetcher(credentials=_credentials(registry, login=False)).fetch(
            f"{registry.host}/charts", "podinfo", "6.5.*", app="web"
        )
    message = str(caught.value)
    assert "application web" in message and "OCI registry" in message
    assert ("none are configured" in message) if auth == "htpasswd" else ("HTTP 401" in message)


@pytest.mark.parametrize("auth", ["htpasswd", "token"])
def test_a_wrong_password_is_refused_without_quoting_it(oci_registry_factory, auth: str) -> None:
    registry = oci_registry_factory(auth=auth)
    registry.publish_podinfo(("6.5.1",))
    wrong = "not-the-Pa55word-9z"
    with pytest.raises(helmrepo.RepoRefusedError) as caught:
        helmrepo.ChartFetcher(credentials=_credentials(registry, login=True, password=wrong)).fetch(
            f"{registry.host}/charts", "podinfo", "6.5.*"
        )
    message = str(caught.value)
    assert "HTTP 401" in message and "refused" in message
    assert wrong not in message and PASSWORD not in message


def test_tls_without_the_ca_fails_and_with_it_succeeds(oci_registry_factory) -> None:
    registry = oci_registry_factory(tls=True)
    registry.publish_podinfo(("6.5.1",))
    with pytest.raises(helmrepo.RepoUnreachableError) as caught:
        helmrepo.ChartFetcher().fetch(f"{registry.host}/charts", "podinfo", "6.5.1")
    assert "certificate verify failed" in str(caught.value)
    trusted = repocreds.RepoCredentials.from_objects([registry.tls_certs_configmap()])
    assert (
        helmrepo.ChartFetcher(credentials=trusted)
        .fetch(f"{registry.host}/charts", "podinfo", "6.5.1")
        .version
        == "6.5.1"
    )


def test_mutual_tls_without_a_client_certificate_is_refused(oci_registry_factory) -> None:
    registry = oci_registry_factory(tls=True, client_certs=True)
    registry.publish_podinfo(("6.5.1",))
    trusted = repocreds.RepoCredentials.from_objects([registry.tls_certs_configmap()])
    with pytest.raises(helmrepo.ChartError):
        helmrepo.ChartFetcher(credentials=trusted).fetch(f"{registry.host}/charts", "podinfo", "6.5.1")
    assert registry.served("/v2/charts/podinfo/") == 0
