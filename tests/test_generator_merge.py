"""The merge generator: base sets overridden by matching sets of later children (fasttemplate)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures import appset as fx


def appset(
    *children: dict[str, Any], keys: list[str] | None = None, name: str = "{{name}}"
) -> dict[str, Any]:
    merge: dict[str, Any] = {"generators": list(children)}
    if keys is not None:
        merge["mergeKeys"] = keys
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "merged"},
        "spec": {
            "generators": [{"merge": merge}],
            "template": {
                "metadata": {"name": name, "annotations": {"v": "{{values.redis}}", "extra": "{{extra}}"}},
                "spec": {"project": "default", "destination": {"name": "in-cluster", "namespace": "x"}},
            },
        },
    }


def lst(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"list": {"elements": list(elements)}}


CLUSTERS = {"clusters": {"values": {"redis": "off"}}}


def result_of(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    result = fx.generate(doc)
    assert result.error is None, str(result.error)
    return {a["metadata"]["name"]: a["metadata"]["annotations"] for a in result.objects}


def test_later_children_override_base_sets_with_the_same_merge_key_values() -> None:
    overrides = lst(
        {"name": "prod-eu", "values": {"redis": "on"}, "extra": "e"},
        {"name": "no-such-cluster", "extra": "x"},
    )
    assert result_of(appset(CLUSTERS, overrides, keys=["name"])) == {
        "staging-eu": {"v": "off", "extra": "{{extra}}"},
        "prod-eu": {"v": "on", "extra": "e"},
        "prod-us": {"v": "off", "extra": "{{extra}}"},
        "in-cluster": {"v": "off", "extra": "{{extra}}"},
    }


def test_the_last_child_wins_when_several_match() -> None:
    first = lst({"name": "prod-eu", "extra": "first"})
    second = lst({"name": "prod-eu", "extra": "second"})
    assert result_of(appset(CLUSTERS, first, second, keys=["name"]))["prod-eu"]["extra"] == "second"


def test_several_merge_keys_must_all_match() -> None:
    base = lst({"name": "a", "env": "dev", "extra": "base"}, {"name": "a", "env": "prod", "extra": "base"})
    override = lst({"name": "a", "env": "prod", "extra": "override"})
    doc = appset(base, override, keys=["name", "env", "name"], name="{{name}}-{{env}}")
    assert {k: v["extra"] for k, v in result_of(doc).items()} == {"a-dev": "base", "a-prod": "override"}


def test_a_literal_dotted_key_overrides_a_flat_value() -> None:
    overrides = lst({"name": "prod-us", "values.redis": "literal"})
    assert result_of(appset(CLUSTERS, overrides, keys=["name"]))["prod-us"]["v"] == "literal"


def test_merge_inside_a_matrix() -> None:
    inner = {
        "merge": {"mergeKeys": ["name"], "generators": [CLUSTERS, lst({"name": "prod-eu", "extra": "m"})]}
    }
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "m"},
        "spec": {
            "generators": [{"matrix": {"generators": [lst({"app": "web"}), inner]}}],
            "template": {
                "metadata": {"name": "{{app}}-{{name}}-{{extra}}"},
                "spec": {"project": "default", "destination": {"name": "in-cluster", "namespace": "x"}},
            },
        },
    }
    result = fx.generate(doc)
    assert sorted(a["metadata"]["name"] for a in result.objects) == [
        "web-in-cluster-{{extra}}",
        "web-prod-eu-m",
        "web-prod-us-{{extra}}",
        "web-staging-eu-{{extra}}",
    ]


ERRORS = [
    (
        "no merge keys",
        [CLUSTERS, lst({"name": "a"})],
        None,
        "no merge keys were specified",
        "generators[0].merge",
    ),
    (
        "empty merge keys",
        [CLUSTERS, lst({"name": "a"})],
        [],
        "no merge keys were specified",
        "generators[0].merge",
    ),
    (
        "one child",
        [CLUSTERS],
        ["name"],
        "found less than two generators, Merge requires two or more",
        "generators[0].merge",
    ),
    (
        "duplicate keys in the base",
        [lst({"name": "a"}, {"name": "a"}), lst({"name": "a"})],
        ["name"],
        'not unique by the given mergeKeys, Merge requires all param sets to be unique. Duplicate key was {"name":"a"}',
        "generators[0].merge.generators[0]",
    ),
    (
        "duplicate keys in a later child",
        [lst({"name": "a"}), lst({"name": "b"}, {"name": "b"})],
        ["name"],
        "Duplicate key was",
        "generators[0].merge.generators[1]",
    ),
    (
        "a missing key counts as null",
        [lst({"other": "1"}, {"other": "2"}), lst({"name": "a"})],
        ["name"],
        'Duplicate key was {"name":null}',
        "generators[0].merge.generators[0]",
    ),
    (
        "a failing child",
        [CLUSTERS, {"list": {"elements": [{"name": 1}]}}],
        ["name"],
        "error parsing value as string",
        "generators[0].merge.generators[1].list",
    ),
]


@pytest.mark.parametrize(
    "children, keys, message, generator", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS]
)
def test_a_malformed_merge_fails_the_application_set(
    children: list[Any], keys: list[str] | None, message: str, generator: str
) -> None:
    result = fx.generate(appset(*children, keys=keys))
    assert result.objects == ()
    assert message in str(result.error)
    assert result.error.generator == generator
