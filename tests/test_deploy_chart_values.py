"""The chart's values: values.schema.json (JSON Schema draft 7, as Helm reads it) rejects bad values
with a message naming the value, and every value is in the schema and the chart's README."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import pytest
import yaml

from fleet import render
from tests.deploy_helpers import CHART, MINIMAL, merge, render_chart

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())
README = (CHART / "README.md").read_text()

BAD_VALUES: list[tuple[str, dict[str, Any], str]] = [
    ("no-repository", {"fleet": {"repository": ""}}, "/fleet/repository"),
    ("unknown-mode", {"mode": "daemonset"}, "/mode"),
    ("unknown-executor", {"fleet": {"executor": "rocket"}}, "/fleet/executor"),
    ("misspelt-value", {"fleet": {"repositry": "https://x"}}, "repositry"),
    (
        "wildcard-verb",
        {"rbac": {"clusterRules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]}]}},
        "/rbac/clusterRules/0/verbs/0",
    ),
    ("two-sqlite-writers", {"mode": "serve", "serve": {"replicas": 2}}, "/serve/replicas"),
    ("rayjob-with-sqlite", {"ray": {"enabled": True, "kind": "RayJob"}}, "/store/type"),
    (
        "rayjob-in-serve-mode",
        {
            "mode": "serve",
            "ray": {"enabled": True, "kind": "RayJob"},
            "store": {"type": "postgresql", "postgresql": {"urlSecret": {"name": "pg"}}},
        },
        "/mode",
    ),
    ("postgresql-without-its-secret", {"store": {"type": "postgresql"}}, "/store/postgresql/urlSecret/name"),
    (
        "approle-without-its-secret",
        {"secretBackends": {"vault": {"address": "https://v:8200", "authMethod": "approle"}}},
        "/secretBackends/vault/appRoleSecret/name",
    ),
    ("bad-lock-wait", {"fleet": {"lockWait": "five minutes"}}, "/fleet/lockWait"),
    ("no-cluster-source", {"clusters": {"argocd": {"enabled": False}}}, "/clusters"),
    (
        "credential-as-a-plain-env-value",
        {"extraEnv": [{"name": "VAULT_TOKEN", "value": "hvs.not-here"}]},
        "/extraEnv/0",
    ),
    ("image-digest-not-sha256", {"image": {"digest": "latest"}}, "/image/digest"),
    ("serve-without-schedule", {"mode": "serve", "serve": {"every": "", "schedule": ""}}, "/serve"),
]


@pytest.mark.parametrize(("name", "values", "where"), BAD_VALUES, ids=[c[0] for c in BAD_VALUES])
def test_bad_values_are_rejected_naming_the_value(name: str, values: dict[str, Any], where: str) -> None:
    with pytest.raises(render.RenderError) as caught:
        render_chart(merge(MINIMAL, values))
    message = str(caught.value)
    assert where in message, message
    assert "deploy/chart" in message
    assert "hvs.not-here" not in message  # a refused credential is not repeated


def test_the_schema_is_valid_draft_7_and_accepts_the_defaults_with_a_repository() -> None:
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    jsonschema.Draft7Validator(SCHEMA).validate(merge(DEFAULTS, MINIMAL))


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    if "$ref" in node:
        return SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _documented_values(
    values: Mapping[str, Any], schema: Mapping[str, Any], prefix: str = ""
) -> Iterator[str]:
    """Every value's dotted path, down to the free-form maps (resources, annotations) as a whole."""
    for key, value in values.items():
        path = f"{prefix}{key}"
        assert key in schema.get("properties", {}), f"{path} is in values.yaml but not in values.schema.json"
        node = _resolve(schema["properties"][key])
        if isinstance(value, Mapping) and "properties" in node and value:
            yield from _documented_values(value, node, f"{path}.")
        else:
            yield path


VALUE_PATHS = sorted(_documented_values(DEFAULTS, SCHEMA))


@pytest.mark.parametrize("path", VALUE_PATHS)
def test_every_value_is_in_the_schema_and_documented_in_the_readme(path: str) -> None:
    assert f"`{path}`" in README, f"{path} is not documented in deploy/chart/README.md"
