"""A generated Application whose name is not a valid Kubernetes object name (a DNS-1123 subdomain,
as the API server requires of an Application) is refused when a run generates the fleet: reported
naming the ApplicationSet, the name and the rule, like the other invalid Applications, and never
synced or counted Synced (it used to be, while its inventory ConfigMap failed to apply).
`fleet generate` prints it, as Argo CD's generation does, with a warning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from fleet import appset
from fleet.cli import app
from tests.fixtures import appset as fx

RULE = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters"


def named(*names: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "named", "namespace": "argocd"},
        "spec": {
            "generators": [{"list": {"elements": [{"app": n} for n in names]}}],
            "template": {
                "metadata": {"name": "{{app}}"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": "https://git.example.com/r.git", "path": "web"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
                },
            },
        },
    }


INVALID = [
    ("upper case", "Web-c001", RULE),
    ("underscore", "web_c001", RULE),
    ("leading dash", "-web", RULE),
    ("trailing dot", "web.", RULE),
    ("empty label", "web..c001", RULE),
    ("254 characters", "a" * 254, "must be no more than 253 characters (it has 254)"),
]


def refused(*names: str) -> appset.AppSetResult:
    (result,) = appset.refuse_invalid_names(
        appset.GenerateResult(results=(fx.generate(named(*names)),))
    ).results
    return result


@pytest.mark.parametrize("name, rule", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_an_application_with_an_invalid_name_is_refused_naming_the_rule(name: str, rule: str) -> None:
    result = refused("web-c001", name)
    assert result.error is None
    assert [a["metadata"]["name"] for a in result.objects] == ["web-c001"]
    assert [a.name for a in result.applications] == ["web-c001"]
    (invalid,) = result.invalid
    assert invalid.name == name
    assert invalid.message.startswith("the generated name is not a valid Kubernetes object name: ")
    assert rule in invalid.message
    assert str(invalid).startswith(f"ApplicationSet named: Application {name}: ")
    assert invalid.origin.generator == "generators[0].list" and invalid.origin.params == {"app": name}


def test_names_of_dns_subdomains_are_valid() -> None:
    result = refused("web", "web-c001", "web.eu-1.example", "0a", "a" * 253)
    assert not result.invalid and len(result.objects) == 5


def test_fleet_generate_prints_it_as_argo_cd_generates_it_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "appset.yaml"
    path.write_text(yaml.safe_dump(named("web-c001", "Web_C002")))
    result = CliRunner().invoke(app, ["--log-format", "text", "generate", str(path), "-o", "json"])
    assert result.exit_code == 0, result.stderr
    assert '"name": "web-c001"' in result.stdout and '"name": "Web_C002"' in result.stdout
    assert (
        "warning: ApplicationSet named: Application Web_C002: the generated name is not a valid Kubernetes"
        " object name" in result.stderr
    )
    assert RULE in result.stderr and "fleet sync refuses it" in result.stderr


def test_sync_refuses_it_and_never_counts_it_synced(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    doc = named("Web_Bad")
    doc["spec"]["template"]["spec"]["destination"] = {"name": "c001", "namespace": "web"}
    doc["spec"]["template"]["spec"]["source"] = {
        "repoURL": "https://git.example.com/fleet.git",
        "path": "apps/web",
    }
    env.write("bad.yaml", doc)
    run = env.sync()
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.run_result is not None
    assert any(
        "Application Web_Bad: the generated name is not a valid Kubernetes object name" in e
        for e in run.run_result.errors
    ), run.run_result.errors
    assert [a.name for a in run.run_result.apps()] == ["web-c001"]
    assert run.app("c001", "web-c001").ok
    inventories = env.names("c001", "fleet-system", "ConfigMap")
    assert not any("Web_Bad".lower() in name.lower() for name in inventories), inventories
