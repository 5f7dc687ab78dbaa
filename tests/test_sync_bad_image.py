"""A Deployment whose image never pulls leaves its Application Degraded (once the Deployment's
progress deadline passes) and the exit status 1; later waves are not applied, other
Applications and clusters are not affected."""

from __future__ import annotations

from fleet import results
from fleet.health import Health
from fleet.status import OperationPhase, Reason


def break_image(env) -> None:
    text = (env.root / "apps/web/deployment.yaml").read_text()
    text = text.replace("image: nginx:1.27", "image: nginx:bad").replace(
        "replicas: 2", "replicas: 2\n  progressDeadlineSeconds: 1"
    )
    (env.root / "apps/web/deployment.yaml").write_text(text)
    env.write(
        "apps/web/after.yaml",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "after-the-deployment",
                "annotations": {"argocd.argoproj.io/sync-wave": "1"},
            },
            "data": {"a": "b"},
        },
    )


def test_a_bad_image_leaves_the_application_degraded_and_the_exit_status_1(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    break_image(env)
    run = env.sync("--health-timeout", "20")
    assert run.exit_code == 1
    for cluster in env.cluster_names:
        app = run.app(cluster, f"web-{cluster}")
        assert (app.health, app.phase, app.reason) == (
            Health.DEGRADED,
            OperationPhase.FAILED,
            Reason.HEALTH_CHECK_FAILED,
        )
        assert "Deployment web/web" in app.message
        (deployment,) = [r for r in app.resources if r.kind == "Deployment"]
        assert deployment.health is Health.DEGRADED and "progress" in deployment.health_message.lower()
        (later,) = [r for r in app.resources if r.name == "after-the-deployment"]
        assert later.action is results.Action.SKIPPED
        assert env.names(cluster, "web", "ConfigMap") == ["web-config"]


def test_the_table_says_degraded_and_not_ok(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    break_image(env)
    run = env.sync("--health-timeout", "20", output="table")
    assert run.exit_code == 1
    assert "Degraded" in run.stdout and "HealthCheckFailed" in run.stdout
    assert "sync NOT OK" in run.stdout
