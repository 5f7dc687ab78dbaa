"""Repository Secrets, credential templates and the known-hosts and TLS ConfigMaps read live from a
(simulated) management cluster's Argo CD namespace, as Argo CD reads them: by label for Secrets,
by name for the two ConfigMaps; other Secrets and namespaces are not read."""

from __future__ import annotations

from fleet import repocreds
from fleet.clusters import client
from tests.fixtures.testca import TestCA


def _secret(name: str, kind: str, url: str, namespace: str = "argocd", **data: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"argocd.argoproj.io/secret-type": kind},
        },
        "stringData": {"url": url, **data},
    }


def test_repository_credentials_are_read_live_from_the_argocd_namespace(sim_module) -> None:
    api = client.connect(sim_module.clusters()[0])
    ca = TestCA().cert_pem
    for ns in ("argocd", "elsewhere"):
        api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    api.apply(_secret("app-repo", "repository", "https://git.example.com/org/app", password="app-pw-1234"))
    api.apply(
        _secret(
            "org-creds", "repo-creds", "https://git.example.com/org", username="bot", password="org-pw-1234"
        )
    )
    api.apply(
        _secret(
            "other-ns", "repository", "https://git.example.com/org/other", "elsewhere", password="x-pw-1234"
        )
    )
    api.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-ssh-known-hosts-cm", "namespace": "argocd"},
            "data": {
                "ssh_known_hosts": "git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
            },
        }
    )
    api.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "argocd-tls-certs-cm", "namespace": "argocd"},
            "data": {"git.example.com": ca},
        }
    )
    found = repocreds.read_live(api)
    assert sorted(s.name for s in found.secrets) == ["app-repo", "org-creds"]
    app = found.lookup("https://git.example.com/org/app.git")
    assert (
        app is not None
        and app.password == "app-pw-1234"
        and app.ca_pem == ca
        and "ssh-ed25519" in app.known_hosts
    )
    other = found.lookup("https://git.example.com/org/other")
    assert other is not None and (other.username, other.password) == ("bot", "org-pw-1234")
    assert found.secrets[0].where == f"cluster {api.cluster.name} namespace argocd"
