"""An Application whose Helm repository chart cannot be had fails alone, saying why: OCI registries
(not supported yet) and sources that are no Helm repository or constraint are RenderFailed
(nothing was requested); an unreachable repository or a constraint no version satisfies is
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
    ("oci-registry", {"source": _podinfo("oci://registry.example.com/charts")}, "RenderFailed",
     ["OCI Helm registries are not supported yet", "field spec.source.repoURL"]),
    ("oci-in-a-multi-source-app",
     {"sources": [_podinfo("HELM"), _podinfo("oci://registry.example.com/charts")]}, "RenderFailed",
     ["OCI Helm registries are not supported yet", "field spec.sources[1].repoURL"]),
    ("registry-host-without-scheme", {"source": _podinfo("registry.example.com/charts")}, "RenderFailed",
     ["is not an http(s) Helm repository", "OCI"]),
    ("branch-name-as-revision", {"source": _podinfo("HELM", "main")}, "RenderFailed",
     ["'main'", "neither a version nor a semver constraint", "field spec.source.targetRevision"]),
    ("no-version-matches", {"source": _podinfo("HELM", "9.*")}, "SourceFailed",
     ["'podinfo'", "'9.*'", "no version satisfies"]),
    ("unreachable-repository", {"source": _podinfo("CLOSED")}, "SourceFailed",
     ["'podinfo'", "'6.5.*'", "connection refused"]),
]


@pytest.mark.parametrize(("source", "reason", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_chart_that_cannot_be_had_fails_only_its_application(
    make_fleet, helm_repo, source: dict[str, Any], reason: str, words: list[str]
) -> None:
    env = make_fleet("helmrepo", clusters=1)
    appset = env.root / "appset.yaml"
    appset.write_text(appset.read_text().replace("HELM_REPO_URL", helm_repo.url))
    closed = f"http://127.0.0.1:{_closed_port()}"
    for item in source.get("sources") or [source["source"]]:
        item["repoURL"] = {"HELM": helm_repo.url, "CLOSED": closed}.get(item["repoURL"], item["repoURL"])
    cluster = env.cluster_names[0]
    env.write("broken.yaml", {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "broken", "namespace": "argocd"},
        "spec": {"project": "default", **source, "destination": {"name": cluster, "namespace": "charts"}},
    })
    run = env.sync()
    assert run.exit_code == 1
    broken = run.app(cluster, "broken")
    assert broken.reason.value == reason
    for word in ["broken", *words]:
        assert word in broken.message
    assert run.app(cluster, f"podinfo-{cluster}").ok and run.app(cluster, f"layered-{cluster}").ok
    assert not [o for o in env.objects(cluster, "charts") if o["metadata"]["name"].startswith("broken")]
