"""FailOnSharedResource: an Application that would apply an object another Application already
owns (per its tracking id) fails with SharedResource before changing anything."""

from __future__ import annotations

from fleet import inventory
from fleet.status import Reason


def test_an_object_owned_by_another_application_blocks_the_sync(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    env.write(
        "copycat.yaml",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "copycat"},
            "spec": {
                "project": "default",
                "destination": {"name": "c001", "namespace": "web"},
                "source": {"repoURL": "https://git.example.com/fleet.git", "path": "apps/copycat"},
                "syncPolicy": {"syncOptions": ["FailOnSharedResource=true"]},
            },
        },
    )
    env.write(
        "apps/copycat/config.yaml",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "web-config"},
            "data": {"greeting": "mine now"},
        },
    )
    run = env.sync("--app", "copycat")
    assert run.exit_code == 1
    app = run.app("c001", "copycat")
    assert app.reason is Reason.SHARED_RESOURCE and "owned by web-c001" in app.message
    live = env.sim.get_object("c001", "v1", "ConfigMap", "web", "web-config")
    assert live["data"]["greeting"] == "hello"
    assert live["metadata"]["annotations"][inventory.TRACKING_ANNOTATION].startswith("web-c001:")
