"""Git over HTTP(S) with Argo CD repository Secrets and templates, against ``git http-backend`` (git's
smart HTTP server) behind a loopback server that checks the credentials: username/password (also
a token as the password, from a repo-creds template matched by URL prefix), a bearer token, and
over HTTPS the CA from ``argocd-tls-certs-cm`` and a client certificate the server requires.
Credentials travel only in the environment of each git call: the mirror's config and every file
of the cache stay free of them, and a refused password is not quoted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleet import gitsource, repocreds
from tests.fixtures.git_servers import PASSWORD, TOKEN, USER, make_bare


def _secret(url: str, *, kind: str = "repository", **fields: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"git-{kind}",
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": kind},
        },
        "stringData": {"type": "git", "url": url, **fields},
    }


def _files_holding(root: Path, *texts: str) -> list[str]:
    return [
        str(p) for p in root.rglob("*") if p.is_file() and any(t.encode() in p.read_bytes() for t in texts)
    ]


# (id, server options, (kind, url of the Secret: REPO or PREFIX), fields)
CASES = [
    ("username-and-password", {}, ("repository", "REPO"), {"username": USER, "password": PASSWORD}),
    ("template-by-url-prefix", {}, ("repo-creds", "PREFIX"), {"username": USER, "password": PASSWORD}),
    ("bearer-token", {}, ("repository", "REPO"), {"bearerToken": TOKEN}),
    (
        "https-with-ca-and-client-certificate",
        {"tls": True, "client_certs": True},
        ("repository", "REPO"),
        {
            "username": USER,
            "password": PASSWORD,
            "tlsClientCertData": "CLIENT_CERT",
            "tlsClientCertKey": "CLIENT_KEY",
        },
    ),
]


@pytest.mark.parametrize(("options", "secret", "fields"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_repository_credentials_authenticate_git_and_stay_off_disk(
    git_http_factory, tmp_path, options: dict[str, Any], secret: tuple[str, str], fields: dict[str, str]
) -> None:
    server = git_http_factory(**options)
    make_bare(server.root, "fleet.git", {"apps/web/a.yaml": "a: 1\n"})
    url = server.url("fleet.git")
    kind, where = secret
    if server.client_leaf is not None:
        fields = {
            **fields,
            "tlsClientCertData": server.client_leaf.cert_pem,
            "tlsClientCertKey": server.client_leaf.key_pem,
        }
    objects = [_secret(url if where == "REPO" else url.rsplit("/", 1)[0], kind=kind, **fields)]
    if server.ca is not None:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-tls-certs-cm", "namespace": "argocd"},
                "data": {"127.0.0.1": server.ca.cert_pem},
            }
        )
    cache = gitsource.RepoCache(
        tmp_path / "cache", max_age=0, credentials=repocreds.RepoCredentials.from_objects(objects)
    )
    assert cache.open(url, "main").list_files() == ["apps/web/a.yaml"]
    assert server.authenticated >= 2  # discovery and the pack, at least
    secrets = [v for k, v in fields.items() if k in ("password", "bearerToken", "tlsClientCertKey")]
    if server.client_leaf is not None:
        secrets.append("".join(server.client_leaf.key_pem.splitlines()[1:-1])[:40])
    assert _files_holding(tmp_path / "cache", *secrets) == []
    config = (cache.mirror_path(url) / "config").read_text()
    assert "extraHeader" not in config and "sslCert" not in config and "helper" not in config


def test_a_wrong_password_is_a_fetch_error_that_does_not_quote_it(git_http_factory, tmp_path) -> None:
    server = git_http_factory()
    make_bare(server.root, "fleet.git", {"a.yaml": "a: 1\n"})
    wrong = "wrong-Pa55-0bq"
    creds = repocreds.RepoCredentials.from_objects(
        [_secret(server.url("fleet.git"), username=USER, password=wrong)]
    )
    with pytest.raises(gitsource.FetchError) as caught:
        gitsource.RepoCache(tmp_path / "cache", credentials=creds).open(server.url("fleet.git"), "main")
    assert wrong not in str(caught.value) and "clone failed" in str(caught.value)
    assert _files_holding(tmp_path / "cache", wrong) == []


def test_https_without_the_client_certificate_is_refused(git_http_factory, tmp_path) -> None:
    server = git_http_factory(tls=True, client_certs=True)
    make_bare(server.root, "fleet.git", {"a.yaml": "a: 1\n"})
    objects = [
        _secret(server.url("fleet.git"), username=USER, password=PASSWORD),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-tls-certs-cm", "namespace": "argocd"},
            "data": {"127.0.0.1": server.ca.cert_pem},
        },
    ]
    creds = repocreds.RepoCredentials.from_objects(objects)
    with pytest.raises(gitsource.FetchError):
        gitsource.RepoCache(tmp_path / "cache", credentials=creds).open(server.url("fleet.git"), "main")
    assert server.authenticated == 0


def test_an_unsupported_credential_kind_is_named_not_tried(git_http_factory, tmp_path) -> None:
    server = git_http_factory()
    make_bare(server.root, "fleet.git", {"a.yaml": "a: 1\n"})
    creds = repocreds.RepoCredentials.from_objects(
        [
            _secret(
                server.url("fleet.git"),
                githubAppID="1",
                githubAppPrivateKey="-----BEGIN KEY-----x-----END KEY-----",
            )
        ]
    )
    with pytest.raises(gitsource.AccessError) as caught:
        gitsource.RepoCache(tmp_path / "cache", credentials=creds).open(server.url("fleet.git"), "main")
    assert "Secret git-repository" in str(caught.value) and "githubAppPrivateKey is not supported" in str(
        caught.value
    )
    assert server.requests == 0
