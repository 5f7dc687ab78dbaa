"""In working-tree mode (a FLEET directory, `--repo-map URL=DIR`) a symlink that leads out of the
repository is refused as git-URL mode refuses it (issue 8, item 4): a source path, manifest, Helm
chart file (`.Files.Get`) or Kustomize resource read through one fails its Application with
RenderFailed and nothing of the outside reaches a cluster; a fleet file (an ApplicationSet, or a
directory of them) read through one is bad input (exit 2) and no cluster is touched. Symlinks that
stay inside the repository keep working in both modes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet import gitsource
from fleet.status import Reason
from tests.fixtures.git import GitRepo
from tests.fixtures.sync import FleetEnv

SOURCES_URL = "https://git.example.com/sources.git"
MARKER = "from-outside-the-repository"
OUTSIDE_CM = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: outside}}\ndata: {{leak: {MARKER}}}\n"
CHART = {
    "Chart.yaml": "apiVersion: v2\nname: reader\nversion: 0.1.0\n",
    "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: reader}\n"
    'data: {file: {{ .Files.Get "files/data.txt" | quote }}}\n',
}


def _outside(tmp_path: Path) -> Path:
    """A directory next to the repositories: a manifest, a folder of manifests and a 'key'."""
    outside = tmp_path / "outside"
    (outside / "manifests").mkdir(parents=True)
    (outside / "cm.yaml").write_text(OUTSIDE_CM)
    (outside / "manifests" / "cm.yaml").write_text(OUTSIDE_CM)
    (outside / "key.txt").write_text(MARKER)
    return outside


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _application(name: str, path: str, repo_url: str = SOURCES_URL) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "path": path},
            "destination": {"name": "c001", "namespace": name},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
        },
    }


def _path_is_a_link(src: Path, out: Path) -> str:
    (src / "app").symlink_to(out / "manifests")
    return "app"


def _manifest_is_a_link(src: Path, out: Path) -> str:
    _write(src, {"app/ok.yaml": OUTSIDE_CM.replace("outside", "inside").replace(MARKER, "fine")})
    (src / "app" / "cm.yaml").symlink_to(out / "cm.yaml")
    return "app"


def _chart_file_is_a_link(src: Path, out: Path) -> str:
    _write(src / "app", CHART)
    (src / "app" / "files").mkdir()
    (src / "app" / "files" / "data.txt").symlink_to(out / "key.txt")
    return "app"


def _kustomize_resource_is_a_link(src: Path, out: Path) -> str:
    _write(src, {"app/kustomization.yaml": "resources: [cm.yaml]\n"})
    (src / "app" / "cm.yaml").symlink_to(out / "cm.yaml")
    return "app"


def _links_that_each_stay_inside_but_lead_out_together(src: Path, out: Path) -> str:
    # `here -> .` and `up -> here/..` each look inside; `up` is the repository's parent, where
    # the working tree's neighbour `outside/` is.
    (src / "here").symlink_to(".")
    (src / "up").symlink_to("here/..")
    return "up/outside/manifests"


SOURCE_CASES = [
    ("source-path-links-to-a-directory-outside", _path_is_a_link),
    ("manifest-file-links-outside", _manifest_is_a_link),
    ("helm-chart-file-links-outside", _chart_file_is_a_link),
    ("kustomize-resource-links-outside", _kustomize_resource_is_a_link),
    ("two-inside-links-that-lead-out-together", _links_that_each_stay_inside_but_lead_out_together),
]


def _sync_with_sources(env: FleetEnv, sources: Path, *extra: str) -> Any:
    return env.run(
        "--log-format",
        "json",
        "sync",
        *env.args("--repo-map", f"{SOURCES_URL}={sources}", *extra),
        "-o",
        "json",
    )


@pytest.mark.parametrize(("case", "arrange"), SOURCE_CASES, ids=[c[0] for c in SOURCE_CASES])
def test_a_source_read_through_a_symlink_out_of_the_repository_fails_with_render_failed(
    make_fleet, tmp_path: Path, case: str, arrange: Any
) -> None:
    env = make_fleet("basic", clusters=1)
    out = _outside(tmp_path)
    sources = tmp_path / "sources"
    sources.mkdir()
    env.write("apps/leaky.yaml", _application("leaky", arrange(sources, out)))
    run = _sync_with_sources(env, sources)
    assert run.exit_code == 1, run.stderr
    leaky = run.app("c001", "leaky")
    assert leaky.reason is Reason.RENDER_FAILED
    assert "leads outside the repository" in leaky.message
    assert run.app("c001", "web-c001").ok  # the fleet's other Applications are not affected
    live = yaml.safe_dump(env.objects("c001"))
    assert MARKER not in live and MARKER not in run.stdout + run.stderr
    assert str(out) not in leaky.message  # the target is not named


@pytest.mark.parametrize(("case", "arrange"), SOURCE_CASES, ids=[c[0] for c in SOURCE_CASES])
def test_git_url_mode_refuses_the_same_links_with_the_same_reason(
    make_fleet, make_git_repo, tmp_path: Path, monkeypatch, case: str, arrange: Any
) -> None:
    monkeypatch.setenv("FLEET_CACHE_DIR", str(tmp_path / "cache"))
    env = make_fleet("basic", clusters=1)
    out = _outside(tmp_path)
    repo: GitRepo = make_git_repo("sources")
    path = arrange(repo.path, out)
    repo.commit("sources with a symlink out")
    # Two Applications read the same commit: the second must not find a half-made checkout.
    env.write(
        "apps/leaky.yaml", [_application("leaky", path, repo.url), _application("leaky-too", path, repo.url)]
    )
    run = env.sync()
    assert run.exit_code == 1, run.stderr
    for name in ("leaky", "leaky-too"):
        app = run.app("c001", name)
        assert app.reason is Reason.RENDER_FAILED and "outside the repository" in app.message, app.message
    assert MARKER not in yaml.safe_dump(env.objects("c001"))


def test_a_chart_in_the_fleet_directory_itself_with_a_file_linked_outside_fails_its_application(
    make_fleet, tmp_path: Path
) -> None:
    env = make_fleet("basic", clusters=1)
    out = _outside(tmp_path)
    _chart_file_is_a_link(env.root / "charts", out)
    env.write(
        "apps/reader.yaml", _application("reader", "charts/app", repo_url="https://git.example.com/fleet.git")
    )
    run = env.sync()
    assert run.exit_code == 1
    assert run.app("c001", "reader").reason is Reason.RENDER_FAILED
    assert MARKER not in yaml.safe_dump(env.objects("c001"))


def _appset_file_is_a_link(root: Path, out: Path) -> str:
    (out / "appset.yaml").write_text(
        (root / "appset.yaml").read_text().replace("name: web\n", "name: other\n", 1)
    )
    (root / "more.yaml").symlink_to(out / "appset.yaml")
    return "more.yaml"


def _appset_directory_is_a_link(root: Path, out: Path) -> str:
    (out / "appsets").mkdir()
    (root / "appsets").symlink_to(out / "appsets")
    return "appsets"


FLEET_FILE_CASES = [
    ("an-appset-file-links-outside", _appset_file_is_a_link),
    ("a-directory-of-fleet-files-links-outside", _appset_directory_is_a_link),
]


@pytest.mark.parametrize(("case", "arrange"), FLEET_FILE_CASES, ids=[c[0] for c in FLEET_FILE_CASES])
def test_a_fleet_file_read_through_a_symlink_out_of_the_directory_is_bad_input(
    make_fleet, tmp_path: Path, case: str, arrange: Any
) -> None:
    env = make_fleet("basic", clusters=1)
    named = arrange(env.root, _outside(tmp_path))
    for command in ("sync", "diff"):
        run = env.run(command, *env.args())
        assert run.exit_code == 2, (command, run.stdout, run.stderr)
        assert named in run.stderr and "symlink that leads outside the repository" in run.stderr
    assert all(c["total"] == 0 for c in env.sim.request_counts().values())


def test_symlinks_that_stay_inside_keep_working(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    _write(env.root, {"shared/extra.yaml": OUTSIDE_CM.replace("outside", "shared").replace(MARKER, "inside")})
    (env.root / "apps" / "web" / "extra.yaml").symlink_to("../../shared/extra.yaml")
    (env.root / "current").symlink_to("apps/web")
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    assert "shared" in env.names("c001", "web", "ConfigMap")


def test_escaping_links_resolves_every_link_on_the_way(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "a" / "b").mkdir(parents=True)
    (root / "here").symlink_to(".")
    (root / "up").symlink_to("here/..")
    (root / "a" / "b" / "fine").symlink_to("../../a")
    (root / "a" / "dangling-inside").symlink_to("nowhere")
    (root / "a" / "abs").symlink_to("/etc/passwd")
    (root / ".git").mkdir()
    (root / "git-config").symlink_to(".git")
    assert gitsource.escaping_links(root) == [("a/abs", False), ("git-config", True), ("up", True)]


def test_in_a_git_working_tree_only_what_git_sees_is_checked(
    make_fleet, make_git_repo, tmp_path: Path
) -> None:
    env = make_fleet("basic", clusters=1)
    out = _outside(tmp_path)
    repo: GitRepo = make_git_repo(
        "sources",
        files={
            ".gitignore": ".venv/\n",
            "app/cm.yaml": OUTSIDE_CM.replace("outside", "inside").replace(MARKER, "fine"),
        },
    )
    # An ignored virtualenv full of links out is the machine's, not the repository's.
    (repo.path / ".venv" / "bin").mkdir(parents=True)
    (repo.path / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (repo.path / ".venv" / "lib").symlink_to(out)
    env.write("apps/src.yaml", _application("src", "app"))
    run = _sync_with_sources(env, repo.path)
    assert run.exit_code == 0, run.stderr
    # An untracked link that git does see (not ignored) is refused like a committed one.
    (repo.path / "app" / "leak.yaml").symlink_to(out / "cm.yaml")
    run = _sync_with_sources(env, repo.path)
    assert run.exit_code == 1
    app = run.app("c001", "src")
    assert (
        app.reason is Reason.RENDER_FAILED and "'app/leak.yaml' leads outside the repository" in app.message
    )
    assert MARKER not in yaml.safe_dump(env.objects("c001"))
