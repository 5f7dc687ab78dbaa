"""`fleet generate -o json` prints the Applications as an indented JSON array, exactly as the
standard library would with two-space indentation (non-ASCII characters as they are), whichever
encoder wrote it: orjson, or the standard library for what orjson refuses (integers beyond 64 bits)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from fleet.cli import app


def appset(**static: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "web", "namespace": "argocd"},
        "spec": {
            "generators": [{"list": {"elements": [{"cluster": "in-cluster"}, {"cluster": "zürich"}]}}],
            "template": {
                "metadata": {"name": "web-{{cluster}}", "annotations": {"owner": "équipe-{{cluster}}"}},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": "https://git.example.com/r.git", "path": "web", **static},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
                },
            },
        },
    }


CASES = [
    pytest.param({}, id="strings-and-non-ascii"),
    pytest.param(
        {"helm": {"valuesObject": {"replicas": 3, "ratio": 0.5, "on": True, "none": None}}}, id="numbers"
    ),
    pytest.param({"helm": {"valuesObject": {"big": 2**70}}}, id="integer-beyond-64-bits"),
]


@pytest.mark.parametrize("static", CASES)
def test_json_output_is_the_standard_librarys_indented_text(tmp_path: Path, static: dict[str, Any]) -> None:
    path = tmp_path / "appset.yaml"
    path.write_text(yaml.safe_dump(appset(**static), allow_unicode=True))
    result = CliRunner().invoke(app, ["--log-format", "text", "generate", str(path), "-o", "json"])
    assert result.exit_code == 0, result.stderr
    objects = json.loads(result.stdout)
    assert [o["metadata"]["name"] for o in objects] == ["web-in-cluster", "web-zürich"]
    assert result.stdout == json.dumps(objects, indent=2, ensure_ascii=False) + "\n"
    assert "équipe-zürich" in result.stdout
