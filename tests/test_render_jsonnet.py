"""Jsonnet in directory sources: ext vars and TLAs (string and code), library paths, arrays or
single objects, and evaluation errors naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleet import render
from tests.render_helpers import names, render_path

FULL = {
    "extVars": [
        {"name": "app", "value": "$ARGOCD_APP_NAME"},
        {"name": "debug", "value": "1 == 1", "code": True},
    ],
    "tlas": [{"name": "replicas", "value": "3", "code": True}, {"name": "tier", "value": "prod"}],
    "libs": ["jsonnet/lib"],
}


def evaluate(jsonnet: dict[str, Any], **directory: Any) -> list[dict[str, Any]]:
    return render_path({"path": "jsonnet/app", "directory": {"jsonnet": jsonnet, **directory}})


def test_ext_vars_tlas_and_libs_reach_the_program() -> None:
    objs = evaluate(FULL)
    assert names(objs) == [
        "Deployment/guestbook-web",
        "ConfigMap/guestbook-settings",
        "Namespace/from-jsonnet",
    ]
    deployment = objs[0]
    assert deployment["spec"]["replicas"] == 3
    assert deployment["metadata"]["labels"] == {"tier": "prod", "app.kubernetes.io/part-of": "guestbook"}
    assert objs[1]["data"] == {"debug": "true"}


def test_include_selects_jsonnet_files_too() -> None:
    assert names(evaluate(FULL, include="single.jsonnet")) == ["Namespace/from-jsonnet"]


@pytest.mark.parametrize(
    ("jsonnet", "message"),
    [
        (
            {"extVars": [{"name": "app", "value": "a"}], "tlas": [], "libs": ["jsonnet/lib"]},
            "undefined external variable: debug",
        ),
        ({**FULL, "libs": []}, "couldn't open import"),
    ],
    ids=["missing-ext-var", "missing-lib"],
)
def test_evaluation_errors_name_the_file(jsonnet: dict, message: str) -> None:
    with pytest.raises(render.RenderError, match=message) as caught:
        evaluate(jsonnet)
    assert caught.value.file == "jsonnet/app/main.jsonnet"


def test_output_that_is_not_a_manifest_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "x.jsonnet").write_text("{ hello: 'world' }")
    with pytest.raises(render.RenderError, match="not a Kubernetes object"):
        render_path({"path": "app"}, source_dir=tmp_path)
