"""Post-selectors: a generator entry's ``selector`` filters its parameter sets, flattened to dotted keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures import appset as fx
from tests.fixtures.git import GitRepo

ELEMENTS = [
    {"name": "a", "env": "prod", "values": {"tier": "gold"}},
    {"name": "b", "env": "staging", "values": {"tier": "silver"}},
    {"name": "c", "env": "prod", "url": "https://c.example.com:6443"},
]


def appset(selector: Any, elements: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"list": {"elements": elements or ELEMENTS}}
    if selector is not None:
        entry["selector"] = selector
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "selected"},
        "spec": {
            "generators": [entry],
            "template": {
                "metadata": {"name": "{{name}}"},
                "spec": {"project": "default", "destination": {"name": "in-cluster", "namespace": "x"}},
            },
        },
    }


def names(doc: dict[str, Any], **options: Any) -> list[str]:
    result = fx.generate(doc, **options)
    assert result.error is None, str(result.error)
    return [a["metadata"]["name"] for a in result.objects]


CASES = [
    ("no selector keeps everything", None, ["a", "b", "c"]),
    ("an empty selector keeps everything", {}, ["a", "b", "c"]),
    ("matchLabels", {"matchLabels": {"env": "prod"}}, ["a", "c"]),
    ("a flattened values key", {"matchLabels": {"values.tier": "gold"}}, ["a"]),
    (
        "In",
        {"matchExpressions": [{"key": "values.tier", "operator": "In", "values": ["gold", "silver"]}]},
        ["a", "b"],
    ),
    (
        "NotIn includes sets without the key",
        {"matchExpressions": [{"key": "values.tier", "operator": "NotIn", "values": ["gold"]}]},
        ["b", "c"],
    ),
    ("Exists", {"matchExpressions": [{"key": "url", "operator": "Exists"}]}, ["c"]),
    ("DoesNotExist", {"matchExpressions": [{"key": "url", "operator": "DoesNotExist"}]}, ["a", "b"]),
    (
        "values are not validated, so URLs match",
        {"matchLabels": {"url": "https://c.example.com:6443"}},
        ["c"],
    ),
]


@pytest.mark.parametrize("selector, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_post_selectors_filter_parameter_sets(selector: Any, expected: list[str]) -> None:
    assert names(appset(selector)) == expected


def test_post_selectors_match_git_path_parameters(
    make_git_repo: Callable[..., GitRepo], repo_cache: Any
) -> None:
    repo = make_git_repo(files={"apps/web/k.yaml": "x: 1", "apps/api/k.yaml": "x: 1"})
    doc = appset({"matchLabels": {"path.basename": "web"}})
    doc["spec"]["generators"][0] = {
        "git": {"repoURL": repo.url, "revision": "HEAD", "directories": [{"path": "apps/*"}]},
        "selector": {"matchLabels": {"path.basename": "web"}},
    }
    doc["spec"]["template"]["metadata"]["name"] = "{{path.basename}}"
    assert names(doc, repos=repo_cache) == ["web"]


def test_post_selectors_compare_the_go_formatting_of_non_string_values() -> None:
    elements = [{"name": "x"}]
    doc = appset({"matchLabels": {"n": "3", "flag": "true"}}, elements)
    doc["spec"]["generators"][0]["list"]["elementsYaml"] = (
        "- {name: y, n: 3, flag: true}\n- {name: z, n: 3.5, flag: true}"
    )
    # n: 3 decodes to float64 3, which Go prints as "3"; 3.5 prints "3.5"; true prints "true".
    assert names(doc) == ["y"]


def test_post_selectors_are_not_interpolated_in_a_matrix() -> None:
    second = {"list": {"elements": [{"b": "1"}, {"b": "{{a}}"}]}, "selector": {"matchLabels": {"b": "{{a}}"}}}
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "m"},
        "spec": {
            "generators": [{"matrix": {"generators": [{"list": {"elements": [{"a": "1"}]}}, second]}}],
            "template": {
                "metadata": {"name": "{{a}}-{{b}}"},
                "spec": {"project": "default", "destination": {"name": "in-cluster", "namespace": "x"}},
            },
        },
    }
    # The selector keeps its literal '{{a}}', which matches no rendered element.
    assert names(doc) == []


def test_an_invalid_post_selector_key_fails_the_application_set() -> None:
    result = fx.generate(appset({"matchLabels": {"path[0]": "apps"}}))
    assert result.objects == ()
    assert "error parsing label selector: key 'path[0]'" in str(result.error)
    assert "generators[0]" in str(result.error)
