"""Multi-source Applications: every source renders in order, ``ref`` sources feed ``$ref/...``
Helm value files, and ref-only sources render nothing."""

from __future__ import annotations

from typing import Any

import pytest

from fleet import errors, render
from fleet.render import cache
from tests.render_helpers import DATA, names

SOURCES: list[dict[str, Any]] = [
    {
        "repoURL": "https://git.example.com/charts.git",
        "path": "helm/guestbook",
        "targetRevision": "main",
        "helm": {"valueFiles": ["values-prod.yaml", "$values/envs/prod.yaml"]},
    },
    {"repoURL": "https://git.example.com/values.git", "targetRevision": "main", "ref": "values"},
    {
        "repoURL": "https://git.example.com/extra.git",
        "path": "directory/plain",
        "targetRevision": "v1",
        "directory": {"include": "namespace.yaml"},
    },
]


def render_all(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    dirs = [DATA, DATA / "helm" / "values-repo", DATA][: len(sources)]
    return render.render_sources(
        sources,
        source_dirs=dirs,
        app_name="guestbook",
        namespace="shop",
        revisions=["a" * 40, "b" * 40, "c" * 40][: len(sources)],
        cache=cache.NO_CACHE,
    )


def test_sources_render_in_order_and_ref_values_apply() -> None:
    objs = render_all(SOURCES)
    assert names(objs)[-1] == "Namespace/shop"
    deployment = next(o for o in objs if o["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28-from-ref"
    assert deployment["metadata"]["labels"] == {"app": "guestbook-guestbook", "source": "ref", "tier": "prod"}


def test_a_ref_only_source_renders_nothing() -> None:
    assert render_all([SOURCES[1]]) == []
    assert render.source_from_argo(SOURCES[1]).is_ref_only


def test_duplicate_refs_are_input_errors() -> None:
    with pytest.raises(errors.InputError, match="duplicate source ref") as caught:
        render_all([SOURCES[1], SOURCES[1]])
    assert caught.value.field == "spec.sources[1].ref"


def test_lengths_must_match() -> None:
    with pytest.raises(errors.InputError, match="same length"):
        render.render_sources(SOURCES, source_dirs=[DATA], app_name="a", namespace="n", revisions=["r"])
