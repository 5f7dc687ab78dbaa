"""The git directories generator (fasttemplate; goTemplate parameters: test_gotemplate_mode)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures import appset as fx
from tests.fixtures.git import GitRepo


@pytest.mark.parametrize("name", fx.case_names("git-directories-"))
def test_git_directories_case(name: str, run_case: Callable[[str], Any]) -> None:
    case, result = run_case(name)
    fx.check_case(case, result)


def appset(url: str, revision: str, *patterns: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "dirs"},
        "spec": {
            "generators": [{"git": {"repoURL": url, "revision": revision, "directories": list(patterns)}}],
            "template": {
                "metadata": {"name": "{{path.basenameNormalized}}"},
                "spec": {"project": "default", "destination": {"name": "in-cluster", "namespace": "x"}},
            },
        },
    }


def test_the_revision_decides_which_directories_exist(
    make_git_repo: Callable[..., GitRepo], repo_cache: Any
) -> None:
    repo = make_git_repo(files={"apps/old/a.yaml": "x: 1"})
    repo.tag("v1")
    repo.commit("add new", {"apps/new/a.yaml": "x: 1"})
    names = {
        revision: [
            a["metadata"]["name"]
            for a in fx.generate(appset(repo.url, revision, {"path": "apps/*"}), repos=repo_cache).objects
        ]
        for revision in ("v1", "main", repo.head)
    }
    assert names == {"v1": ["old"], "main": ["new", "old"], repo.head: ["new", "old"]}


def test_intermediate_directories_are_candidates(
    make_git_repo: Callable[..., GitRepo], repo_cache: Any
) -> None:
    repo = make_git_repo(files={"a/b/c/file.yaml": "x: 1"})
    result = fx.generate(appset(repo.url, "HEAD", {"path": "*"}, {"path": "a/*"}), repos=repo_cache)
    assert [a["metadata"]["name"] for a in result.objects] == ["a", "b"]


def test_a_malformed_pattern_matches_nothing_and_the_others_still_apply(
    make_git_repo: Callable[..., GitRepo], repo_cache: Any
) -> None:
    repo = make_git_repo(files={"apps/web/a.yaml": "x: 1"})
    result = fx.generate(appset(repo.url, "HEAD", {"path": "apps/["}, {"path": "apps/*"}), repos=repo_cache)
    assert result.error is None
    assert [a["metadata"]["name"] for a in result.objects] == ["web"]


def test_a_repo_map_previews_an_uncommitted_directory(
    make_git_repo: Callable[..., GitRepo], repo_cache: Any
) -> None:
    repo = make_git_repo(files={"apps/web/a.yaml": "x: 1"})
    repo.write({"apps/draft/a.yaml": "x: 1"})
    url = "https://git.example.com/org/fleet.git"
    result = fx.generate(appset(url, "main", {"path": "apps/*"}), repos=repo_cache, repo_map={url: repo.path})
    assert [a["metadata"]["name"] for a in result.objects] == ["draft", "web"]


def test_the_template_project_must_exist_when_projects_are_known(
    make_git_repo: Callable[..., GitRepo], repo_cache: Any
) -> None:
    repo = make_git_repo(files={"apps/web/a.yaml": "x: 1"})
    doc = appset(repo.url, "HEAD", {"path": "apps/*"})
    doc["spec"]["template"]["spec"]["project"] = "payments"
    result = fx.generate(doc, repos=repo_cache, projects=["platform"])
    assert "error getting project 'payments'" in str(result.error)
    assert fx.generate(doc, repos=repo_cache, projects=["payments"]).error is None
