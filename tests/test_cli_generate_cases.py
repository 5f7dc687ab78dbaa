"""Every ApplicationSet case file, run through ``fleet generate -o json``, gives what the API gives.

The case files (tests/data/appset/cases, see tests/fixtures/appset.py) pin each generator and
template feature through ``fleet.appset.generate``. Here the same files go through the command:
the ApplicationSet is written to a file, its git repository is read from its URL through the
default cache, the clusters come from ``--clusters``. A case that expects Applications must
print exactly them (exit 0, or exit 1 with the invalid ones named on stderr); a case that
expects an error must exit 1 with that error on stderr and nothing on stdout.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from fleet.cli import app
from tests.fixtures import appset as fx

ALL_CASES = fx.case_names("")


@pytest.mark.parametrize("name", ALL_CASES)
def test_the_command_prints_what_the_case_file_expects(
    name: str, tmp_path: Path, make_git_repo: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_CACHE_DIR", str(tmp_path / "cache"))
    case = fx.load_case(name)
    doc, expected = case.appset, case.expected
    if case.repo:
        repo = make_git_repo(name, files=case.repo)
        doc = fx._replace(doc, fx.REPO_URL, repo.url)
        expected = fx._replace(expected, fx.REPO_URL, repo.url)
    path = tmp_path / "appset.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    args = ["--log-format", "json", "generate", str(path), "-o", "json"]
    if case.use_clusters:
        args += ["--clusters", str(fx.DATA / "clusters.yaml")]
    if not case.in_cluster:
        args.append("--no-in-cluster")

    result = CliRunner().invoke(app, args)

    if case.error is not None:
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        assert case.error in result.stderr, result.stderr
        assert f"ApplicationSet {doc['metadata']['name']}" in result.stderr
        if case.error_generator is not None:
            assert case.error_generator in result.stderr, result.stderr
        return
    assert json.loads(result.stdout) == expected
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(case.invalid), result.stderr
    for invalid, line in zip(case.invalid, errors, strict=True):
        assert invalid in line
    assert result.exit_code == (1 if case.invalid else 0), result.stderr


def test_the_example_fleet_prints_what_the_api_generates() -> None:
    """The bundled ApplicationSets (matrix, merge, git files and directories, goTemplate,
    templatePatch, values) through the command, with a directory argument and --repo-map."""
    from fleet import appset, argo
    from fleet.clusters import argocd
    from tests.conftest import REPO_ROOT

    fleet_repo = REPO_ROOT / "examples" / "fleet-repo"
    clusters_file = REPO_ROOT / "examples" / "clusters.yaml"
    url = "https://git.example.com/platform/fleet.git"
    appsets = [a for f in sorted((fleet_repo / "appsets").glob("*.yaml")) for a in argo.load_appsets(f)]
    api = appset.generate(
        appsets, clusters=argocd.load_cluster_secrets(clusters_file), repo_map={url: str(fleet_repo)}
    )
    assert not api.errors and not api.invalid

    result = CliRunner().invoke(
        app,
        [
            "--log-format", "json", "generate", str(fleet_repo / "appsets"),
            "--clusters", str(clusters_file), "--repo-map", f"{url}={fleet_repo}", "-o", "json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == list(api.objects)
    assert len(printed) == 255 and {a["metadata"]["name"].split("-")[0] for a in printed} == {
        "echo", "guestbook", "podinfo", "dashboard", "greeter", "hello", "platform",
    }  # fmt: skip
