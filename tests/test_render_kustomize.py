"""Kustomize sources: base and overlays, the Application's kustomize block applied through a
temporary overlay (never by editing the checkout), and build errors naming the source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleet import render
from fleet.render import kustomize
from tests.render_helpers import DATA, names, render_path, tree_digest


def build(path: str, block: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    spec: dict[str, Any] = {"path": path}
    if block is not None:
        spec["kustomize"] = block
    return render_path(spec)


def find(objs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind)


def test_base_renders_with_its_generator() -> None:
    found = names(build("kustomize/base"))
    assert found[1:] == ["Service/web", "Deployment/web"]
    assert found[0].startswith("ConfigMap/settings-")  # name suffixed with the content hash


def test_overlay_applies_prefix_and_patch() -> None:
    objs = build("kustomize/overlays/prod")
    assert find(objs, "Deployment")["metadata"]["name"] == "prod-web"
    assert find(objs, "Deployment")["spec"]["replicas"] == 2


def test_application_kustomize_block_is_applied() -> None:
    objs = build(
        "kustomize/overlays/prod",
        {
            "namePrefix": "eu-",
            "nameSuffix": "-$ARGOCD_APP_NAME",
            "namespace": "shop-eu",
            "images": ["nginx=registry.example.com/nginx:1.30"],
            "commonLabels": {"team": "web"},
            "commonAnnotations": {"owner": "$ARGOCD_APP_NAME"},
            "replicas": [{"name": "prod-web", "count": 5}],
            "patches": [
                {"target": {"kind": "Service"}, "patch": "- op: add\n  path: /spec/type\n  value: NodePort\n"}
            ],
        },
    )
    deployment = find(objs, "Deployment")
    assert deployment["metadata"]["name"] == "eu-prod-web-guestbook"
    assert deployment["metadata"]["namespace"] == "shop-eu"
    assert deployment["spec"]["replicas"] == 5
    assert (
        deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example.com/nginx:1.30"
    )
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "web", "team": "web"}
    # Annotation values are substituted only with commonAnnotationsEnvsubst, as in Argo CD.
    assert deployment["metadata"]["annotations"] == {"owner": "$ARGOCD_APP_NAME"}
    assert find(objs, "Service")["spec"]["type"] == "NodePort"


def test_labels_without_selector_leave_selectors_alone() -> None:
    deployment = find(
        build("kustomize/base", {"commonLabels": {"team": "web"}, "labelWithoutSelector": True}), "Deployment"
    )
    assert deployment["metadata"]["labels"] == {"team": "web"}
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "web"}


IMAGE_CASES = [
    ("name-and-tag", "nginx:1.30", {"name": "nginx", "newTag": "1.30"}),
    ("rename", "nginx=quay.io/nginx:2", {"name": "nginx", "newName": "quay.io/nginx", "newTag": "2"}),
    ("digest", "nginx@sha256:abc", {"name": "nginx", "digest": "sha256:abc"}),
    ("registry-port", "localhost:5000/app:1", {"name": "localhost:5000/app", "newTag": "1"}),
]


@pytest.mark.parametrize(("name", "text", "expected"), IMAGE_CASES, ids=[c[0] for c in IMAGE_CASES])
def test_image_overrides_parse_like_kustomize_edit_set_image(name: str, text: str, expected: dict) -> None:
    assert kustomize._image(text) == expected


def test_the_checkout_is_never_modified() -> None:
    before = tree_digest(DATA / "kustomize")
    build("kustomize/overlays/prod", {"namePrefix": "x-", "images": ["nginx:2"]})
    assert tree_digest(DATA / "kustomize") == before


def test_build_error_names_application_and_source(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    with pytest.raises(render.RenderError, match="kustomize build failed") as caught:
        render_path({"path": "app"}, source_dir=tmp_path)
    assert caught.value.app == "guestbook" and caught.value.file == "app"


def test_build_command_is_kustomize_or_kubectl() -> None:
    cmd = kustomize.command()
    assert cmd[1] in ("build", "kustomize")
