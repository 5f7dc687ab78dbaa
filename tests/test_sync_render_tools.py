"""Kustomize overlays, Helm charts (values per cluster, rendered with the embedded Helm engine)
and Jsonnet (ext vars per cluster) render on the driver and apply on every cluster."""

from __future__ import annotations

import pytest

# (application prefix, namespace, kind, name, check of the live object)
CASES = [
    (
        "kustomize",
        "kustomized",
        "Deployment",
        "prod-api",
        lambda obj, cluster: obj["metadata"]["labels"]["tier"] == "prod",
    ),
    (
        "kustomize",
        "kustomized",
        "ConfigMap",
        None,
        lambda obj, cluster: (
            obj["metadata"]["name"].startswith("prod-settings-") and obj["data"]["mode"] == "prod"
        ),
    ),
    (
        "helm",
        "helmed",
        "ConfigMap",
        "greeter-message",
        lambda obj, cluster: obj["data"] == {"message": f"hello from {cluster}", "namespace": "helmed"},
    ),
    ("helm", "helmed", "Deployment", "greeter", lambda obj, cluster: obj["spec"]["replicas"] == 2),
    (
        "jsonnet",
        "jsonnetted",
        "ConfigMap",
        "dashboard",
        lambda obj, cluster: obj["data"] == {"title": f"Dashboard of {cluster}", "panels": "6"},
    ),
]


@pytest.mark.parametrize("prefix, namespace, kind, name, check", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_each_tool_renders_and_applies_on_every_cluster(
    make_fleet, prefix, namespace, kind, name, check
) -> None:
    env = make_fleet("tools", clusters=2)
    run = env.sync("--app", f"{prefix}-*")
    assert run.exit_code == 0, run.stderr
    for cluster in env.cluster_names:
        app = run.app(cluster, f"{prefix}-{cluster}")
        assert app.ok, app.message
        found = [
            o for o in env.objects(cluster, namespace, kind) if name is None or o["metadata"]["name"] == name
        ]
        assert len(found) == 1, [o["metadata"]["name"] for o in env.objects(cluster, namespace, kind)]
        assert check(found[0], cluster)


def test_every_tool_is_in_sync_on_the_next_run(make_fleet) -> None:
    env = make_fleet("tools", clusters=2)
    assert env.sync().exit_code == 0
    env.sim.reset_counts()
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    assert run.run_result.summary()["changed"] == 0
    assert all(set(c["verbs"]) <= {"list", "discovery"} for c in env.sim.request_counts().values())


def test_a_source_that_fails_to_render_fails_only_its_application(make_fleet) -> None:
    env = make_fleet("tools", clusters=2)
    env.write("jsonnet/dashboard/main.jsonnet", "{ this is not jsonnet")
    run = env.sync()
    assert run.exit_code == 1
    for cluster in env.cluster_names:
        broken = run.app(cluster, f"jsonnet-{cluster}")
        assert broken.reason.value == "RenderFailed" and "jsonnet/dashboard" in broken.message
        assert run.app(cluster, f"helm-{cluster}").ok and run.app(cluster, f"kustomize-{cluster}").ok
