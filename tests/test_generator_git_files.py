"""The git files generator (fasttemplate; goTemplate parameters: test_gotemplate_mode)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures import appset as fx
from tests.fixtures.git import GitRepo


@pytest.mark.parametrize("name", fx.case_names("git-files-"))
def test_git_files_case(name: str, run_case: Callable[[str], Any]) -> None:
    case, result = run_case(name)
    fx.check_case(case, result)


def files_appset(url: str, *patterns: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "files"},
        "spec": {
            "generators": [
                {"git": {"repoURL": url, "revision": "HEAD", "files": [{"path": p} for p in patterns]}}
            ],
            "template": {
                "metadata": {"name": "{{name}}"},
                "spec": {"project": "default", "destination": {"name": "in-cluster", "namespace": "x"}},
            },
        },
    }


GLOB_CASES = [
    ("legacy star crosses directories", False, "p/*.json", ["deep", "top"]),
    ("legacy double star needs a directory", False, "p/**/c.json", ["deep"]),
    ("new globbing star stays in a directory", True, "p/*.json", ["top"]),
    ("new globbing double star matches zero directories", True, "p/**/*.json", ["deep", "top"]),
]


@pytest.mark.parametrize(
    "new_globbing, pattern, expected", [c[1:] for c in GLOB_CASES], ids=[c[0] for c in GLOB_CASES]
)
def test_file_globbing_legacy_and_new(
    make_git_repo: Callable[..., GitRepo],
    repo_cache: Any,
    new_globbing: bool,
    pattern: str,
    expected: list[str],
) -> None:
    repo = make_git_repo(files={"p/top.json": '{"name": "top"}', "p/x/c.json": '{"name": "deep"}'})
    result = fx.generate(
        files_appset(repo.url, pattern), repos=repo_cache, new_git_file_globbing=new_globbing
    )
    assert sorted(a["metadata"]["name"] for a in result.objects) == expected


def test_a_file_selected_by_two_patterns_counts_once(
    make_git_repo: Callable[..., GitRepo], repo_cache: Any
) -> None:
    repo = make_git_repo(files={"envs/dev/c.json": '{"name": "dev"}'})
    result = fx.generate(files_appset(repo.url, "envs/*/c.json", "envs/dev/c.json"), repos=repo_cache)
    assert [a["metadata"]["name"] for a in result.objects] == ["dev"]


def test_a_top_level_path_key_in_the_file_is_replaced_by_the_path_parameter(
    make_git_repo: Callable[..., GitRepo], repo_cache: Any
) -> None:
    repo = make_git_repo(
        files={"envs/dev/c.json": '{"name": "dev", "path": "from-file", "path.extra": "kept"}'}
    )
    doc = files_appset(repo.url, "envs/*/c.json")
    doc["spec"]["template"]["metadata"]["annotations"] = {"p": "{{path}} {{path.extra}}"}
    (app,) = fx.generate(doc, repos=repo_cache).objects
    assert app["metadata"]["annotations"] == {"p": "envs/dev kept"}
