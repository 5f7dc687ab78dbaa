"""The cluster generator: selectors, parameters, values, the implicit in-cluster entry, flatList."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fleet import models
from tests.fixtures import appset as fx


@pytest.mark.parametrize("name", fx.case_names("cluster-"))
def test_cluster_generator_case(name: str, run_case: Callable[[str], Any]) -> None:
    case, result = run_case(name)
    fx.check_case(case, result)


def appset_with(selector: Any = None, **generator: Any) -> dict[str, Any]:
    spec: dict[str, Any] = dict(generator)
    if selector is not None:
        spec["selector"] = selector
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "clusters"},
        "spec": {
            "generators": [{"clusters": spec}],
            "template": {
                "metadata": {"name": "{{name}}"},
                "spec": {"project": "default", "destination": {"server": "{{server}}", "namespace": "x"}},
            },
        },
    }


def names(result: Any) -> list[str]:
    assert result.error is None, str(result.error)
    return [app["metadata"]["name"] for app in result.objects]


SELECTOR_CASES = [
    ("no selector: all clusters and in-cluster", None, ["staging-eu", "prod-eu", "prod-us", "in-cluster"]),
    ("empty selector: same", {}, ["staging-eu", "prod-eu", "prod-us", "in-cluster"]),
    ("matchLabels", {"matchLabels": {"env": "prod"}}, ["prod-eu", "prod-us"]),
    (
        "matchLabels on the secret-type label",
        {"matchLabels": {"argocd.argoproj.io/secret-type": "cluster"}},
        ["staging-eu", "prod-eu", "prod-us"],
    ),
    ("In", {"matchExpressions": [{"key": "region", "operator": "In", "values": ["us", "ap"]}]}, ["prod-us"]),
    (
        "NotIn",
        {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]},
        ["staging-eu"],
    ),
    (
        "NotIn matches clusters without the label",
        {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["edge"]}]},
        ["staging-eu", "prod-eu", "prod-us"],
    ),
    (
        "Exists",
        {"matchExpressions": [{"key": "env", "operator": "Exists"}]},
        ["staging-eu", "prod-eu", "prod-us"],
    ),
    ("DoesNotExist", {"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, []),
    (
        "labels and expressions are ANDed",
        {
            "matchLabels": {"env": "prod"},
            "matchExpressions": [{"key": "region", "operator": "In", "values": ["eu"]}],
        },
        ["prod-eu"],
    ),
    ("nothing matches", {"matchLabels": {"env": "qa"}}, []),
]


@pytest.mark.parametrize(
    "selector, expected", [c[1:] for c in SELECTOR_CASES], ids=[c[0] for c in SELECTOR_CASES]
)
def test_cluster_selector_chooses_clusters_by_secret_labels(selector: Any, expected: list[str]) -> None:
    assert names(fx.generate(appset_with(selector))) == expected


def test_a_secret_for_the_local_server_replaces_the_implicit_in_cluster_entry() -> None:
    local = models.Cluster(name="local", server=models.IN_CLUSTER_SERVER, labels={"env": "dev"})
    result = fx.generate(appset_with(), clusters=[*fx.test_clusters(), local])
    assert names(result) == ["staging-eu", "prod-eu", "prod-us", "local"]


def test_no_in_cluster_leaves_out_the_implicit_entry() -> None:
    assert names(fx.generate(appset_with(), in_cluster=False)) == ["staging-eu", "prod-eu", "prod-us"]


def test_clusters_with_the_same_name_collapse_to_one() -> None:
    twin = models.Cluster(name="prod-us", server="https://prod-us-2.example.com", labels={"env": "prod"})
    result = fx.generate(appset_with({"matchLabels": {"env": "prod"}}), clusters=[*fx.test_clusters(), twin])
    assert [a["spec"]["destination"]["server"] for a in result.objects] == [
        "https://prod-eu.example.com:6443",
        "https://prod-us-2.example.com",
    ]


def test_name_normalized_follows_argo_cd_sanitize_name() -> None:
    odd = models.Cluster(name="Team_A/Prod.01-", server="https://odd.example.com", labels={"odd": "yes"})
    appset = appset_with({"matchLabels": {"odd": "yes"}})
    appset["spec"]["template"]["metadata"]["name"] = "{{nameNormalized}}"
    assert names(fx.generate(appset, clusters=[odd])) == ["team-a-prod.01"]


def test_flat_list_yields_one_parameter_set_holding_every_cluster() -> None:
    appset = appset_with(flatList=True)
    appset["spec"]["template"]["spec"]["destination"] = {"name": "in-cluster", "namespace": "x"}
    result = fx.generate(appset)
    # fasttemplate cannot print the list, so the name tag stays; there is exactly one set.
    assert names(result) == ["{{name}}"]


INVALID_SELECTORS = [
    (
        "unknown operator",
        {"matchExpressions": [{"key": "env", "operator": "Equals", "values": ["a"]}]},
        "'Equals' is not a valid label selector operator",
    ),
    (
        "In without values",
        {"matchExpressions": [{"key": "env", "operator": "In", "values": []}]},
        "values set can't be empty",
    ),
    (
        "Exists with values",
        {"matchExpressions": [{"key": "env", "operator": "Exists", "values": ["a"]}]},
        "values set must be empty",
    ),
    (
        "invalid label value",
        {"matchLabels": {"server": "https://a.example.com"}},
        "value 'https://a.example.com'",
    ),
    ("invalid label key", {"matchLabels": {"bad key": "x"}}, "key 'bad key'"),
]


@pytest.mark.parametrize(
    "selector, message", [c[1:] for c in INVALID_SELECTORS], ids=[c[0] for c in INVALID_SELECTORS]
)
def test_an_invalid_cluster_selector_fails_the_application_set(selector: Any, message: str) -> None:
    result = fx.generate(appset_with(selector))
    assert result.objects == ()
    assert message in str(result.error)
    assert "generators[0].clusters" in str(result.error)
