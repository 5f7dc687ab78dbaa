"""`fleet plan -o markdown` stays under GitHub's comment limit (65,536 characters) however large
the change: totals first, every distinct change shown with its diff while it fits, the next one
cut short with a line saying so, the rest listed or counted, and a note saying what was left out.
Every fenced block is closed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fleet.preview import markdown
from tests.plan_helpers import appset, dump, run_plan, write_clusters

CLUSTERS = 60


def _config(cluster: str, word: str) -> str:
    # 200 lines that differ per cluster: 60 distinct diffs of about 8 KB each.
    lines = "".join(f"  line{n:03d}: {word} {cluster} {n}\n" for n in range(200))
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata:\n{lines}"


def test_a_large_plan_is_cut_to_fit_a_comment_and_says_so(make_git_repo: Any, tmp_path: Path) -> None:
    clusters = write_clusters(tmp_path / "clusters.yaml", CLUSTERS)
    names = [f"c{i:03d}" for i in range(1, CLUSTERS + 1)]
    repo = make_git_repo(
        "fleet",
        files={
            "big.yaml": dump(appset("big", "apps/{{name}}")),
            **{f"apps/{name}/config.yaml": _config(name, "before") for name in names},
        },
    )
    for name in names:
        (repo.path / f"apps/{name}/config.yaml").write_text(_config(name, "after"))

    done = run_plan(repo.path, clusters, "--base", "main", output="markdown")
    full = run_plan(repo.path, clusters, "--base", "main", output="json")

    assert done.exit_code == 1, done.stderr
    text = done.stdout
    assert len(text) < markdown.GITHUB_COMMENT_LIMIT
    assert sum(len(g["objects"][0]["diff"]) for g in full.groups()) > 4 * markdown.GITHUB_COMMENT_LIMIT
    assert text.startswith("### fleet plan: 60 of 60 Applications change on 60 clusters")
    assert text.index("| changed | 60 |") < text.index("<details>")
    assert "more lines of this diff not shown (comment size limit)" in text
    assert "> **Truncated** to stay under the comment limit (65,536 characters)" in text
    assert "Run `fleet plan` with `-o json`" in text
    fences = [line for line in text.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0 and fences[0] == "```diff"
    assert text.count("<details>") == text.count("</details>")
    shown = text.count("<details>")
    listed = text.count("(diff not shown)")
    assert 1 < shown < CLUSTERS and shown + listed <= CLUSTERS
    assert f"{shown} of {CLUSTERS} changes shown with their diff (the last one cut short)" in text
