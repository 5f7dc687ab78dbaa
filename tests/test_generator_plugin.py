"""The plugin generator speaks Argo CD's plugin protocol to a team's HTTP service, through
``fleet generate --argocd-context``: the ConfigMap on the management cluster gives baseUrl, token
(a reference to a Secret key) and requestTimeout; fleet POSTs the input parameters with the
Bearer token and turns ``output.parameters`` into Applications. A slow, refusing or confused
plugin fails the ApplicationSet with a clear message that never holds the token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from fleet.cli import app
from fleet.clusters.sim import SimServer
from tests import argocd_namespace

MANAGEMENT = "c001"


def appset(*, go_template: bool, config_map: str = "my-plugin", values: dict[str, str] | None = None) -> dict:
    name = "{{.env}}-{{.region.name}}" if go_template else "{{env}}-{{region.name}}"
    annotation = (
        '{{.values.owner}}/{{index .generator.input.parameters "team"}}'
        if go_template
        else ("{{values.owner}}/{{region.zones.1}}")
    )
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "from-plugin", "namespace": "argocd"},
        "spec": {
            "goTemplate": go_template,
            "goTemplateOptions": ["missingkey=error"] if go_template else [],
            "generators": [
                {
                    "plugin": {
                        "configMapRef": {"name": config_map},
                        "input": {"parameters": {"team": "payments", "tiers": ["web", "db"], "canary": True}},
                        "values": values if values is not None else {"owner": "platform"},
                        "requeueAfterSeconds": 30,
                    }
                }
            ],
            "template": {
                "metadata": {"name": f"app-{name}", "annotations": {"owner": annotation}},
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": "https://git.example.com/apps.git",
                        "path": "apps",
                        "targetRevision": "HEAD",
                    },
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "apps"},
                },
            },
        },
    }


@pytest.fixture
def management(sim: SimServer, tmp_path: Path, plugin_service: Any) -> dict[str, Any]:
    """Argo CD's namespace on c001: the plugin's ConfigMap, argocd-secret and another Secret."""
    plugin_service.parameters = [
        {"env": "prod", "region": {"name": "eu", "zones": ["a", "b"]}, "replicas": 3},
        {"env": "dev", "region": {"name": "us", "zones": ["c", "d"]}, "replicas": 1},
    ]
    argocd_namespace.config_map(
        sim,
        MANAGEMENT,
        "my-plugin",
        {
            "baseUrl": plugin_service.url,
            "token": "$plugin.myplugin.token",
            "requestTimeout": "2",
        },
    )
    argocd_namespace.secret(
        sim, MANAGEMENT, "argocd-secret", {"plugin.myplugin.token": plugin_service.token + "\n"}
    )
    argocd_namespace.secret(sim, MANAGEMENT, "plugin-creds", {"token": plugin_service.token})
    return {"kubeconfig": str(sim.write_kubeconfig(tmp_path / "kubeconfig")), "tmp": tmp_path}


def generate(management: dict[str, Any], doc: dict, *extra: str) -> tuple[int, str, str]:
    path = management["tmp"] / "appset.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(
        app,
        [
            "generate",
            str(path),
            "--argocd-context",
            MANAGEMENT,
            "--kubeconfig",
            management["kubeconfig"],
            *extra,
        ],
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("go_template", [True, False], ids=["goTemplate", "fasttemplate"])
def test_each_parameter_set_the_plugin_returns_is_an_application(
    management: dict[str, Any], plugin_service: Any, go_template: bool
) -> None:
    code, out, err = generate(management, appset(go_template=go_template), "-o", "json")
    assert code == 0, err
    apps = json.loads(out)
    assert [a["metadata"]["name"] for a in apps] == ["app-prod-eu", "app-dev-us"]
    expected = "platform/payments" if go_template else "platform/b"
    assert apps[0]["metadata"]["annotations"]["owner"] == expected
    [request] = plugin_service.requests
    assert request["path"] == "/api/v1/getparams.execute"
    assert request["headers"]["Authorization"] == f"Bearer {plugin_service.token}"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == {
        "applicationSetName": "from-plugin",
        "input": {"parameters": {"team": "payments", "tiers": ["web", "db"], "canary": True}},
    }


def test_fasttemplate_flattens_the_plugins_objects_with_gos_formatting(management: dict[str, Any]) -> None:
    doc = appset(go_template=False)
    doc["spec"]["template"]["metadata"]["annotations"] = {
        "replicas": "{{replicas}}",
        "zone": "{{region.zones.0}}",
        "echo": "{{echo.team}}",
    }
    code, out, err = generate(management, doc, "-o", "json")
    assert code == 0, err
    assert json.loads(out)[0]["metadata"]["annotations"] == {"replicas": "3", "zone": "a", "echo": "payments"}


def test_a_token_in_another_secret_is_read_with_the_secret_colon_key_form(
    sim: SimServer, management: dict[str, Any], plugin_service: Any
) -> None:
    argocd_namespace.config_map(
        sim,
        MANAGEMENT,
        "other-plugin",
        {
            "baseUrl": plugin_service.url + "/",
            "token": "$plugin-creds:token",
        },
    )
    code, out, err = generate(management, appset(go_template=True, config_map="other-plugin"), "-o", "json")
    assert code == 0, err
    assert len(json.loads(out)) == 2


def test_a_plugin_that_does_not_answer_in_time_fails_the_appset(
    management: dict[str, Any], plugin_service: Any
) -> None:
    plugin_service.mode = "hang"
    code, out, err = generate(management, appset(go_template=True))
    assert (code, out) == (1, "")
    assert "did not answer within 2s (requestTimeout)" in err
    assert f"127.0.0.1:{plugin_service.port}" in err


def test_a_wrong_token_is_refused_and_never_printed(
    sim: SimServer, management: dict[str, Any], plugin_service: Any
) -> None:
    argocd_namespace.secret(sim, MANAGEMENT, "argocd-secret", {"plugin.myplugin.token": "not-the-token"})
    code, out, err = generate(management, appset(go_template=True))
    assert (code, out) == (1, "")
    assert "API error with status code 403: bad token" in err
    assert "not-the-token" not in err
    assert plugin_service.requests[0]["headers"]["Authorization"] == "Bearer not-the-token"


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("not-json", "did not answer JSON"),
        ("no-list", "answered no output.parameters list of objects"),
        ("error", "API error with status code 500: database is down"),
    ],
    ids=["not-json", "parameters-not-a-list", "server-error"],
)
def test_a_malformed_answer_fails_the_appset(
    management: dict[str, Any], plugin_service: Any, mode: str, message: str
) -> None:
    plugin_service.mode = mode
    code, out, err = generate(management, appset(go_template=True))
    assert (code, out) == (1, "")
    assert "ApplicationSet from-plugin" in err and "generators[0].plugin" in err and message in err


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"token": "$plugin.myplugin.token"}, "baseUrl not found in ConfigMap argocd/broken"),
        ({"baseUrl": "http://127.0.0.1:1"}, "token not found in ConfigMap argocd/broken"),
        (
            {"baseUrl": "http://127.0.0.1:1", "token": "raw-token-value"},
            "token in ConfigMap argocd/broken must reference a Secret key ($key or $secret:key), not hold a value",
        ),
        (
            {"baseUrl": "http://127.0.0.1:1", "token": "$nope"},
            "Secret argocd/argocd-secret has no key 'nope'",
        ),
        (
            {"baseUrl": "http://127.0.0.1:1", "token": "$plugin.myplugin.token", "requestTimeout": "soon"},
            "error set requestTimeout: 'soon' in ConfigMap argocd/broken is not a whole number of seconds",
        ),
    ],
    ids=["no-base-url", "no-token", "token-is-a-value", "missing-secret-key", "bad-timeout"],
)
def test_a_broken_configmap_fails_the_appset_with_what_is_wrong(
    sim: SimServer, management: dict[str, Any], data: dict[str, str], message: str
) -> None:
    argocd_namespace.config_map(sim, MANAGEMENT, "broken", data)
    code, out, err = generate(management, appset(go_template=True, config_map="broken"))
    assert (code, out) == (1, "")
    assert message in err
    assert "raw-token-value" not in err


def test_without_a_management_cluster_the_generator_says_how_to_give_one(tmp_path: Path) -> None:
    path = tmp_path / "appset.yaml"
    path.write_text(yaml.safe_dump(appset(go_template=True)))
    result = CliRunner().invoke(app, ["generate", str(path)])
    assert result.exit_code == 1
    assert "give its kubeconfig context with --argocd-context" in result.stderr
