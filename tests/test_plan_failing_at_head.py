"""`fleet plan` reports an Application that no longer renders at head as failing, once for every
cluster (its name shown as <app>), with no object diff: its objects are unknown, not removed,
and nothing is pruned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.plan_helpers import appset, dump, run_plan, write_clusters


def test_a_source_that_stops_rendering_fails_at_head_without_pruning_anything(
    make_git_repo: Any, tmp_path: Path
) -> None:
    clusters = write_clusters(tmp_path / "clusters.yaml", 3)
    repo = make_git_repo(
        "fleet",
        files={
            "web.yaml": dump(appset("web", "apps/web")),
            "apps/web/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        },
    )
    (repo.path / "apps/web/config.yaml").write_text("kind: ConfigMap\nmetadata: {name: c}\n")  # no apiVersion

    done = run_plan(repo.path, clusters, "--base", "main")

    assert done.exit_code == 1, done.stderr
    assert done.doc["totals"]["failed"] == 3 and done.doc["totals"]["pruned"] == 0
    (group,) = done.groups()
    assert group["change"] == "Failed" and group["count"] == 3 and group["objects"] == []
    assert group["message"].startswith("RenderFailed: ") and "apiVersion" in group["message"]
    assert "web-c00" not in group["message"]
