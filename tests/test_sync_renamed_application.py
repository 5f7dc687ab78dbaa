"""An Application renamed in Git takes over the objects of its old name in the same run: they
are not shared with an Application this run deletes, so they are neither left to it nor deleted
with it (the SharedResourceWarning of issue 8, item 5, is for Applications that both stay)."""

from __future__ import annotations

import yaml

from fleet import inventory
from fleet.results import Action, Deletion


def test_a_renamed_application_keeps_its_objects(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    before = env.sim.get_object("c001", "apps/v1", "Deployment", "web", "web")["metadata"]["uid"]
    doc = yaml.safe_load((env.root / "appset.yaml").read_text())
    doc["spec"]["template"]["metadata"]["name"] = "site-{{name}}"
    env.write("appset.yaml", doc)
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    old = run.app("c001", "web-c001")
    assert old.deletion is Deletion.DELETED
    assert {r.action for r in old.resources if not r.hook} == {Action.PRUNE_SKIPPED}
    live = env.sim.get_object("c001", "apps/v1", "Deployment", "web", "web")
    assert live["metadata"]["uid"] == before  # the same object, never deleted
    assert live["metadata"]["annotations"][inventory.TRACKING_ANNOTATION].startswith("site-c001:")
    assert run.app("c001", "site-c001").ok
