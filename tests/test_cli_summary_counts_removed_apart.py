"""The summary line counts the Applications Git still generates; those removed from Git are
counted apart, by what happened to them: a deleted Application is gone, not "Synced and Healthy"
(issue 8, item 8)."""

from __future__ import annotations

import yaml


def test_deleted_applications_are_not_counted_as_synced_and_healthy(make_fleet) -> None:
    env = make_fleet("basic", clusters=3)
    assert env.sync().exit_code == 0
    doc = yaml.safe_load((env.root / "appset.yaml").read_text())
    doc["spec"]["generators"] = [{"list": {"elements": [{"name": "c001"}]}}]
    env.write("appset.yaml", doc)
    run = env.sync("--allow-mass-delete", output="table")
    assert run.exit_code == 0, run.stderr
    line = run.stdout.strip().splitlines()[-1]
    assert "1 applications: 1 Synced and Healthy, 0 OutOfSync, 0 Unknown" in line, line
    assert line.endswith("removed from Git: 2 deleted"), line


def test_the_notification_headline_counts_them_apart_too() -> None:
    from fleet import notify, results
    from tests import notify_helpers as h

    run = h.run(
        [
            h.app("c001", "web-c001"),
            h.app("c002", "web-c002", "Synced/Missing", deletion=results.Deletion.DELETED),
        ]
    )
    line = notify.headline(notify.build(run, None))
    assert "1/1 Applications Synced and Healthy" in line, line
