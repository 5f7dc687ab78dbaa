"""ignoreDifferences: matching, JSON pointers, jq path expressions, managedFieldsManagers, and
RespectIgnoreDifferences copying live values into the applied object."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet import diff, errors

DATA = Path(__file__).parent / "data" / "diff"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((DATA / f"{name}.yaml").read_text())


def drifted() -> dict[str, Any]:
    live = load("deployment-live")
    live["spec"]["replicas"] = 7
    live["metadata"]["labels"]["app"] = "edited"
    return live


RULE_CASES = [
    (
        "json-pointer",
        {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas", "/metadata/labels/app"]},
        True,
    ),
    (
        "jq-path",
        {
            "group": "apps",
            "kind": "Deployment",
            "jqPathExpressions": [".spec.replicas", ".metadata.labels | .app"],
        },
        True,
    ),
    (
        "managed-fields-manager",
        {
            "group": "apps",
            "kind": "Deployment",
            "jsonPointers": ["/metadata/labels"],
            "managedFieldsManagers": ["kube-controller-manager"],
        },
        True,
    ),
    ("only-one-pointer", {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}, False),
    (
        "other-kind",
        {"group": "apps", "kind": "StatefulSet", "jsonPointers": ["/spec/replicas", "/metadata/labels"]},
        False,
    ),
    (
        "other-name",
        {"group": "apps", "kind": "Deployment", "name": "api", "jsonPointers": ["/spec", "/metadata"]},
        False,
    ),
    (
        "matching-name-and-namespace",
        {
            "group": "apps",
            "kind": "Deployment",
            "name": "web",
            "namespace": "shop",
            "jsonPointers": ["/spec/replicas", "/metadata/labels"],
        },
        True,
    ),
]


@pytest.mark.parametrize(("name", "rule", "in_sync"), RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_ignored_fields_do_not_count_as_drift(name: str, rule: dict, in_sync: bool) -> None:
    rules = diff.parse_ignore_differences([rule])
    assert diff.diff(load("deployment-desired"), drifted(), ignore=rules).in_sync is in_sync


def test_jq_select_ignores_one_keyed_list_item_on_both_sides() -> None:
    desired = load("deployment-desired")
    desired["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "TOKEN", "value": "a"})
    live = load("deployment-live")
    live["spec"]["template"]["spec"]["containers"][0]["env"].insert(0, {"name": "TOKEN", "value": "b"})
    rule = {
        "group": "apps",
        "kind": "Deployment",
        "jqPathExpressions": ['.spec.template.spec.containers[].env[]? | select(.name == "TOKEN")'],
    }
    assert not diff.diff(desired, live).in_sync
    assert diff.diff(desired, live, ignore=diff.parse_ignore_differences([rule])).in_sync


def test_jq_expression_that_fails_on_an_object_ignores_nothing() -> None:
    rule = {"kind": "ConfigMap", "jqPathExpressions": [".data.items[] | select(.x)"]}
    desired = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    live = {**desired, "data": {"a": "2"}}
    assert not diff.diff(desired, live, ignore=diff.parse_ignore_differences([rule])).in_sync


def test_managed_fields_parse_keyed_items_and_whole_items() -> None:
    paths = diff.managed_paths(load("deployment-live"), ["sidecar-injector"])
    assert paths == [
        (("f", "spec"), ("f", "template"), ("f", "spec"), ("f", "containers"), ("k", {"name": "proxy"}))
    ]
    fleet_paths = diff.managed_paths(load("deployment-live"), ["fleet"])
    assert (("f", "metadata"), ("f", "labels"), ("f", "app")) in fleet_paths


def test_managers_changes_to_a_keyed_item_are_ignored() -> None:
    desired = load("deployment-desired")
    desired["spec"]["template"]["spec"]["containers"].append({"name": "proxy", "image": "envoy:1.29"})
    rules = diff.parse_ignore_differences(
        [{"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["sidecar-injector"]}]
    )
    assert not diff.diff(desired, load("deployment-live")).in_sync
    assert diff.diff(desired, load("deployment-live"), ignore=rules).in_sync


BAD_RULES = [
    ("no-kind", [{"jsonPointers": ["/spec"]}], "spec.ignoreDifferences[0]"),
    (
        "bad-pointer",
        [{"kind": "X", "jsonPointers": ["spec/replicas"]}],
        "spec.ignoreDifferences[0].jsonPointers",
    ),
    (
        "bad-jq",
        [{"kind": "X", "jqPathExpressions": [".spec[["]}],
        "spec.ignoreDifferences[0].jqPathExpressions",
    ),
]


@pytest.mark.parametrize(("name", "spec", "field"), BAD_RULES, ids=[c[0] for c in BAD_RULES])
def test_bad_rules_are_input_errors_naming_the_field(name: str, spec: list, field: str) -> None:
    with pytest.raises(errors.InputError) as caught:
        diff.parse_ignore_differences(spec)
    assert caught.value.field == field


def test_respect_ignore_differences_keeps_live_values_in_the_applied_object() -> None:
    rules = diff.parse_ignore_differences(
        [
            {
                "group": "apps",
                "kind": "Deployment",
                "jsonPointers": ["/spec/replicas", "/spec/paused"],
                "jqPathExpressions": ['.spec.template.spec.containers[] | select(.name == "app") | .image'],
            }
        ]
    )
    desired = load("deployment-desired")
    desired["spec"]["paused"] = True  # ignored, and live has no value: dropped from the apply
    live = drifted()
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:hotfix"
    applied = diff.respect_ignore_differences(desired, live, rules)
    assert applied["spec"]["replicas"] == 7
    assert "paused" not in applied["spec"]
    assert applied["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:hotfix"
    assert applied["metadata"]["labels"]["app"] == "web"  # not ignored: desired wins
    assert desired["spec"]["replicas"] == 2


def test_respect_ignore_differences_without_live_object_changes_nothing() -> None:
    rules = diff.parse_ignore_differences(
        [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]
    )
    desired = load("deployment-desired")
    assert diff.respect_ignore_differences(desired, None, rules) == desired
    assert copy.deepcopy(desired) == diff.respect_ignore_differences(desired, load("deployment-live"), ())
