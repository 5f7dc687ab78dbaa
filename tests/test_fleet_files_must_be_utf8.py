"""Fleet files that are not UTF-8 (a Latin-1 Application saved by an old editor) are refused naming
the file, never read with U+FFFD in place of their bytes (issue 8, item 12): the fleet's own files
are bad input (exit 2, nothing touched), a source's files fail their Application (RenderFailed),
a git files generator's file fails its ApplicationSet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fleet import appset, errors, render
from fleet.cli import app as cli_app
from fleet.render import cache
from tests.fixtures import appset as fx
from tests.fixtures.git import GitRepo

LATIN1_APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: caf\u00e9-menu
  annotations: {owner: "Ren\u00e9e"}
spec:
  project: default
  source: {repoURL: 'https://git.example.com/fleet.git', path: apps/web}
  destination: {name: c001, namespace: web}
""".encode("latin-1")


def test_a_latin1_application_makes_sync_exit_2_naming_the_file_and_touches_no_cluster(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    (env.root / "apps" / "menu.yaml").write_bytes(LATIN1_APPLICATION)
    run = env.run("sync", *env.args())
    assert run.exit_code == 2, (run.stdout, run.stderr)
    assert "apps/menu.yaml" in run.stderr and "is not UTF-8 text" in run.stderr
    assert "\ufffd" not in run.stderr and run.stdout == ""
    assert all(c["total"] == 0 for c in env.sim.request_counts().values())


@pytest.mark.parametrize("target", ["directory", "file"])
def test_fleet_generate_exits_2_naming_the_file(tmp_path: Path, target: str) -> None:
    (tmp_path / "fleet").mkdir()
    path = tmp_path / "fleet" / "menu.yaml"
    path.write_bytes(LATIN1_APPLICATION.replace(b"kind: Application\n", b"kind: ApplicationSet\n"))
    result = CliRunner().invoke(cli_app, ["generate", str(path if target == "file" else path.parent)])
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "menu.yaml" in result.stderr and "is not UTF-8 text" in result.stderr


def test_a_latin1_application_committed_to_git_is_refused_at_that_revision(
    make_git_repo: Callable[..., GitRepo], repo_cache: Any
) -> None:
    repo = make_git_repo(files={"apps/menu.yaml": LATIN1_APPLICATION})
    with pytest.raises(errors.InputError, match="is not UTF-8 text") as caught:
        appset.load_fleet(repo.url, revision="main", repos=repo_cache)
    assert caught.value.file.endswith("apps/menu.yaml")


def test_a_latin1_file_that_is_not_an_argo_object_does_not_stop_the_fleet(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "app.yaml").write_text(
        LATIN1_APPLICATION.decode("latin-1").replace("caf\u00e9", "cafe").replace("Ren\u00e9e", "Renee")
    )
    (tmp_path / "apps" / "notes.yaml").write_bytes("note: caf\u00e9\n".encode("latin-1"))
    fleet = appset.load_fleet(tmp_path)
    assert [a.name for a in fleet.applications] == ["cafe-menu"]


def test_a_latin1_git_files_generator_file_fails_its_appset_naming_the_file(
    make_git_repo: Callable[..., GitRepo], repo_cache: Any
) -> None:
    repo = make_git_repo(files={"envs/prod.json": '{"name": "caf\u00e9"}'.encode("latin-1")})
    spec = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "files"},
        "spec": {
            "generators": [
                {"git": {"repoURL": repo.url, "revision": "HEAD", "files": [{"path": "envs/*.json"}]}}
            ],
            "template": {
                "metadata": {"name": "{{name}}"},
                "spec": {"project": "default", "destination": {"name": "in-cluster", "namespace": "x"}},
            },
        },
    }
    result = fx.generate(spec, repos=repo_cache)
    assert not result.objects and result.error is not None
    assert "envs/prod.json is not UTF-8 text" in str(result.error)


# Files of a source, by tool: (id, files of the repository, the source, the file the error names)
CHART = {"app/Chart.yaml": "apiVersion: v2\nname: menu\nversion: 0.1.0\n"}
CM_TEMPLATE = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: menu}\ndata: {dish: {{ .Values.dish | quote }}}\n"
)
SOURCE_CASES = [
    (
        "directory-manifest",
        {"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\u00e9}\n"},
        {"path": "app"},
        "app/cm.yaml",
    ),
    (
        "helm-template",
        {
            **CHART,
            "app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\n"
            "metadata: {name: menu}\ndata: {dish: caf\u00e9}\n",
        },
        {"path": "app"},
        "app/templates/cm.yaml",
    ),
    (
        "helm-value-file",
        {**CHART, "app/templates/cm.yaml": CM_TEMPLATE, "app/prod.yaml": "dish: caf\u00e9\n"},
        {"path": "app", "helm": {"valueFiles": ["prod.yaml"]}},
        "app/prod.yaml",
    ),
    (
        "helm-file-parameter",
        {**CHART, "app/templates/cm.yaml": CM_TEMPLATE, "app/dish.txt": "caf\u00e9"},
        {"path": "app", "helm": {"fileParameters": [{"name": "dish", "path": "dish.txt"}]}},
        "app/dish.txt",
    ),
    (
        "jsonnet-program",
        {"app/main.jsonnet": "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'caf\u00e9'}}"},
        {"path": "app"},
        "app/main.jsonnet",
    ),
    (
        "kustomize-resource",
        {
            "app/kustomization.yaml": "resources: [cm.yaml]\n",
            "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\u00e9}\n",
        },
        {"path": "app"},
        "cm.yaml",
    ),
]


@pytest.mark.parametrize(("case", "files", "source", "named"), SOURCE_CASES, ids=[c[0] for c in SOURCE_CASES])
def test_a_latin1_file_in_a_source_fails_the_render_naming_the_file(
    tmp_path: Path, case: str, files: dict[str, str], source: dict[str, Any], named: str
) -> None:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(text.encode("latin-1"))
    with pytest.raises(render.RenderError) as caught:
        render.render_source(
            source, source_dir=tmp_path, app_name="menu", namespace="ns", revision="r", cache=cache.NO_CACHE
        )
    assert named in str(caught.value) and "UTF-8" in str(caught.value)
