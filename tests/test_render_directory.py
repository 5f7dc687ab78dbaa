"""Directory sources: which files are read (recurse, include/exclude), multi-document YAML, JSON,
``kind: List``, non-manifests ignored, errors naming file and document; source type detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet import render
from tests.render_helpers import names, render_path

TOP = [
    "ServiceAccount/sa-one",
    "ServiceAccount/sa-two",
    "ConfigMap/one",
    "ConfigMap/two",
    "Namespace/shop",
    "Role/reader",
]
NESTED = ["ConfigMap/deep", "ConfigMap/nested"]

SELECTION_CASES = [
    ("top-level-only-by-default", {}, TOP),
    ("recurse", {"recurse": True}, TOP[:5] + NESTED + TOP[5:]),
    ("include-glob", {"recurse": True, "include": "*.yml"}, ["ConfigMap/deep"]),
    ("include-braces", {"include": "{namespace.yaml,role.json}"}, ["Namespace/shop", "Role/reader"]),
    ("exclude-star-crosses-directories", {"recurse": True, "exclude": "nested/*"}, TOP),
    (
        "exclude-wins-over-include",
        {"include": "*.yaml", "exclude": "multi.yaml"},
        ["ServiceAccount/sa-one", "ServiceAccount/sa-two", "Namespace/shop"],
    ),
]


@pytest.mark.parametrize(
    ("name", "directory", "expected"), SELECTION_CASES, ids=[c[0] for c in SELECTION_CASES]
)
def test_directory_options_select_files(name: str, directory: dict, expected: list[str]) -> None:
    assert names(render_path({"path": "directory/plain", "directory": directory})) == expected


def test_plain_directory_needs_no_directory_block() -> None:
    assert names(render_path({"path": "directory/plain"})) == TOP


def test_timestamps_stay_strings_as_in_kubernetes() -> None:
    one = next(o for o in render_path({"path": "directory/plain"}) if o["metadata"]["name"] == "one")
    assert one["data"]["created"] == "2024-01-01"


def test_yaml_error_names_application_source_file_and_document() -> None:
    with pytest.raises(render.RenderError) as caught:
        render_path({"path": "directory/mixed"})
    text = str(caught.value)
    assert caught.value.file == "directory/mixed/broken.yaml"
    assert caught.value.document == 1
    assert "application guestbook" in text and "source directory/mixed" in text and "document 1" in text


def test_missing_source_path_is_an_error() -> None:
    with pytest.raises(render.RenderError, match="does not exist"):
        render_path({"path": "directory/nope"})


def test_broken_non_manifest_yaml_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "ci.yaml").write_text("steps: [unclosed\n")
    (tmp_path / "app" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    assert names(render_path({"path": "app"}, source_dir=tmp_path)) == ["ConfigMap/c"]


DETECT_CASES = [
    ("chart-yaml-is-helm", ["Chart.yaml"], {}, "Helm"),
    ("kustomization-is-kustomize", ["kustomization.yml"], {}, "Kustomize"),
    ("kustomize-wins-over-chart", ["Chart.yaml", "Kustomization"], {}, "Kustomize"),
    ("anything-else-is-directory", ["a.yaml", "b.jsonnet"], {}, "Directory"),
    ("explicit-directory-wins", ["Chart.yaml"], {"directory": {}}, "Directory"),
    ("chart-field-is-helm", [], {"chart": "redis"}, "Helm"),
]


@pytest.mark.parametrize(
    ("name", "files", "extra", "expected"), DETECT_CASES, ids=[c[0] for c in DETECT_CASES]
)
def test_source_type_follows_argo_cd(
    tmp_path: Path, name: str, files: list[str], extra: dict, expected: str
) -> None:
    from fleet.render import detect

    (tmp_path / "app").mkdir()
    for file in files:
        (tmp_path / "app" / file).write_text("")
    src = render.source_from_argo({"path": "app", **extra})
    ctx = render.RenderContext(
        source=src, root=tmp_path, app_dir=tmp_path / "app", app_name="a", namespace="n", revision="r"
    )
    assert detect.source_type(ctx) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"path": "directory/plain", "helm": {}, "directory": {}}, "multiple application source types"),
        ({"path": "directory/plain", "plugin": {"name": "cmp"}}, "plugins are not supported"),
    ],
    ids=["two-types", "plugin"],
)
def test_unsupported_source_types_are_errors(spec: dict, message: str) -> None:
    with pytest.raises(render.RenderError, match=message):
        render_path(spec)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"path": "../outside"}, "spec.source.path"),
        ({"path": "/abs"}, "spec.source.path"),
        ({"path": "x", "ref": "bad ref"}, "spec.source.ref"),
        ({"path": "x", "helm": {"parameters": [{"value": "1"}]}}, "spec.source.helm.parameters[0]"),
        (
            {"path": "x", "kustomize": {"replicas": [{"name": "a", "count": "many"}]}},
            "spec.source.kustomize.replicas[0]",
        ),
    ],
    ids=["parent-path", "absolute-path", "bad-ref", "parameter-without-name", "replica-count"],
)
def test_bad_source_fields_are_input_errors_naming_the_field(spec: dict, field: str) -> None:
    with pytest.raises(render.errors.InputError) as caught:
        render.source_from_argo(spec)
    assert caught.value.field == field
