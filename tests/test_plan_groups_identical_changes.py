"""`fleet plan` groups identical changes: a change to a shared Kustomize base, rendered through one
overlay per env over 60 clusters, reads as one diff per env ("the same diff on 20 clusters
(env=prod)"), each with its clusters, in every output format. The head is the working tree,
uncommitted change included; no cluster is contacted (their servers do not exist)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.plan_helpers import ENVS, appset, dump, run_plan, write_clusters

pytestmark = pytest.mark.skipif(
    shutil.which("kubectl") is None and shutil.which("kustomize") is None,
    reason="neither kustomize nor kubectl is installed (Kustomize overlays need one)",
)

BASE_CONFIG = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  greeting: hello
  colour: blue
"""


def _overlay(env: str) -> str:
    return (
        "resources:\n  - ../../base\n"
        "patches:\n"
        "  - patch: |\n"
        "      apiVersion: v1\n      kind: ConfigMap\n      metadata:\n        name: web-config\n"
        f"      data:\n        env: {env}\n"
    )


@pytest.fixture
def fleet(make_git_repo: Any, tmp_path: Path) -> tuple[Any, Path]:
    files = {
        "appset.yaml": dump(appset("web", "apps/web/overlays/{{metadata.labels.env}}")),
        "apps/web/base/kustomization.yaml": "resources:\n  - configmap.yaml\n",
        "apps/web/base/configmap.yaml": BASE_CONFIG,
        **{f"apps/web/overlays/{env}/kustomization.yaml": _overlay(env) for env in ENVS},
    }
    repo = make_git_repo("fleet", files=files)
    return repo, write_clusters(tmp_path / "clusters.yaml", 60)


def test_a_base_change_reads_as_one_diff_per_env(fleet: tuple[Any, Path]) -> None:
    repo, clusters = fleet
    config = repo.path / "apps/web/base/configmap.yaml"
    config.write_text(BASE_CONFIG.replace("hello", "bonjour"))  # the pull request, not committed

    done = run_plan(repo.path, clusters, "--base", "main")

    assert done.exit_code == 1, done.stderr
    doc = done.doc
    assert doc["schema"] == "fleet.plan/v1"
    assert doc["head"]["commit"].endswith("+dirty") and doc["head"]["revision"] == ""
    assert doc["base"]["commit"] == repo.head
    totals = doc["totals"]
    assert (totals["base"], totals["head"], totals["changed"], totals["unchanged"]) == (60, 60, 60, 0)
    assert totals["groups"] == 3 and totals["clusters"] == 60
    by_env = {g["labels"]["env"]: g for g in done.groups("Changed")}
    assert sorted(by_env) == sorted(ENVS)
    for index, env in enumerate(ENVS):
        group = by_env[env]
        assert group["labels"] == {"env": env}  # tier differs within the env, region is everywhere
        assert group["count"] == 20
        assert group["clusters"] == [f"c{i:03d}" for i in range(index + 1, 61, 3)]
        (obj,) = group["objects"]
        assert obj["ref"] == "ConfigMap web/web-config" and obj["change"] == "Changed"
        assert f"   env: {env}\n-  greeting: hello\n+  greeting: bonjour\n" in obj["diff"]
    assert {a["group"] for a in doc["applications"]} == {g["id"] for g in doc["groups"]}
    # The base was read from the object database: no worktree, branch or file was added.
    assert repo.repo.git.status("--porcelain") == " M apps/web/base/configmap.yaml"
    assert len(repo.repo.git.worktree("list").splitlines()) == 1

    markdown = run_plan(repo.path, clusters, "--base", "main", output="markdown")
    assert markdown.exit_code == 1
    for env in ENVS:
        assert f"the same diff on 20 clusters (env={env})" in markdown.stdout
    assert markdown.stdout.count("```diff") == 3
    assert markdown.stdout.index("| changed | 60 |") < markdown.stdout.index("<details>")


def test_nothing_changes_when_head_renders_as_base(fleet: tuple[Any, Path]) -> None:
    repo, clusters = fleet
    repo.commit(
        "a comment only", files={"appset.yaml": "# the web fleet\n" + (repo.path / "appset.yaml").read_text()}
    )

    done = run_plan(repo.path, clusters, "--base", "HEAD~1", "--head", "main")

    assert done.exit_code == 0, done.stderr
    assert done.doc["totals"]["unchanged"] == 60 and done.doc["groups"] == []
    assert done.doc["head"]["commit"] == repo.head


@pytest.fixture
def counted_kustomize(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """`kubectl` first on PATH as a shim that logs each `kubectl kustomize` and runs the real one
    (the edge fleet renders through); fleet's choice of tool is recomputed around the test."""
    from fleet.render import kustomize

    real = shutil.which("kubectl")
    if real is None:
        pytest.skip("kubectl is not installed (the build counter wraps it)")
    shims = tmp_path / "shims"
    shims.mkdir()
    log = tmp_path / "kustomize-builds.log"
    shim = shims / "kubectl"
    shim.write_text(f'#!/bin/sh\n[ "$1" = kustomize ] && echo "$2" >> {log}\nexec {real} "$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}:/usr/bin:/bin")  # no kustomize binary: kubectl kustomize
    kustomize.command.cache_clear()
    yield log
    kustomize.command.cache_clear()


def test_each_overlay_is_built_once_per_revision_not_once_per_application(
    fleet: tuple[Any, Path], counted_kustomize: Path
) -> None:
    repo, clusters = fleet
    (repo.path / "apps/web/base/configmap.yaml").write_text(BASE_CONFIG.replace("hello", "bonjour"))

    done = run_plan(repo.path, clusters, "--base", "main")

    assert done.exit_code == 1 and done.doc["totals"]["changed"] == 60, done.stderr
    built = counted_kustomize.read_text().splitlines()
    assert len(built) == 6  # 3 overlays at base, 3 at head, for 60 Applications each side
    assert sorted(Path(b).name for b in built) == sorted([*ENVS, *ENVS])
