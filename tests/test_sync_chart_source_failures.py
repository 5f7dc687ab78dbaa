"""An Application whose Helm repository or OCI chart cannot be had fails alone, saying why: sources
that are no chart repository, OCI repository name, constraint or digest are RenderFailed (nothing
was requested); an unreachable repository or registry, or a constraint no version satisfies, is
SourceFailed, naming the repository, chart and targetRevision. Every other Application syncs."""

from __future__ import annotations

import socket
from typing import Any

import pytest


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _podinfo(repo: str, revision: str = "6.5.*") -> dict[str, Any]:
    return {"repoURL": repo, "chart": "podinfo", "targetRevision": revision}


# (id, spec.source or spec.sources (HELM: the test repository), reason, words in the message)
CASES = [
    (
        "unreachable-oci-registry",
        {"source": _podinfo("oci://CLOSEDHOST/charts")},
        "SourceFailed",
        ["OCI registry", "connection refused"],
    ),
    (
        "unreachable-oci-registry-in-a-multi-source-app",
        {"sources": [_podinfo("HELM"), _podinfo("CLOSEDHOST/charts")]},
        "SourceFailed",
        ["OCI registry", "connection refused"],
    ),
    (
        "bad-oci-repository-name",
        {"source": _podinfo("oci://127.0.0.1:1/Charts")},
        "RenderFailed",
        ["is not an OCI repository name", "field spec.source.repoURL"],
    ),
    (
        "malformed-digest-pin",
        {"source": _podinfo("127.0.0.1:1/charts", "sha256:abc")},
        "RenderFailed",
        ["not a sha256 digest", "field spec.source.targetRevision"],
    ),
    (
        "not-a-chart-repository",
        {"source": _podinfo("ftp://charts.example.com/x")},
        "RenderFailed",
        ["neither an http(s) Helm repository nor an OCI registry", "field spec.source.repoURL"],
    ),
    (
        "branch-name-as-revision",
        {"source": _podinfo("HELM", "main")},
        "RenderFailed",
        ["'main'", "neither a version nor a semver constraint", "field spec.source.targetRevision"],
    ),
    (
        "no-version-matches",
        {"source": _podinfo("HELM", "9.*")},
        "SourceFailed",
        ["'podinfo'", "'9.*'", "no version satisfies"],
    ),
    (
        "unreachable-repository",
        {"source": _podinfo("CLOSED")},
        "SourceFailed",
        ["'podinfo'", "'6.5.*'", "connection refused"],
    ),
]


@pytest.mark.parametrize(("source", "reason", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_chart_that_cannot_be_had_fails_only_its_application(
    make_fleet, helm_repo, source: dict[str, Any], reason: str, words: list[str]
) -> None:
    env = make_fleet("helmrepo", clusters=1)
    appset = env.root / "appset.yaml"
    appset.write_text(appset.read_text().replace("HELM_REPO_URL", helm_repo.url))
    closed_port = _closed_port()
    closed = f"http://127.0.0.1:{closed_port}"
    for item in source.get("sources") or [source["source"]]:
        item["repoURL"] = {"HELM": helm_repo.url, "CLOSED": closed}.get(item["repoURL"], item["repoURL"])
        item["repoURL"] = item["repoURL"].replace("CLOSEDHOST", f"127.0.0.1:{closed_port}")
    cluster = env.cluster_names[0]
    env.write(
        "broken.yaml",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "broken", "namespace": "argocd"},
            "spec": {"project": "default", **source, "destination": {"name": cluster, "namespace": "charts"}},
        },
    )
    run = env.sync()
    assert run.exit_code == 1
    broken = run.app(cluster, "broken")
    assert broken.reason.value == reason
    for word in ["broken", *words]:
        assert word in broken.message
    assert run.app(cluster, f"podinfo-{cluster}").ok and run.app(cluster, f"layered-{cluster}").ok
    assert not [o for o in env.objects(cluster, "charts") if o["metadata"]["name"].startswith("broken")]
