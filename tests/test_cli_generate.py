"""``fleet generate`` through the CLI: outputs, exit codes, and where messages go."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fleet.cli import app
from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
FLEET = EXAMPLES / "fleet-repo"
REPO_MAP = f"https://git.example.com/platform/fleet.git={FLEET}"
CLUSTERS = str(EXAMPLES / "clusters.yaml")
APPS = str(FLEET / "appsets/apps.yaml")
DASHBOARDS = str(FLEET / "appsets/dashboards.yaml")

runner = CliRunner()


def invoke(*args: str) -> object:
    return runner.invoke(app, ["--log-format", "text", "generate", *args])


def test_the_table_lists_every_generated_application() -> None:
    result = invoke(APPS, DASHBOARDS, "--clusters", CLUSTERS, "--repo-map", REPO_MAP)
    assert result.exit_code == 0, result.stderr
    for column in ("APPSET", "NAME", "PROJECT", "CLUSTER", "NAMESPACE", "REPO / PATH", "REVISION"):
        assert column in result.stdout
    assert "guestbook-c001" in result.stdout and "apps/guestbook/overlays/dev" in result.stdout
    assert "dashboard-c030" in result.stdout
    assert "166 applications from 2 ApplicationSets" in result.stdout


def test_json_output_is_an_array_of_applications_on_stdout() -> None:
    result = invoke(APPS, "--clusters", CLUSTERS, "--repo-map", REPO_MAP, "-o", "json")
    assert result.exit_code == 0, result.stderr
    apps = json.loads(result.stdout)
    assert len(apps) == 150  # 3 apps x 50 clusters; the env selector leaves in-cluster out
    assert {a["kind"] for a in apps} == {"Application"}
    by_name = {a["metadata"]["name"]: a for a in apps}
    prod = by_name["guestbook-c050"]
    assert prod["spec"]["source"]["path"] == "apps/guestbook/overlays/prod"
    assert prod["spec"]["destination"] == {"name": "c050", "namespace": "guestbook"}
    assert prod["metadata"]["labels"] == {"fleet.example/app": "guestbook", "fleet.example/env": "prod"}


def test_yaml_output_is_a_stream_of_applications() -> None:
    result = invoke(DASHBOARDS, "--clusters", CLUSTERS, "-o", "yaml")
    assert result.exit_code == 0, result.stderr
    docs = list(yaml.safe_load_all(result.stdout))
    # The edge clusters (every third) of each environment, dev (c001-c015) first, then staging, prod.
    assert [d["metadata"]["name"] for d in docs] == [f"dashboard-c{i:03d}" for i in range(3, 50, 3)]


def test_a_directory_argument_reads_every_application_set_in_it(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(Path(DASHBOARDS).read_text())
    (tmp_path / "notes.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: skipped}\n")
    result = invoke(str(tmp_path), "--clusters", CLUSTERS, "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == 16


def write_appset(tmp_path: Path, elements: str, name: str = "{{cluster}}-web", extra: str = "") -> str:
    path = tmp_path / "appset.yaml"
    path.write_text(
        f"""apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: web, namespace: argocd}}
spec:
  generators:
    - list:
        elements: {elements}
  template:
    metadata: {{name: '{name}'}}
    spec:
      project: default
      source: {{repoURL: 'https://git.example.com/r.git', path: web}}
      destination: {{name: '{{{{cluster}}}}', namespace: web}}
{extra}"""
    )
    return str(path)


def test_a_generator_error_exits_1_names_appset_generator_and_parameter_and_prints_nothing(
    tmp_path: Path,
) -> None:
    result = invoke(
        write_appset(tmp_path, "[{cluster: c001}, {cluster: c002, replicas: 3}]"), "--clusters", CLUSTERS
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "ApplicationSet web" in result.stderr
    assert "generators[0].list" in result.stderr
    assert "elements[1].replicas" in result.stderr


def test_a_template_error_exits_1_and_prints_nothing(tmp_path: Path) -> None:
    result = invoke(
        write_appset(tmp_path, "[{cluster: c001}]", name="{{cluster}}-{{oops"),
        "--clusters",
        CLUSTERS,
        "-o",
        "json",
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert (
        "ApplicationSet web" in result.stderr
        and "metadata.name" in result.stderr
        and "parameter set" in result.stderr
    )


def test_an_error_in_one_application_set_withholds_all_output(tmp_path: Path) -> None:
    bad = write_appset(tmp_path, "[{cluster: 1}]")
    result = invoke(DASHBOARDS, bad, "--clusters", CLUSTERS, "-o", "json")
    assert result.exit_code == 1 and result.stdout == ""


def test_invalid_applications_are_reported_and_the_valid_ones_printed(tmp_path: Path) -> None:
    result = invoke(
        write_appset(tmp_path, "[{cluster: c001}, {cluster: nowhere}]"), "--clusters", CLUSTERS, "-o", "json"
    )
    assert result.exit_code == 1
    assert [a["metadata"]["name"] for a in json.loads(result.stdout)] == ["c001-web"]
    assert "there are no clusters with this name: nowhere" in result.stderr
    assert "generators[0].list" in result.stderr


def test_no_in_cluster_removes_the_implicit_cluster(tmp_path: Path) -> None:
    path = tmp_path / "all.yaml"
    path.write_text(
        """apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: all}
spec:
  generators: [{clusters: {}}]
  template:
    metadata: {name: 'x-{{name}}'}
    spec: {project: default, destination: {server: '{{server}}', namespace: x}}
"""
    )
    with_local = json.loads(invoke(str(path), "--clusters", CLUSTERS, "-o", "json").stdout)
    without = json.loads(invoke(str(path), "--clusters", CLUSTERS, "--no-in-cluster", "-o", "json").stdout)
    assert len(with_local) == 51 and with_local[-1]["metadata"]["name"] == "x-in-cluster"
    assert len(without) == 50


def test_only_cluster_secrets_in_the_argocd_namespace_count(tmp_path: Path) -> None:
    moved = tmp_path / "clusters.yaml"
    moved.write_text(Path(CLUSTERS).read_text().replace("namespace: argocd", "namespace: gitops"))
    appset = write_appset(tmp_path, "[{cluster: c001}]")
    assert invoke(appset, "--clusters", str(moved)).exit_code == 1  # c001 is unknown in namespace argocd
    result = invoke(appset, "--clusters", str(moved), "--argocd-namespace", "gitops", "-o", "json")
    assert result.exit_code == 0, result.stderr


INPUT_ERRORS = [
    ("missing file", ["missing.yaml"], "missing.yaml: cannot be read"),
    ("invalid YAML", ["bad.yaml"], "bad.yaml: is not valid YAML"),
    (
        "not an ApplicationSet",
        ["configmap.yaml"],
        "configmap.yaml: ConfigMap c: field kind: is not an ApplicationSet",
    ),
    (
        "bad repo map",
        [DASHBOARDS, "--repo-map", "no-equals-sign"],
        "field --repo-map: 'no-equals-sign' must look like URL=PATH",
    ),
    (
        "repo map to nowhere",
        [DASHBOARDS, "--repo-map", "https://x.example.com/r.git=/nonexistent"],
        "is not a directory",
    ),
    ("bad clusters file", [DASHBOARDS, "--clusters", "bad.yaml"], "bad.yaml: is not valid YAML"),
]


@pytest.mark.parametrize("args, message", [c[1:] for c in INPUT_ERRORS], ids=[c[0] for c in INPUT_ERRORS])
def test_bad_input_exits_2_naming_the_file_object_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("a: [unclosed\n")
    (tmp_path / "configmap.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_an_unknown_output_format_is_a_usage_error() -> None:
    assert invoke(DASHBOARDS, "-o", "xml").exit_code == 2


def test_the_installed_command_runs_end_to_end() -> None:
    fleet = Path(sys.executable).parent / "fleet"
    proc = subprocess.run(
        [str(fleet), "generate", DASHBOARDS, "--clusters", CLUSTERS, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)) == 16


def test_the_table_never_shows_credentials_of_a_repository_url(tmp_path) -> None:
    appset = tmp_path / "appset.yaml"
    appset.write_text(
        """apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: creds, namespace: argocd}
spec:
  generators:
    - list:
        elements: [{name: one}]
  template:
    metadata: {name: '{{name}}'}
    spec:
      project: default
      source: {repoURL: 'https://deploy:tok3n-in-url@git.example.com/fleet.git', path: apps}
      destination: {server: https://kubernetes.default.svc, namespace: x}
"""
    )
    result = CliRunner().invoke(app, ["generate", str(appset)])
    assert result.exit_code == 0, result.output
    assert "git.example.com/fleet.git" in result.stdout
    assert "tok3n-in-url" not in result.stdout
