"""`fleet plan` says what the next sync does with objects the head no longer renders: pruned
where the Application prunes (automated.prune, or --prune), left OutOfSync where it does not,
kept where the object says Prune=false."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.plan_helpers import appset, dump, run_plan, write_clusters

CONFIG = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}{annotations}}}\ndata: {{k: v}}\n"


def _config(name: str, *, keep: bool = False) -> str:
    annotations = ", annotations: {argocd.argoproj.io/sync-options: Prune=false}" if keep else ""
    return CONFIG.format(name=name, annotations=annotations)


def test_objects_removed_from_git_are_pruned_kept_or_left_as_their_application_says(
    make_git_repo: Any, tmp_path: Path
) -> None:
    clusters = write_clusters(tmp_path / "clusters.yaml", 2)
    repo = make_git_repo(
        "fleet",
        files={
            "prunes.yaml": dump(appset("prunes", "apps/a")),
            "manual.yaml": dump(appset("manual", "apps/b", sync_policy={})),
            "apps/a/one.yaml": _config("one"),
            "apps/a/two.yaml": _config("two"),
            "apps/a/kept.yaml": _config("kept", keep=True),
            "apps/b/one.yaml": _config("one"),
            "apps/b/two.yaml": _config("two"),
        },
    )
    repo.remove("apps/a/two.yaml", "apps/a/kept.yaml", "apps/b/two.yaml")

    done = run_plan(repo.path, clusters, "--base", "main")

    assert done.exit_code == 1, done.stderr
    assert (done.doc["totals"]["pruned"], done.doc["totals"]["requires_pruning"]) == (2, 2)
    by_app = {
        g["applications"][0].split("-")[0]: {o["ref"]: o["prune"] for o in g["objects"]}
        for g in done.groups()
    }
    assert by_app["prunes"] == {"ConfigMap prunes/kept": "Keep", "ConfigMap prunes/two": "Prune"}
    assert by_app["manual"] == {"ConfigMap manual/two": "RequiresPruning"}

    forced = run_plan(repo.path, clusters, "--base", "main", "--prune")
    by_app = {
        g["applications"][0].split("-")[0]: {o["ref"]: o["prune"] for o in g["objects"]}
        for g in forced.groups()
    }
    assert by_app["manual"] == {"ConfigMap manual/two": "Prune"}
    assert by_app["prunes"]["ConfigMap prunes/kept"] == "Keep"
