"""Reports show the recent Warning Events of a Degraded or Progressing object, fetched with one
LIST per namespace and only when something is unhealthy, with secrets masked."""

from __future__ import annotations

from fleet import redact, report, results
from fleet.health import Health
from fleet.reconcile import events


def break_image(env) -> None:
    text = (env.root / "apps/web/deployment.yaml").read_text()
    (env.root / "apps/web/deployment.yaml").write_text(
        text.replace("image: nginx:1.27", "image: nginx:bad").replace(
            "replicas: 2", "replicas: 2\n  progressDeadlineSeconds: 1"
        )
    )


def test_a_degraded_deployment_carries_the_warnings_of_its_pods_into_every_report(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    (cluster,) = env.cluster_names
    break_image(env)
    env.sim.reset_counts()
    run = env.sync("--health-timeout", "20")
    app = run.app(cluster, f"web-{cluster}")
    (deployment,) = [r for r in app.resources if r.kind == "Deployment"]
    assert deployment.health is Health.DEGRADED
    reasons = {(e.reason, e.message) for e in deployment.events}
    assert ("Failed", "Error: ErrImagePull") in reasons
    assert all(e.object.startswith("Pod/web-") and e.type == "Warning" for e in deployment.events)
    assert len(deployment.events) <= events.LIMIT
    healthy = [r for r in app.resources if r.health is Health.HEALTHY]
    assert healthy and all(r.events == () for r in healthy)
    assert env.sim.request_counts(cluster)["resources"]["events"] == {"list": 1}
    markdown = report.render(run.run_result, fmt="markdown")
    assert "Recent events of unhealthy objects" in markdown and "Error: ErrImagePull" in markdown
    html = report.render(run.run_result, fmt="html")
    assert "Recent events of unhealthy objects" in html and "Error: ErrImagePull" in html


def test_a_healthy_sync_lists_no_events(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    (cluster,) = env.cluster_names
    env.sim.reset_counts()
    run = env.sync("--health-timeout", "20")
    assert run.exit_code == 0
    assert "events" not in env.sim.request_counts(cluster)["resources"]


def test_event_messages_are_masked_and_bounded() -> None:
    redact.register("hunter2-secret")
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "uid": "u1", "namespace": "n"},
    }
    noisy = [
        {
            "type": "Warning",
            "reason": "Failed",
            "message": f"pull of registry.example.com with password hunter2-secret failed #{i} " + "x" * 400,
            "count": i,
            "lastTimestamp": f"2026-01-01T00:00:{i:02d}Z",
            "involvedObject": {"kind": "Pod", "name": f"web-abc-{i}", "namespace": "n"},
        }
        for i in range(9)
    ] + [
        {
            "type": "Warning",
            "reason": "Other",
            "message": "not ours",
            "involvedObject": {"kind": "Pod", "name": "webhook-1"},
        }
    ]
    found = events.about(obj, noisy)
    assert [e.count for e in found] == [8, 7, 6, 5, 4]  # newest first, at most LIMIT
    assert all("hunter2-secret" not in e.message and len(e.message) <= events.MESSAGE_LIMIT for e in found)
    assert isinstance(found[0], results.ObjectEvent)
