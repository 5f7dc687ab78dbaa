"""Which credentials a repository URL gets from Argo CD repository Secrets and repo-creds templates,
as Argo CD decides (``GetRepository`` + ``enrichCredsToRepo``): the repository Secret of the same
URL (compared normalised), else, or when it holds no credential, the template with the longest URL
prefix; a CA from ``argocd-tls-certs-cm`` by host name; known hosts for every SSH URL."""

from __future__ import annotations

from typing import Any

import pytest

from fleet import repocreds


def secret(name: str, url: str, *, kind: str = "repository", **fields: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "argocd", "labels": {"argocd.argoproj.io/secret-type": kind}},
        "stringData": {"url": url, **fields},
    }


def template(name: str, url: str, **fields: str) -> dict[str, Any]:
    return secret(name, url, kind="repo-creds", **fields)


CA = "CA_PEM"  # replaced by a real certificate below

# (id, objects, URL looked up, expected: None, or {attribute: value} plus "sources": [Secret names])
CASES = [
    (
        "same-url-ignoring-case-git-suffix-and-slash",
        [secret("exact", "https://Git.Example.com/Org/App.git", username="u", password="p")],
        "https://git.example.com/org/app/",
        {"username": "u", "password": "p", "sources": ["exact"]},
    ),
    (
        "longest-template-prefix-wins",
        [
            template("org", "https://git.example.com/org", password="org-pw"),
            template("team", "https://git.example.com/org/team", password="team-pw"),
            template("host", "https://git.example.com", password="host-pw"),
        ],
        "https://git.example.com/org/team/app.git",
        {"password": "team-pw", "sources": ["team"]},
    ),
    (
        "template-prefix-is-a-plain-string-prefix-as-in-argo-cd",
        [template("org", "https://git.example.com/org", password="org-pw")],
        "https://git.example.com/org-two/app.git",
        {"password": "org-pw"},
    ),
    (
        "repository-without-credentials-takes-the-templates",
        [
            secret("repo", "https://git.example.com/org/app", insecure="true"),
            template("org", "https://git.example.com/org", username="bot", password="org-pw"),
        ],
        "https://git.example.com/org/app",
        {"username": "bot", "password": "org-pw", "insecure": True, "sources": ["repo", "org"]},
    ),
    (
        "repository-with-credentials-ignores-the-templates",
        [
            secret("repo", "https://git.example.com/org/app", bearerToken="tok"),
            template("org", "https://git.example.com/org", username="bot", password="org-pw"),
        ],
        "https://git.example.com/org/app",
        {"bearer_token": "tok", "password": "", "sources": ["repo"]},
    ),
    (
        "scp-style-url-matches-an-ssh-template",
        [template("ssh", "ssh://git@git.example.com/org", sshPrivateKey="KEY")],
        "git@git.example.com:org/app.git",
        {"ssh_private_key": "KEY"},
    ),
    (
        "oci-scheme-and-bare-registry-are-one-repository",
        [
            secret(
                "reg",
                "registry.example.com/charts",
                username="u",
                password="p",
                type="helm",
                enableOCI="true",
            )
        ],
        "oci://registry.example.com/charts",
        {"password": "p", "enable_oci": True},
    ),
    (
        "unscoped-secret-preferred-over-a-project-scoped-one",
        [
            secret("unscoped", "https://git.example.com/app", password="everyone"),
            secret("scoped", "https://git.example.com/app", password="team-only", project="team"),
        ],
        "https://git.example.com/app",
        {"password": "everyone", "sources": ["unscoped"]},
    ),
    (
        "ca-by-host-name-without-any-secret",
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-tls-certs-cm", "namespace": "argocd"},
                "data": {"git.example.com": CA},
            }
        ],
        "https://git.example.com:8443/app.git",
        {"ca_pem": CA, "sources": []},
    ),
    (
        "secrets-outside-the-argo-cd-namespace-do-not-count",
        [
            {
                **secret("elsewhere", "https://git.example.com/app", password="p"),
                "metadata": {
                    "name": "elsewhere",
                    "namespace": "default",
                    "labels": {"argocd.argoproj.io/secret-type": "repository"},
                },
            }
        ],
        "https://git.example.com/app",
        None,
    ),
    (
        "nothing-applies",
        [template("org", "https://git.example.com/org", password="p")],
        "https://other.example.com/org/app",
        None,
    ),
]


@pytest.fixture(scope="module")
def ca_pem() -> str:
    from tests.fixtures.testca import TestCA

    return TestCA().cert_pem


def _fill(value: Any, ca_pem: str) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, ca_pem) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ca_pem) for v in value]
    return ca_pem if value == CA else value


@pytest.mark.parametrize(("objects", "url", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_repository_url_gets_the_credentials_argo_cd_would_give_it(ca_pem, objects, url, expected) -> None:
    creds = repocreds.RepoCredentials.from_objects(_fill(objects, ca_pem))
    found = creds.lookup(url)
    if expected is None:
        assert found is None
        return
    expected = _fill(expected, ca_pem)
    assert found is not None
    sources = expected.pop("sources", None)
    for attribute, value in expected.items():
        assert getattr(found, attribute) == value, attribute
    if sources is not None:
        assert [s.split(" ")[1] for s in found.sources] == sources


def test_a_later_file_replaces_a_secret_of_the_same_url(tmp_path) -> None:
    import yaml

    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(yaml.safe_dump(secret("old", "https://git.example.com/app", password="old-pw")))
    second.write_text(yaml.safe_dump(secret("new", "https://git.example.com/app", password="new-pw")))
    found = repocreds.load([first, second]).lookup("https://git.example.com/app")
    assert found is not None and found.password == "new-pw"


def test_credentials_never_print(ca_pem) -> None:
    creds = repocreds.RepoCredentials.from_objects(
        [secret("s", "https://git.example.com/app", password="pw-Zx81")]
    )
    found = creds.lookup("https://git.example.com/app")
    for text in (repr(creds), repr(found), repr(creds.repositories[0]), str(found)):
        assert "pw-Zx81" not in text


def test_a_reference_is_resolved_once_and_a_missing_one_names_the_secret_field_and_reference(
    vault_env,
) -> None:
    vault_env.put_secret("secret", "git/org", {"token": "vault-held-T0ken"})
    creds = repocreds.RepoCredentials.from_objects(
        [
            template("org", "https://git.example.com/org", password="ref+vault://secret/data/git/org#/token"),
            template(
                "other", "https://git.example.com/other", password="ref+vault://secret/data/git/gone#/token"
            ),
        ]
    )
    assert creds.lookup("https://git.example.com/org/a").password == "vault-held-T0ken"
    assert creds.lookup("https://git.example.com/org/b").password == "vault-held-T0ken"
    assert vault_env.request_count("secret/data/git/org") == 1
    with pytest.raises(Exception) as caught:
        creds.lookup("https://git.example.com/other/app")
    message = str(caught.value)
    assert "Secret other" in message and "data.password" in message and "secret/data/git/gone" in message
    assert "vault-held-T0ken" not in message
