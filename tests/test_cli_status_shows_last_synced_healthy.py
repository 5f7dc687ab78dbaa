"""``fleet status -o json`` says which version runs where: for each Application on each cluster,
the last revision a sync left Synced and Healthy, the run that did and when. A later failing sync
leaves it where it was (it is what rollback returns to); on both backends."""

from __future__ import annotations

import json

from fleet import store


def test_the_last_good_revision_survives_a_failing_sync(make_fleet, store_url) -> None:
    env = make_fleet("basic", clusters=2, store=store_url)
    first = env.sync()
    assert first.exit_code == 0, first.stderr
    revision = first.app("c002", "web-c002").revision
    # c002 now refuses fleet's token: its Application fails; c001's is synced again.
    env.clusters_file.write_text(env.clusters_file.read_text().replace(env.sim.token_for("c002"), "revoked"))
    second = env.sync()
    assert second.exit_code == 1

    run = env.run("status", *env.store_args(), "-o", "json")
    apps = {a["name"]: a for a in json.loads(run.stdout)["applications"]}
    assert apps["web-c002"]["health"] != "Healthy"
    assert apps["web-c002"]["last_synced_healthy"] == {
        "revision": revision,
        "run_id": first.run_result.run_id,
        "synced_at": first.run_result.finished_at,
    }
    assert apps["web-c001"]["last_synced_healthy"]["run_id"] == second.run_result.run_id

    (good,) = store.open(store_url).last_good(cluster="c002", app="web-c002")  # what rollback reads
    assert (good.revision, good.run_id) == (revision, first.run_result.run_id)
