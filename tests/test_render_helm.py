"""Helm sources: values composition in Argo CD's order, parameters, release name and namespace,
CRDs, NOTES.txt and empty documents, tests, hooks mapped by the plan; the helm binary mode."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from fleet import render, waves
from fleet.render import helm
from tests.render_helpers import DATA, names, render_path, tree_digest


def chart(helm_block: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    spec: dict[str, Any] = {"path": "helm/guestbook"}
    if helm_block is not None:
        spec["helm"] = helm_block
    return render_path(spec, **kwargs)


def find(objs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind)


def test_defaults_release_name_is_the_application_and_namespace_the_destination() -> None:
    objs = chart()
    assert names(objs) == [
        "CustomResourceDefinition/widgets.example.com",
        "Deployment/guestbook-guestbook",
        "Job/guestbook-guestbook-migrate",
        "Service/guestbook-guestbook",
        "Pod/guestbook-guestbook-test",
    ]
    assert find(objs, "Deployment")["metadata"]["namespace"] == "shop"


def test_notes_and_empty_documents_are_dropped() -> None:
    assert all(o.get("kind") for o in chart())  # NOTES.txt is text, the trailing comment-only doc is empty


VALUE_CASES = [
    ("value-files-in-order", {"valueFiles": ["values-prod.yaml"]}, "replicas", 3),
    ("inline-values", {"values": "replicaCount: 4\n"}, "replicas", 4),
    (
        "values-object-wins-over-values",
        {"values": "replicaCount: 4", "valuesObject": {"replicaCount": 5}},
        "replicas",
        5,
    ),
    (
        "parameters-win-over-values",
        {"valuesObject": {"replicaCount": 5}, "parameters": [{"name": "replicaCount", "value": "6"}]},
        "replicas",
        6,
    ),
    (
        "values-over-value-files",
        {"valueFiles": ["values-prod.yaml"], "values": "replicaCount: 7"},
        "replicas",
        7,
    ),
]


@pytest.mark.parametrize(("name", "block", "field", "expected"), VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_values_compose_like_helm_template_flags(name: str, block: dict, field: str, expected: Any) -> None:
    assert find(chart(block), "Deployment")["spec"][field] == expected


def test_value_files_deep_merge_maps() -> None:
    labels = find(chart({"valueFiles": ["values-prod.yaml"], "values": "labels: {team: web}"}), "Deployment")[
        "metadata"
    ]["labels"]
    assert labels == {"app": "guestbook-guestbook", "team": "web", "tier": "prod"}


def test_parameters_force_string_and_escaped_commas() -> None:
    objs = chart(
        {
            "parameters": [
                {"name": "image.tag", "value": "1.28", "forceString": True},
                {"name": "labels.list", "value": "a,b"},
                {"name": "extraConfig.greeting", "value": "hello,world"},
            ]
        }
    )
    deployment = find(objs, "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert deployment["metadata"]["labels"]["list"] == "a,b"
    assert find(objs, "ConfigMap")["data"] == {"greeting": "hello,world"}


def test_clean_set_value_keeps_lists() -> None:
    assert helm.clean_set_value("{a,b}") == "{a,b}"
    assert helm.clean_set_value("a,b\\,c") == "a\\,b\\,c"


def test_null_in_values_removes_a_default() -> None:
    deployment = find(chart({"valuesObject": {"image": {"tag": None}}}), "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:"


def test_release_name_and_namespace_options() -> None:
    objs = chart({"releaseName": "web", "namespace": "other"})
    assert find(objs, "Deployment")["metadata"] == {
        "name": "web-guestbook",
        "namespace": "other",
        "labels": {"app": "web-guestbook"},
    }


def test_skip_crds_and_skip_tests() -> None:
    assert names(chart({"skipCrds": True, "skipTests": True})) == [
        "Deployment/guestbook-guestbook",
        "Job/guestbook-guestbook-migrate",
        "Service/guestbook-guestbook",
    ]


def test_build_environment_is_substituted_in_parameters() -> None:
    labels = find(
        chart(
            {
                "parameters": [
                    {"name": "labels.app-name", "value": "$ARGOCD_APP_NAME-${ARGOCD_APP_REVISION_SHORT}"}
                ]
            }
        ),
        "Deployment",
    )["metadata"]["labels"]
    assert labels["app-name"] == "guestbook-0123456"


def test_helm_hooks_become_argo_cd_phases_in_the_plan() -> None:
    objs = chart()
    job = find(objs, "Job")
    assert waves.hook_types(job) == (waves.HookType.PRE_SYNC,)
    assert waves.delete_policies(job) == (waves.HookDeletePolicy.HOOK_SUCCEEDED,)
    assert waves.wave(job) == -5
    test_pod = find(objs, "Pod")
    assert waves.is_hook(test_pod) and waves.hook_types(test_pod) == ()


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"valueFiles": ["missing.yaml"]}, "does not exist"),
        ({"valueFiles": ["../../../../../etc/passwd"]}, "outside the repository"),
        ({"valueFiles": ["$nope/values.yaml"]}, "no source has ref: nope"),
        ({"valueFiles": ["https://example.com/values.yaml"]}, "remote value file"),
        ({"values": "[not, a, map]"}, "values must be a YAML map"),
    ],
    ids=["missing-file", "escape", "unknown-ref", "remote", "values-not-a-map"],
)
def test_bad_values_are_errors_naming_the_application(block: dict, message: str) -> None:
    with pytest.raises(render.RenderError, match=message) as caught:
        chart(block)
    assert caught.value.app == "guestbook"


def test_ignore_missing_value_files() -> None:
    assert (
        find(chart({"valueFiles": ["missing.yaml"], "ignoreMissingValueFiles": True}), "Deployment")["spec"][
            "replicas"
        ]
        == 1
    )


def test_template_error_is_a_render_error(tmp_path: Any) -> None:
    app = tmp_path / "chart"
    shutil.copytree(DATA / "helm" / "guestbook", app)
    (app / "templates" / "bad.yaml").write_text("kind: {{ .Values.nope.deeper }}\n")
    with pytest.raises(render.RenderError, match="helm"):
        render_path({"path": "chart"}, source_dir=tmp_path)


def test_rendering_does_not_touch_the_chart() -> None:
    before = tree_digest(DATA / "helm")
    chart({"valueFiles": ["values-prod.yaml"], "parameters": [{"name": "a", "value": "b"}]})
    assert tree_digest(DATA / "helm") == before


@pytest.mark.skipif(
    shutil.which("helm") is None,
    reason="the helm binary is not installed; FLEET_HELM=binary cannot be exercised",
)
def test_binary_mode_renders_the_same_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    sdk = chart({"valueFiles": ["values-prod.yaml"]})
    monkeypatch.setenv("FLEET_HELM", "binary")
    assert sorted(names(chart({"valueFiles": ["values-prod.yaml"]}))) == sorted(names(sdk))


def test_binary_mode_without_helm_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEET_HELM", "binary")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(render.ToolMissingError, match="helm"):
        chart()
