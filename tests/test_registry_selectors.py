"""Label selectors (kubectl's string form and LabelSelector objects) select clusters by label."""

from __future__ import annotations

import pytest

from fleet import errors
from fleet.clusters import selectors

PROD_EU = {"env": "prod", "region": "eu", "tier": "web", "gpu": "true", "replicas": "3"}
STAGING_US = {"env": "staging", "region": "us", "canary": "yes", "tier": "db"}
BARE: dict[str, str] = {}

# (selector, labels, expected match)
MATCH_CASES = [
    ("", BARE, True),
    ("env=prod", PROD_EU, True),
    ("env==prod", PROD_EU, True),
    ("env=prod", STAGING_US, False),
    ("env!=prod", STAGING_US, True),
    ("env!=prod", BARE, True),
    ("region in (eu,us)", PROD_EU, True),
    ("region in (eu, us)", STAGING_US, True),
    ("region in (ap)", PROD_EU, False),
    ("region in (eu)", BARE, False),
    ("region notin (eu)", PROD_EU, False),
    ("region notin (eu)", BARE, True),
    ("canary", STAGING_US, True),
    ("canary", PROD_EU, False),
    ("!canary", PROD_EU, True),
    ("!canary", STAGING_US, False),
    ("tier!=db", PROD_EU, True),
    ("tier!=db", STAGING_US, False),
    ("gpu", PROD_EU, True),
    ("env=prod,region in (eu,us),!canary,tier!=db,gpu", PROD_EU, True),
    ("env=prod,region in (eu,us),!canary,tier!=db,gpu", STAGING_US, False),
    ("replicas>2", PROD_EU, True),
    ("replicas<3", PROD_EU, False),
    ("replicas>2", BARE, False),
    ("example.com/team=a", {"example.com/team": "a"}, True),
    ("empty=", {"empty": ""}, True),
    ("empty=", {"empty": "x"}, False),
    ("  env = prod ,  tier  ", PROD_EU, True),
]


@pytest.mark.parametrize(
    "text, labels, expected", MATCH_CASES, ids=[f"{c[0] or '<empty>'}~{i}" for i, c in enumerate(MATCH_CASES)]
)
def test_selector_string_matches_labels_like_kubectl(text: str, labels: dict, expected: bool) -> None:
    assert selectors.matches(text, labels) is expected


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("env=prod", "env=prod"),
        ("env==prod,!canary", "env=prod,!canary"),
        ("region in (us,eu,eu)", "region in (eu,us)"),
        ("x notin (b,a)", "x notin (a,b)"),
        ("gpu,replicas>2", "gpu,replicas>2"),
    ],
)
def test_parsed_selector_prints_back_in_canonical_form(text: str, canonical: str) -> None:
    assert str(selectors.parse(text)) == canonical
    assert str(selectors.parse(canonical)) == canonical


BAD = [
    pytest.param("env=prod,", "must not end with ','", id="trailing-comma"),
    pytest.param("env in prod", "expected '('", id="in-without-parens"),
    pytest.param("env in (a b)", "expected ',' or ')'", id="set-missing-comma"),
    pytest.param("env=pr od", "expected ','", id="space-in-value"),
    pytest.param("-bad=x", "label key '-bad' is invalid", id="key-starts-with-dash"),
    pytest.param("Bad_Prefix/x=y", "invalid prefix", id="bad-prefix"),
    pytest.param("env=" + "v" * 64, "label value", id="value-too-long"),
    pytest.param("replicas>two", "not an integer", id="gt-not-integer"),
    pytest.param("=prod", "expected a label key", id="no-key"),
    pytest.param("env in ()", "needs at least one value", id="empty-set"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_malformed_selector_is_an_input_error_naming_the_position(text: str, message: str) -> None:
    with pytest.raises(errors.InputError, match="position") as info:
        selectors.parse(text, where="--selector")
    assert message in str(info.value)
    assert info.value.field == "--selector"


LABEL_SELECTOR_CASES = [
    pytest.param({}, BARE, True, id="empty-selects-everything"),
    pytest.param({"matchLabels": {"env": "prod"}}, PROD_EU, True, id="matchLabels-hit"),
    pytest.param({"matchLabels": {"env": "prod"}}, STAGING_US, False, id="matchLabels-miss"),
    pytest.param(
        {"matchExpressions": [{"key": "region", "operator": "In", "values": ["eu", "ap"]}]},
        PROD_EU,
        True,
        id="In",
    ),
    pytest.param(
        {"matchExpressions": [{"key": "region", "operator": "NotIn", "values": ["eu"]}]},
        BARE,
        True,
        id="NotIn-absent",
    ),
    pytest.param(
        {"matchExpressions": [{"key": "canary", "operator": "Exists"}]}, STAGING_US, True, id="Exists"
    ),
    pytest.param(
        {"matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]},
        STAGING_US,
        False,
        id="DoesNotExist",
    ),
    pytest.param(
        {
            "matchLabels": {"env": "prod"},
            "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}],
        },
        PROD_EU,
        True,
        id="both-anded",
    ),
]


@pytest.mark.parametrize("obj, labels, expected", LABEL_SELECTOR_CASES)
def test_label_selector_object_matches_like_kubernetes(obj: dict, labels: dict, expected: bool) -> None:
    assert selectors.from_label_selector(obj).matches(labels) is expected


@pytest.mark.parametrize(
    "obj, field",
    [
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["x"]}]},
            "selector.matchExpressions[0].operator",
            id="unknown-operator",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "In"}]},
            "selector.matchExpressions[0].values",
            id="In-without-values",
        ),
        pytest.param(
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
            "selector.matchExpressions[0].values",
            id="Exists-with-values",
        ),
        pytest.param(
            {"matchExpressions": [{"operator": "Exists"}]}, "selector.matchExpressions[0]", id="no-key"
        ),
    ],
)
def test_bad_label_selector_object_names_file_object_and_field(obj: dict, field: str) -> None:
    with pytest.raises(errors.InputError) as info:
        selectors.from_label_selector(obj, file="appset.yaml", obj_name="ApplicationSet web")
    assert (info.value.file, info.value.obj, info.value.field) == ("appset.yaml", "ApplicationSet web", field)
