"""`fleet plan` shows the AppProject violations a pull request introduces: an object kind the
project does not permit (a ClusterRole), and a destination namespace outside the project's
destinations. Both fail their Application at head (exit 1); the base had none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.plan_helpers import appset, dump, run_plan, write_clusters

PROJECT = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "AppProject",
    "metadata": {"name": "team", "namespace": "argocd"},
    "spec": {
        "sourceRepos": ["*"],
        "destinations": [{"server": "*", "namespace": "web"}, {"server": "*", "namespace": "api"}],
    },
}
CONFIG = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n"
ROLE = (
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: web-reader}\nrules: []\n"
)


def test_violations_introduced_by_head_fail_their_applications(make_git_repo: Any, tmp_path: Path) -> None:
    clusters = write_clusters(tmp_path / "clusters.yaml", 3)
    repo = make_git_repo(
        "fleet",
        files={
            "project.yaml": dump(PROJECT),
            "web.yaml": dump(appset("web", "apps/web", project="team")),
            "api.yaml": dump(appset("api", "apps/api", project="team")),
            "apps/web/config.yaml": CONFIG,
            "apps/api/config.yaml": CONFIG,
        },
    )
    base = run_plan(repo.path, clusters, "--base", "main")
    assert base.exit_code == 0 and base.doc["totals"]["violations"] == 0, base.stderr

    (repo.path / "apps/web/role.yaml").write_text(ROLE)
    (repo.path / "api.yaml").write_text(dump(appset("api", "apps/api", project="team", namespace="payments")))
    done = run_plan(repo.path, clusters, "--base", "main")

    assert done.exit_code == 1, done.stderr
    assert done.doc["totals"]["violations"] == 6 and done.doc["totals"]["failed"] == 6
    (kind,) = [g for g in done.groups("Failed") if g["applications"][0].startswith("web")]
    assert kind["count"] == 3
    assert kind["violations"] == [
        "rbac.authorization.k8s.io/ClusterRole web-reader: cluster-scoped resource "
        "rbac.authorization.k8s.io/ClusterRole is not permitted in project team"
    ]
    assert "+kind: ClusterRole" in kind["objects"][0]["diff"]  # the diff is still shown
    (where,) = [g for g in done.groups("Failed") if g["applications"][0].startswith("api")]
    assert where["count"] == 3 and len(where["violations"]) == 1
    assert "namespace payments is not permitted in project team" in where["violations"][0]
    assert any("payments" in e for e in done.doc["errors"]["new"])
