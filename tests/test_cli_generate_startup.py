"""`fleet generate` pays at start only for what it uses (issue 15): its help off a terminal is the
text Typer rendered once (``fleet/cli/generate_help.txt``), printed without typer, rich, pydantic
or the engine; a preview of list and cluster generators never imports GitPython, nor one of git
directories over a mirror already cloned (the git binary reads it), and ssl is imported only for
a repository's TLS settings. Behaviour, not time: benchmarks/bench_startup.py measures the time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fleet import appset, entry, gitsource
from fleet.cli import generate
from tests import startup_helpers
from tests.fixtures import git as git_fixtures


def run_entry(tmp_path: Path, *args: str) -> tuple[str, set[str]]:
    return startup_helpers.run_probe(tmp_path, "fleet.entry", *args, plain=True)


roots = startup_helpers.roots
LIST_APPSET = startup_helpers.LIST_APPSET


def test_the_kept_generate_help_is_what_typer_prints() -> None:
    kept = entry.GENERATE_HELP.read_text(encoding="utf-8")
    assert kept == entry.render_help(("generate", "--help")), (
        "fleet/cli/generate_help.txt is out of date: run .venv/bin/python -m fleet.entry --write-root-help"
    )


def test_generate_help_off_a_terminal_imports_neither_typer_nor_the_engine(tmp_path: Path) -> None:
    text, modules = run_entry(tmp_path, "generate", "--help")
    assert text == entry.GENERATE_HELP.read_text(encoding="utf-8")
    assert not roots(modules) & {"typer", "rich", "click", "pydantic", "yaml", "git"}
    assert "fleet.cli" not in modules


def test_a_preview_of_a_list_generator_does_not_import_gitpython(tmp_path: Path) -> None:
    appset_file = tmp_path / "appset.yaml"
    appset_file.write_text(LIST_APPSET)
    text, modules = run_entry(tmp_path, "generate", str(appset_file), "-o", "json")
    assert json.loads(text)[0]["metadata"]["name"] == "guestbook-in-cluster"
    assert "git" not in roots(modules) and "fleet.appset" in modules


def test_a_preview_without_repository_tls_settings_does_not_import_ssl(tmp_path: Path) -> None:
    # fleet.repocreds imports ssl only to build or check a repository's TLS settings.
    appset_file = tmp_path / "appset.yaml"
    appset_file.write_text(LIST_APPSET)
    text, modules = run_entry(tmp_path, "generate", str(appset_file), "-o", "json")
    assert json.loads(text)[0]["metadata"]["name"] == "guestbook-in-cluster"
    assert "fleet.repocreds" in modules and not {"ssl", "_ssl"} & modules


def test_a_preview_of_git_directories_over_a_cloned_mirror_does_not_import_gitpython(
    tmp_path: Path, git_repo: git_fixtures.GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo.commit(
        "apps", {"apps/api/kustomization.yaml": "resources: []\n", "apps/web/kustomization.yaml": ""}
    )
    monkeypatch.setenv(gitsource.CACHE_ENV, str(tmp_path / "cache"))  # the command's cache too
    gitsource.RepoCache().open(git_repo.url, "main")  # cloned here (GitPython), fetched just now
    appset_file = tmp_path / "appset.yaml"
    generator = {"repoURL": git_repo.url, "revision": "main", "directories": [{"path": "apps/*"}]}
    template = {
        "metadata": {"name": "{{path.basename}}"},
        "spec": {
            "project": "default",
            "source": {"repoURL": git_repo.url, "path": "{{path}}"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "{{path.basename}}"},
        },
    }
    spec = {"generators": [{"git": generator}], "template": template}
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "apps"},
        "spec": spec,
    }
    appset_file.write_text(yaml.safe_dump(doc))
    text, modules = run_entry(tmp_path, "generate", str(appset_file), "-o", "json")
    assert sorted(app["metadata"]["name"] for app in json.loads(text)) == ["api", "web"]
    assert "git" not in roots(modules) and "fleet.gitsource" in modules


def test_the_cli_default_namespace_is_the_engines() -> None:
    assert generate.DEFAULT_NAMESPACE == appset.DEFAULT_NAMESPACE
