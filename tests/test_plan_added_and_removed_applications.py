"""`fleet plan` reports Applications a pull request adds and removes: an ApplicationSet added for
the prod clusters (and its rollout step at head), a plain Application deleted with its resources
(it carries the resources finalizer), one whose resources are kept (no finalizer), and the
Applications of a `create-only` ApplicationSet, which a sync never deletes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.plan_helpers import REPO_URL, appset, dump, run_plan, write_clusters

CONFIG = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n"


def _plain(name: str, *, finalizer: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "argocd"}
    if finalizer:
        meta["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta,
        "spec": {
            "project": "default",
            "source": {"repoURL": REPO_URL, "path": "apps/legacy"},
            "destination": {"name": "c001", "namespace": "legacy"},
        },
    }


def test_added_and_removed_applications_with_what_happens_to_their_resources(
    make_git_repo: Any, tmp_path: Path
) -> None:
    clusters = write_clusters(tmp_path / "clusters.yaml", 6)
    kept = appset(
        "batch", "apps/legacy", generator={"clusters": {"selector": {"matchLabels": {"env": "dev"}}}}
    )
    kept["spec"]["syncPolicy"] = {"applicationsSync": "create-only"}
    repo = make_git_repo(
        "fleet",
        files={
            "web.yaml": dump(appset("web", "apps/web")),
            "batch.yaml": dump(kept),
            "legacy.yaml": dump(_plain("legacy", finalizer=True), _plain("archive", finalizer=False)),
            "apps/web/config.yaml": CONFIG,
            "apps/legacy/config.yaml": CONFIG,
        },
    )
    base = repo.head
    api = appset("api", "apps/web", generator={"clusters": {"selector": {"matchLabels": {"env": "prod"}}}})
    api["spec"]["strategy"] = {
        "type": "RollingSync",
        "rollingSync": {
            "steps": [
                {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["core"]}]},
                {"matchExpressions": []},
            ]
        },
    }
    api["spec"]["template"]["metadata"]["labels"] = {"tier": "{{metadata.labels.tier}}"}
    repo.remove("legacy.yaml", "batch.yaml")
    head = repo.commit("api for prod; legacy gone", files={"api.yaml": dump(api)})

    done = run_plan(repo.path, clusters, "--base", base, "--head", head)

    assert done.exit_code == 1, done.stderr
    totals = done.doc["totals"]
    assert (totals["added"], totals["removed"], totals["unchanged"]) == (2, 4, 6)
    (added,) = done.groups("Added")
    assert added["clusters"] == ["c003", "c006"] and added["labels"] == {"env": "prod"}
    assert [o["change"] for o in added["objects"]] == ["Added"]
    assert "+  k: v" in added["objects"][0]["diff"]
    assert added["rollout_steps"] == {"api step 1/2": 1, "api step 2/2": 1}
    assert done.application("c003", "api-c003")["rollout"]["step"] == 1  # c003 is a core cluster
    assert done.application("c006", "api-c006")["rollout"]["step"] == 2
    removed = {tuple(g["applications"]): g for g in done.groups("Removed")}
    assert removed[("legacy",)]["deletion"] == "WouldDelete"
    assert removed[("archive",)]["deletion"] == "WouldPreserve"
    assert removed[("batch-c001", "batch-c004")]["deletion"] == "Kept"
    assert "-  k: v" in removed[("legacy",)]["objects"][0]["diff"]

    table = run_plan(repo.path, clusters, "--base", base, "--head", head, output="table")
    assert table.exit_code == 1
    assert "Added" in table.stdout and "WouldDelete" in table.stdout
    assert "6 of 12 applications change on 6 clusters (2 added, 4 removed, 0 changed" in table.stdout
