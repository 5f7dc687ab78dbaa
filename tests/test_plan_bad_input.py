"""`fleet plan` refuses bad input with exit 2 and a message naming the flag or the file: a base or
head revision that does not exist, no base at all, a fleet outside git, a bad --repo-map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.plan_helpers import appset, dump, run_plan, write_clusters

CASES = [
    (("--base", "no-such-branch"), "field --base: 'no-such-branch' is no branch, tag or commit of"),
    (("--base", "main", "--head", "v9.9.9"), "field --head: 'v9.9.9' is no branch, tag or commit of"),
    (("--base", "0" * 40), "field --base:"),
    ((), "field --base: is required"),
    (("--base", "main", "--repo-map", "https://x.example/r.git=/no/such/dir"), "field --repo-map:"),
]


@pytest.mark.parametrize(
    ("args", "message"), CASES, ids=["base", "head", "unknown-sha", "no-base", "repo-map"]
)
def test_bad_revisions_and_flags_are_bad_input_naming_the_flag(
    args: tuple[str, ...], message: str, make_git_repo: Any, tmp_path: Path
) -> None:
    clusters = write_clusters(tmp_path / "clusters.yaml", 1)
    repo = make_git_repo(
        "fleet",
        files={
            "web.yaml": dump(appset("web", "apps/web")),
            "apps/web/c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        },
    )

    done = run_plan(repo.path, clusters, *args)

    assert done.exit_code == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert done.stdout == ""


def test_a_fleet_outside_git_is_bad_input(tmp_path: Path) -> None:
    clusters = write_clusters(tmp_path / "clusters.yaml", 1)
    fleet = tmp_path / "not-a-repo"
    fleet.mkdir()
    (fleet / "web.yaml").write_text(dump(appset("web", "apps/web")))

    done = run_plan(fleet, clusters, "--base", "main")

    assert done.exit_code == 2
    assert f"{fleet}: is not inside a git repository" in done.stderr
