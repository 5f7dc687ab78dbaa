"""The matrix generator: combinations, interpolation of child 2, key conflicts, nesting limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures import appset as fx
from tests.fixtures.git import GitRepo


def appset(*children: dict[str, Any], name: str = "{{a}}-{{b}}", **matrix: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "matrix"},
        "spec": {
            "generators": [{"matrix": {"generators": list(children), **matrix}}],
            "template": {
                "metadata": {"name": name},
                "spec": {"project": "default", "destination": {"name": "in-cluster", "namespace": "x"}},
            },
        },
    }


def lst(*elements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"list": {"elements": list(elements), **extra}}


def names(result: Any) -> list[str]:
    assert result.error is None, str(result.error)
    return [a["metadata"]["name"] for a in result.objects]


def test_every_set_of_child_one_is_combined_with_every_set_of_child_two() -> None:
    result = fx.generate(appset(lst({"a": "1"}, {"a": "2"}), lst({"b": "x"}, {"b": "y"}, {"b": "z"})))
    assert names(result) == ["1-x", "1-y", "1-z", "2-x", "2-y", "2-z"]


def test_child_two_is_rendered_with_each_set_of_child_one() -> None:
    second = lst({"b": "{{a}}-child"}, elementsYaml="- b: '{{a}}-yaml'")
    assert names(fx.generate(appset(lst({"a": "1"}, {"a": "2"}), second))) == [
        "1-1-child",
        "1-1-yaml",
        "2-2-child",
        "2-2-yaml",
    ]


def test_a_cluster_selector_in_child_two_uses_child_one_parameters() -> None:
    doc = appset(
        lst({"env": "prod"}, {"env": "staging"}),
        {
            "clusters": {
                "selector": {"matchLabels": {"env": "{{env}}"}},
                "values": {"label": "{{env}}-{{name}}"},
            }
        },
        name="{{values.label}}",
    )
    assert names(fx.generate(doc)) == ["prod-prod-eu", "prod-prod-us", "staging-staging-eu"]


def test_git_directories_times_clusters(make_git_repo: Callable[..., GitRepo], repo_cache: Any) -> None:
    repo = make_git_repo(files={"apps/web/k.yaml": "x: 1", "apps/api/k.yaml": "x: 1"})
    doc = appset(
        {"git": {"repoURL": repo.url, "revision": "HEAD", "directories": [{"path": "apps/*"}]}},
        {"clusters": {"selector": {"matchLabels": {"env": "prod"}}}},
        name="{{path.basename}}-{{name}}",
    )
    assert names(fx.generate(doc, repos=repo_cache)) == [
        "api-prod-eu",
        "api-prod-us",
        "web-prod-eu",
        "web-prod-us",
    ]


def test_a_key_both_children_set_to_different_values_is_an_error(
    make_git_repo: Callable[..., GitRepo], repo_cache: Any
) -> None:
    repo = make_git_repo(files={"a/k.yaml": "x: 1", "b/k.yaml": "x: 1"})
    git = {"git": {"repoURL": repo.url, "revision": "HEAD", "directories": [{"path": "a"}]}}
    other = {"git": {"repoURL": repo.url, "revision": "HEAD", "directories": [{"path": "b"}]}}
    result = fx.generate(appset(git, other, name="{{path}}"), repos=repo_cache)
    assert result.objects == ()
    assert "found duplicate key path with different value, a: a ,b: b" in str(result.error)
    assert "generators[0].matrix" in str(result.error)
    prefixed = {"git": {**other["git"], "pathParamPrefix": "other"}}
    assert names(fx.generate(appset(git, prefixed, name="{{path}}-{{other.path}}"), repos=repo_cache)) == [
        "a-b"
    ]


def test_a_key_both_children_set_to_the_same_value_is_fine() -> None:
    assert names(fx.generate(appset(lst({"a": "1", "b": "2"}), lst({"b": "2"})))) == ["1-2"]


def test_an_empty_child_makes_the_matrix_empty() -> None:
    assert names(fx.generate(appset(lst({"a": "1"}), lst()))) == []
    assert names(fx.generate(appset(lst(), lst({"b": "1"})))) == []


def test_child_level_templates_are_ignored_and_the_matrix_template_is_used() -> None:
    child = lst({"a": "1"}, template={"metadata": {"name": "child-{{a}}"}})
    doc = appset(child, lst({"b": "2"}), template={"metadata": {"name": "matrix-{{a}}-{{b}}"}})
    assert names(fx.generate(doc)) == ["matrix-1-2"]


def test_a_post_selector_on_a_child_filters_that_child() -> None:
    second = {
        "list": {"elements": [{"b": "keep"}, {"b": "drop"}]},
        "selector": {"matchLabels": {"b": "keep"}},
    }
    assert names(fx.generate(appset(lst({"a": "1"}), second))) == ["1-keep"]


def test_one_level_of_nested_matrix_is_allowed() -> None:
    inner = {"matrix": {"generators": [lst({"b": "x"}), lst({"c": "y"})]}}
    assert names(fx.generate(appset(lst({"a": "1"}), inner, name="{{a}}-{{b}}-{{c}}"))) == ["1-x-y"]


def test_a_matrix_nested_two_levels_deep_is_an_error() -> None:
    innermost = {"matrix": {"generators": [lst({"c": "1"}), lst({"d": "2"})]}}
    inner = {"matrix": {"generators": [lst({"b": "x"}), innermost]}}
    result = fx.generate(appset(lst({"a": "1"}), inner))
    assert result.objects == ()
    assert "matrix cannot be used at this depth" in str(result.error)
    assert result.error.generator == "generators[0].matrix.generators[1].matrix.generators[1].matrix"


STRUCTURE_ERRORS = [
    (
        "one child",
        [lst({"a": "1"})],
        "found less than two generators, Matrix support only two",
        "generators[0].matrix",
    ),
    (
        "three children",
        [lst(), lst(), lst()],
        "found more than two generators, Matrix support only two",
        "generators[0].matrix",
    ),
    (
        "two kinds in one child",
        [lst({"a": "1"}), {"list": {"elements": [{}]}, "clusters": {}}],
        "found more than one generator in one child (list, clusters)",
        "generators[0].matrix.generators[1]",
    ),
    (
        "no kind in a child",
        [lst({"a": "1"}), {"selector": {}}],
        "child generator generated no parameters",
        "generators[0].matrix.generators[1]",
    ),
    (
        "an unsupported kind",
        [lst({"a": "1"}), {"pullRequest": {"github": {"owner": "o", "repo": "r"}}}],
        "the pullRequest generator is not supported",
        "generators[0].matrix.generators[1].pullRequest",
    ),
]


@pytest.mark.parametrize(
    "children, message, generator", [c[1:] for c in STRUCTURE_ERRORS], ids=[c[0] for c in STRUCTURE_ERRORS]
)
def test_a_malformed_matrix_fails_the_application_set(
    children: list[Any], message: str, generator: str
) -> None:
    result = fx.generate(appset(*children))
    assert result.objects == ()
    assert message in str(result.error)
    assert result.error.generator == generator
