"""`fleet plan --live` also compares the head with the clusters, as `fleet diff` does, and groups
how each cluster differs from it (a cluster drifted by hand differs in its own way). Without
--live a plan sends the clusters no request at all."""

from __future__ import annotations

from typing import Any

import git

from tests.plan_helpers import run_plan


def test_live_groups_how_clusters_differ_from_the_head_and_a_plan_alone_asks_them_nothing(
    make_fleet: Any,
) -> None:
    env = make_fleet("basic", clusters=3)
    repo = git.Repo.init(env.root, initial_branch="main")
    repo.git.add("--all")
    repo.git.commit("-m", "the web fleet", "--author", "Fleet Tests <tests@fleet.example>")
    base = repo.head.commit.hexsha
    synced = env.sync()
    assert synced.exit_code == 0, synced.stderr
    config = env.root / "apps/web/configmap.yaml"
    config.write_text(config.read_text().replace("hello", "bonjour"))
    names = env.cluster_names
    env.sim.edit_object(
        names[1], "v1", "ConfigMap", "web", "web-config", lambda o: o["data"].update(colour="red")
    )
    env.sim.reset_counts()

    offline = run_plan(env.root, env.clusters_file, "--base", base)

    assert offline.exit_code == 1, offline.stderr
    assert offline.doc["live"] is False and offline.doc["live_groups"] == []
    assert all(counts["total"] == 0 for counts in env.sim.request_counts().values())

    done = run_plan(env.root, env.clusters_file, "--base", base, "--live", "--executor", "local")

    assert done.exit_code == 1, done.stderr
    doc = done.doc
    assert doc["live"] is True and doc["totals"]["live_out_of_sync"] == 3
    assert doc["totals"]["live_failed_clusters"] == 0
    (change,) = done.groups("Changed")
    assert change["count"] == 3  # base to head: the same diff everywhere
    live = {tuple(g["clusters"]): g for g in doc["live_groups"]}
    assert sorted(live) == [(names[0], names[2]), (names[1],)], [g["diff"] for g in doc["live_groups"]]
    assert "greeting: bonjour" in live[(names[0], names[2])]["diff"]
    assert "-  colour: red" not in live[(names[0], names[2])]["diff"]
    assert (
        "-  colour: red\n" in live[(names[1],)]["diff"]
        and "+  greeting: bonjour" in live[(names[1],)]["diff"]
    )
    app = done.application(names[1], f"web-{names[1]}")
    assert app["live"]["sync_status"] == "OutOfSync" and app["live"]["group"] == live[(names[1],)]["id"]
    assert all(counts["total"] > 0 for counts in env.sim.request_counts().values())
    markdown = run_plan(
        env.root, env.clusters_file, "--base", base, "--live", "--executor", "local", output="markdown"
    )
    assert "#### Against live state" in markdown.stdout and "against live: 2 Applications" in markdown.stdout
