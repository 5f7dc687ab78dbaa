"""The clusterDecisionResource generator reads a PlacementDecision-like resource from Argo CD's
namespace on the management cluster (a simulated cluster here), through ``fleet generate
--argocd-context``, as Argo CD's DuckTypeGenerator reads it: the ConfigMap names the resource,
status key and match key; decisions name registered clusters; each gives name, server and every
decision field; values are taken as written; mistakes fail the ApplicationSet saying what is wrong."""

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
OCM_CONFIG = {
    "apiVersion": "cluster.open-cluster-management.io/v1beta1",
    "kind": "placementdecisions",
    "statusListKey": "decisions",
    "matchKey": "clusterName",
}


def appset(generator: dict[str, Any], *, go_template: bool = False) -> dict:
    if go_template:
        name, annotations = (
            "web-{{.clusterName}}",
            {"reason": "{{.reason}}", "server": "{{.server}}", "team": "{{.values.team}}"},
        )
    else:
        name, annotations = (
            "web-{{clusterName}}",
            {"reason": "{{reason}}", "server": "{{server}}", "team": "{{values.team}}"},
        )
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "placed", "namespace": "argocd"},
        "spec": {
            "goTemplate": go_template,
            "generators": [{"clusterDecisionResource": generator}],
            "template": {
                "metadata": {"name": name, "annotations": annotations},
                "spec": {
                    "project": "default",
                    "source": {
                        "repoURL": "https://git.example.com/apps.git",
                        "path": "web",
                        "targetRevision": "HEAD",
                    },
                    "destination": {"name": "{{.name}}" if go_template else "{{name}}", "namespace": "web"},
                },
            },
        },
    }


DECISIONS = [
    {"clusterName": "c002", "reason": "selected by placement"},
    {"clusterName": "not-registered", "reason": "Argo CD does not know it"},
    {"clusterName": "c003", "reason": "spread", "score": 87.5},
]


@pytest.fixture
def management(sim: SimServer, tmp_path: Path) -> dict[str, Any]:
    argocd_namespace.config_map(sim, MANAGEMENT, "ocm-placement", OCM_CONFIG)
    argocd_namespace.placement_decision(
        sim, MANAGEMENT, "web-placement", DECISIONS, labels={"placement": "web"}
    )
    argocd_namespace.placement_decision(
        sim, MANAGEMENT, "db-placement", [{"clusterName": "c001", "reason": "db"}], labels={"placement": "db"}
    )
    return {
        "kubeconfig": str(sim.write_kubeconfig(tmp_path / "kubeconfig")),
        "clusters": str(sim.write_cluster_secrets(tmp_path / "clusters.yaml")),
        "tmp": tmp_path,
    }


def generate(
    management: dict[str, Any], doc: dict, *extra: str, context: bool = True
) -> tuple[int, str, str]:
    path = management["tmp"] / "appset.yaml"
    path.write_text(yaml.safe_dump(doc))
    argv = ["generate", str(path), "--clusters", management["clusters"], "--no-in-cluster", *extra]
    if context:
        argv += ["--argocd-context", MANAGEMENT, "--kubeconfig", management["kubeconfig"]]
    result = CliRunner().invoke(app, argv)
    return result.exit_code, result.stdout, result.stderr


SELECTIONS = [
    ("by-name", {"name": "web-placement"}),
    ("by-label-selector", {"labelSelector": {"matchLabels": {"placement": "web"}}}),
    (
        "by-match-expressions",
        {"labelSelector": {"matchExpressions": [{"key": "placement", "operator": "In", "values": ["web"]}]}},
    ),
]


@pytest.mark.parametrize(("name", "selection"), SELECTIONS, ids=[c[0] for c in SELECTIONS])
@pytest.mark.parametrize("go_template", [False, True], ids=["fasttemplate", "goTemplate"])
def test_each_decision_for_a_registered_cluster_is_an_application(
    management: dict[str, Any], sim: SimServer, name: str, selection: dict, go_template: bool
) -> None:
    generator = {
        "configMapRef": "ocm-placement",
        "requeueAfterSeconds": 180,
        "values": {"team": "web"},
        **selection,
    }
    code, out, err = generate(management, appset(generator, go_template=go_template), "-o", "json")
    assert code == 0, err
    apps = json.loads(out)
    servers = {c.name: c.server for c in sim.clusters()}
    assert [(a["metadata"]["name"], a["spec"]["destination"]["name"]) for a in apps] == [
        ("web-c002", "c002"),
        ("web-c003", "c003"),
    ]
    assert [a["metadata"]["annotations"] for a in apps] == [
        {"reason": "selected by placement", "server": servers["c002"], "team": "web"},
        {"reason": "spread", "server": servers["c003"], "team": "web"},
    ]


def test_decision_fields_are_printed_with_gos_formatting(management: dict[str, Any]) -> None:
    doc = appset({"configMapRef": "ocm-placement", "name": "web-placement"})
    doc["spec"]["template"]["metadata"]["annotations"] = {"score": "{{score}}"}
    code, out, err = generate(management, doc, "-o", "json")
    assert code == 0, err
    assert [a["metadata"]["annotations"].get("score") for a in json.loads(out)] == ["{{score}}", "87.5"]


def test_a_kind_name_works_as_well_as_the_plural(sim: SimServer, management: dict[str, Any]) -> None:
    argocd_namespace.config_map(sim, MANAGEMENT, "by-kind", dict(OCM_CONFIG, kind="PlacementDecision"))
    code, out, err = generate(
        management, appset({"configMapRef": "by-kind", "name": "db-placement"}), "-o", "json"
    )
    assert code == 0, err
    assert [a["metadata"]["name"] for a in json.loads(out)] == ["web-c001"]


def test_without_a_match_key_nothing_is_generated(sim: SimServer, management: dict[str, Any]) -> None:
    argocd_namespace.config_map(
        sim, MANAGEMENT, "no-match-key", {k: v for k, v in OCM_CONFIG.items() if k != "matchKey"}
    )
    code, out, _err = generate(
        management, appset({"configMapRef": "no-match-key", "name": "web-placement"}), "-o", "json"
    )
    assert (code, json.loads(out)) == (0, [])


def test_a_resource_without_status_contributes_nothing(sim: SimServer, management: dict[str, Any]) -> None:
    argocd_namespace.placement_decision(sim, MANAGEMENT, "pending", None, labels={"placement": "pending"})
    doc = appset(
        {"configMapRef": "ocm-placement", "labelSelector": {"matchLabels": {"placement": "pending"}}}
    )
    code, out, _err = generate(management, doc, "-o", "json")
    assert (code, json.loads(out)) == (0, [])


def test_the_in_cluster_entry_can_be_decided(sim: SimServer, management: dict[str, Any]) -> None:
    argocd_namespace.placement_decision(
        sim, MANAGEMENT, "local", [{"clusterName": "in-cluster"}], labels={"placement": "local"}
    )
    doc = appset({"configMapRef": "ocm-placement", "labelSelector": {"matchLabels": {"placement": "local"}}})
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
            "-o",
            "json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    [found] = json.loads(result.stdout)
    assert found["metadata"]["annotations"]["server"] == "https://kubernetes.default.svc"


FAILURES = [
    (
        "no-such-configmap",
        {"configMapRef": "missing", "name": "web-placement"},
        "error reading configMapRef: configmaps 'missing' not found in namespace argocd of cluster c001",
    ),
    (
        "name-and-selector",
        {
            "configMapRef": "ocm-placement",
            "name": "web-placement",
            "labelSelector": {"matchLabels": {"placement": "web"}},
        },
        "there is a problem with the definition of the ClusterDecisionResource generator",
    ),
    (
        "neither-name-nor-selector",
        {"configMapRef": "ocm-placement"},
        "there is a problem with the definition of the ClusterDecisionResource generator",
    ),
    (
        "nothing-found",
        {"configMapRef": "ocm-placement", "name": "no-such-placement"},
        "no clusterDecisionResources found",
    ),
]


@pytest.mark.parametrize(("name", "generator", "message"), FAILURES, ids=[c[0] for c in FAILURES])
def test_mistakes_fail_the_appset_saying_what_is_wrong(
    management: dict[str, Any], name: str, generator: dict, message: str
) -> None:
    code, out, err = generate(management, appset(generator))
    assert (code, out) == (1, "")
    assert "ApplicationSet placed" in err and "generators[0].clusterDecisionResource" in err
    assert message in err


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            dict(OCM_CONFIG, apiVersion="v1"),
            "there is a problem with the apiVersion, kind or resourceName provided",
        ),
        (dict(OCM_CONFIG, kind="nosuchthings"), "failed to get dynamic resources"),
        (
            dict(OCM_CONFIG, statusListKey="reason"),
            "status.reason of PlacementDecision web-placement must be a list",
        ),
    ],
    ids=["core-api-version", "unknown-resource", "status-key-not-a-list"],
)
def test_a_broken_configmap_fails_the_appset(
    sim: SimServer, management: dict[str, Any], config: dict[str, str], message: str
) -> None:
    argocd_namespace.config_map(sim, MANAGEMENT, "broken", config)
    code, out, err = generate(management, appset({"configMapRef": "broken", "name": "web-placement"}))
    assert (code, out) == (1, "")
    assert message in err


def test_without_a_management_cluster_the_generator_says_how_to_give_one(management: dict[str, Any]) -> None:
    code, out, err = generate(
        management, appset({"configMapRef": "ocm-placement", "name": "web-placement"}), context=False
    )
    assert (code, out) == (1, "")
    assert "the clusterDecisionResource generator reads Argo CD's namespace on the management cluster" in err
