"""A clusters file is read and parsed once per run (it used to be parsed two or three times: the
registry detecting its kind, the registry reading its Secrets, the repository credentials), with
libyaml when PyYAML has it; its errors read exactly as PyYAML's own parser words them; a file
changed on disk is read again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from fleet import kyaml, models
from fleet.cli import app
from fleet.clusters import argocd, yamlfile

APPSET = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "ApplicationSet",
    "metadata": {"name": "web", "namespace": "argocd"},
    "spec": {
        "generators": [{"clusters": {}}],
        "template": {
            "metadata": {"name": "web-{{name}}"},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://git.example.com/r.git", "path": "web"},
                "destination": {"name": "{{name}}", "namespace": "web"},
            },
        },
    },
}


def clusters_file(tmp_path: Path, count: int = 3) -> Path:
    secrets = [
        argocd.cluster_secret(models.Cluster(name=f"c{i:03d}", server=f"https://c{i:03d}.example.com:6443"))
        for i in range(count)
    ]
    path = tmp_path / "clusters.yaml"
    path.write_text(yaml.safe_dump_all(secrets, sort_keys=False))
    return path


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path the cluster-file loader reads text from."""
    seen: list[str] = []
    original = yamlfile.read_text

    def counting(path: str | Path) -> str:
        seen.append(str(path))
        return original(path)

    monkeypatch.setattr(yamlfile, "read_text", counting)
    return seen


COMMANDS = [
    pytest.param(
        lambda appset, clusters: ["generate", appset, "--clusters", clusters, "-o", "json"], id="generate"
    ),
    pytest.param(
        lambda appset, clusters: ["clusters", "list", "--clusters", clusters, "-o", "json"],
        id="clusters-list",
    ),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_reads_its_clusters_file_once(tmp_path: Path, reads: list[str], command: Any) -> None:
    path = clusters_file(tmp_path)
    appset = tmp_path / "appset.yaml"
    appset.write_text(yaml.safe_dump(APPSET))
    result = CliRunner().invoke(app, ["--log-format", "text", *command(str(appset), str(path))])
    assert result.exit_code == 0, result.stderr
    assert "c002" in result.stdout
    assert reads.count(str(path)) == 1, reads


def test_a_file_changed_on_disk_is_read_again_and_callers_get_their_own_copies(
    tmp_path: Path, reads: list[str]
) -> None:
    path = clusters_file(tmp_path, count=2)
    first = yamlfile.documents(path)
    first[0]["metadata"]["name"] = "changed by a caller"
    again = yamlfile.documents(path)
    assert again[0]["metadata"]["name"] == "cluster-c000"
    assert len(reads) == 1
    clusters_file(tmp_path, count=3)
    assert len(yamlfile.documents(path)) == 3
    assert len(reads) == 2


BROKEN = [
    ("unclosed flow", "kind: [\n"),
    ("bad indentation", "a:\n  b: 1\n c: 2\n"),
    ("tab", "a:\n\tb: 1\n"),
    ("unknown tag", "a: !vault 1\n"),
    ("second document broken", "a: 1\n---\nb: {\n"),
    ("duplicate anchor use", "a: *missing\n"),
]


@pytest.mark.parametrize("text", [c[1] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_errors_name_the_file_line_and_problem_as_pyyamls_own_parser_does(tmp_path: Path, text: str) -> None:
    path = tmp_path / "clusters.yaml"
    path.write_text(text)
    with pytest.raises(yaml.YAMLError) as pure:
        list(yaml.safe_load_all(text))
    with pytest.raises(Exception) as raised:
        argocd.load_cluster_secrets(path)
    assert str(raised.value) == f"{path}: is not valid YAML: {kyaml.error_text(pure.value)}"
