"""Finding a fleet's Argo CD objects in a directory or repository, and expanding it to Applications."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fleet import appset, argo, errors, gitsource, models
from tests.conftest import REPO_ROOT
from tests.fixtures.git import GitRepo

EXAMPLE = REPO_ROOT / "examples" / "fleet-repo"

APPSET = """apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: web}
spec:
  generators:
    - list:
        elements: [{cluster: east}, {cluster: west}]
  template:
    metadata: {name: 'web-{{cluster}}'}
    spec:
      project: team
      source: {repoURL: 'https://git.example.com/fleet.git', path: web}
      destination: {name: '{{cluster}}', namespace: web}
"""

APPLICATION = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: standalone}
spec:
  project: default
  source: {repoURL: 'https://git.example.com/fleet.git', path: tools}
  destination: {name: east, namespace: tools}
"""

PROJECT = """apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: team}
spec: {sourceRepos: ['*']}
"""

FILES = {
    "appsets/web.yaml": APPSET,
    "bootstrap/apps.yaml": APPLICATION + "---\n" + PROJECT,
    "apps/web/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n",
    "charts/tool/Chart.yaml": "apiVersion: v2\nname: tool\nversion: 0.1.0\n",
    "charts/tool/templates/app.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Application\n{{- if .Values.x }}\n",
    ".github/argo.yaml": "apiVersion: argoproj.io/v1alpha1\nkind: Nonsense [\n",
    "docs/notes.md": "argoproj.io",
}

CLUSTERS = [
    models.Cluster(name="east", server="https://east.example.com"),
    models.Cluster(name="west", server="https://west.example.com"),
]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_a_directory_yields_its_application_sets_applications_and_projects(tmp_path: Path) -> None:
    fleet = appset.load_fleet(write_tree(tmp_path / "fleet", FILES))
    assert [a.name for a in fleet.appsets] == ["web"]
    assert [a.name for a in fleet.applications] == ["standalone"]
    assert [p.name for p in fleet.projects] == ["team"]
    assert fleet.files == ("appsets/web.yaml", "bootstrap/apps.yaml")
    assert fleet.revision == gitsource.WORKTREE


def test_a_repository_is_read_at_a_revision(make_git_repo: Callable[..., GitRepo], repo_cache: Any) -> None:
    repo = make_git_repo(files=FILES)
    repo.tag("v1")
    repo.commit("drop the appset", {"appsets/web.yaml": "# moved\n"})
    old = appset.load_fleet(repo_cache.open(repo.url, "v1"))
    new = appset.load_fleet(repo_cache.open(repo.url, "main"))
    assert [a.name for a in old.appsets] == ["web"] and new.appsets == ()
    assert old.revision == repo.repo.commit("v1").hexsha


def test_paths_limit_where_to_look(tmp_path: Path) -> None:
    fleet = appset.load_fleet(write_tree(tmp_path / "fleet", FILES), paths=["bootstrap/"])
    assert fleet.appsets == () and [a.name for a in fleet.applications] == ["standalone"]


def test_a_single_file_can_be_the_fleet(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(APPSET)
    assert [a.name for a in appset.load_fleet(path).appsets] == ["web"]


def test_an_invalid_argo_cd_object_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    broken = dict(FILES, **{"appsets/web.yaml": APPSET.replace("elements: [", "elements: 7 #[")})
    with pytest.raises(errors.InputError) as caught:
        appset.load_fleet(write_tree(tmp_path / "fleet", broken))
    assert "appsets/web.yaml: ApplicationSet web: field spec.generators[0].list.elements" in str(caught.value)


def test_expand_fleet_generates_and_adds_the_plain_applications(tmp_path: Path) -> None:
    result = appset.expand_fleet(write_tree(tmp_path / "fleet", FILES), clusters=CLUSTERS)
    assert result.ok
    apps = result.applications
    assert [a.name for a in apps] == ["web-east", "web-west", "standalone"]
    assert all(isinstance(a, argo.Application) for a in apps)
    assert apps[-1].namespace == "argocd"


def test_expand_fleet_checks_projects_against_the_fleets_app_projects(tmp_path: Path) -> None:
    files = dict(FILES, **{"appsets/web.yaml": APPSET.replace("project: team", "project: other")})
    result = appset.expand_fleet(write_tree(tmp_path / "fleet", files), clusters=CLUSTERS)
    assert [a.name for a in result.applications] == ["standalone"]
    assert {i.message for i in result.invalid} == {
        "application references project other which does not exist"
    }


def test_the_example_fleet_loads() -> None:
    fleet = appset.load_fleet(EXAMPLE)
    assert sorted(a.name for a in fleet.appsets) == [
        "apps",
        "dashboards",
        "greeter",
        "hello-by-env",
        "platform",
    ]
    assert [a.name for a in fleet.applications] == ["dashboard-c001"]
    assert sorted(p.name for p in fleet.projects) == ["apps", "platform"]


def test_a_repository_url_is_read_at_a_revision(
    make_git_repo: Callable[..., GitRepo], repo_cache: Any
) -> None:
    repo = make_git_repo(files=FILES)
    repo.tag("v1")
    repo.commit("drop the appset", {"appsets/web.yaml": "# moved\n"})
    fleet = appset.load_fleet(f"file://{repo.path}", revision="v1", repos=repo_cache)
    assert [a.name for a in fleet.appsets] == ["web"] and len(fleet.revision) == 40
    # A local git directory reads its working tree, or a commit when a revision is given.
    repo.write({"appsets/draft.yaml": APPSET.replace("name: web", "name: draft")})
    assert [a.name for a in appset.load_fleet(repo.path).appsets] == ["draft"]
    assert [a.name for a in appset.load_fleet(repo.path, revision="v1", repos=repo_cache).appsets] == ["web"]


def test_a_mapped_repository_url_reads_the_mapped_directory(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "fleet", FILES)
    url = "https://git.example.com/fleet.git"
    result = appset.expand_fleet(url, revision="main", clusters=CLUSTERS, repo_map={url: root})
    assert [a.name for a in result.applications] == ["web-east", "web-west", "standalone"]
