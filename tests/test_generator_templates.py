"""Generator-level templates: the generator's template fields win, empty ones come from spec.template."""

from __future__ import annotations

from typing import Any

from fleet import templating
from tests.fixtures import appset as fx

BASE = {
    "metadata": {"name": "base-{{name}}", "labels": {"base": "yes", "shared": "base"}},
    "spec": {
        "project": "default",
        "source": {"repoURL": "https://git.example.com/base.git", "path": "base", "targetRevision": "HEAD"},
        "destination": {"name": "in-cluster", "namespace": "base"},
        "syncPolicy": {"automated": {"prune": True}},
    },
}


def test_generator_template_fields_win_and_empty_ones_are_filled() -> None:
    generator = {
        "metadata": {"name": "gen-{{name}}", "labels": {"shared": "gen", "extra": ""}},
        "spec": {
            "source": {"path": "gen"},
            "destination": {"namespace": ""},
            "syncPolicy": {"automated": {"prune": False}},
        },
    }
    merged = templating.merge_generator_template(generator, BASE)
    assert merged == {
        "metadata": {"name": "gen-{{name}}", "labels": {"shared": "gen", "extra": "", "base": "yes"}},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://git.example.com/base.git",
                "path": "gen",
                "targetRevision": "HEAD",
            },
            "destination": {"name": "in-cluster", "namespace": "base"},
            # false is an empty value to mergo: the generator cannot turn prune off this way.
            "syncPolicy": {"automated": {"prune": True}},
        },
    }


def test_helm_values_object_is_taken_whole_not_merged() -> None:
    base = {"spec": {"source": {"helm": {"valuesObject": {"a": 1, "b": 2}}}}}
    generator = {"spec": {"source": {"helm": {"valuesObject": {"a": 9}}}}}
    merged = templating.merge_generator_template(generator, base)
    assert merged["spec"]["source"]["helm"]["valuesObject"] == {"a": 9}


def test_lists_are_not_merged() -> None:
    base = {"metadata": {"finalizers": ["a", "b"]}}
    assert templating.merge_generator_template({"metadata": {"finalizers": ["c"]}}, base)["metadata"][
        "finalizers"
    ] == ["c"]
    assert templating.merge_generator_template({"metadata": {"finalizers": []}}, base)["metadata"][
        "finalizers"
    ] == ["a", "b"]


def appset(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "templated"},
        "spec": {"generators": entries, "template": BASE},
    }


def test_each_generator_entry_renders_with_its_own_merged_template() -> None:
    entries = [
        {
            "list": {
                "elements": [{"name": "one"}],
                "template": {"metadata": {"name": "first-{{name}}"}, "spec": {"project": ""}},
            }
        },
        {"list": {"elements": [{"name": "two"}]}},
    ]
    result = fx.generate(appset(entries))
    assert result.error is None, str(result.error)
    assert [(a["metadata"]["name"], a["metadata"]["labels"]) for a in result.objects] == [
        ("first-one", {"base": "yes", "shared": "base"}),
        ("base-two", {"base": "yes", "shared": "base"}),
    ]


def test_an_entry_setting_two_kinds_runs_both_at_the_top_level() -> None:
    entries = [
        {
            "list": {"elements": [{"name": "from-list"}]},
            "clusters": {"selector": {"matchLabels": {"region": "us"}}},
        }
    ]
    result = fx.generate(appset(entries))
    assert [a["metadata"]["name"] for a in result.objects] == ["base-from-list", "base-prod-us"]
    assert [o.generator for o in result.origins] == ["generators[0].list", "generators[0].clusters"]


def test_an_entry_with_no_known_generator_warns_and_generates_nothing() -> None:
    result = fx.generate(appset([{"selector": {}}, {"list": {"elements": [{"name": "x"}]}}]))
    assert result.error is None
    assert [a["metadata"]["name"] for a in result.objects] == ["base-x"]
    assert result.warnings == (
        "generators[0]: contains no recognised generator (keys: none); it generates nothing",
    )
