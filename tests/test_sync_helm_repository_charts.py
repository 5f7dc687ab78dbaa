"""`fleet sync` of Applications whose chart comes from a Helm repository (spec.source.chart), on
simulated clusters: the version targetRevision selects is rendered with the Application's values
(a values file inside the chart, valuesObject per cluster, or `$values/...` from a `ref` git source
in a multi-source Application), applied, and recorded as the Application's revision. The index is
read once per run and each chart version downloaded once per run; the next run downloads nothing."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def env(make_fleet, helm_repo):
    fleet = make_fleet("helmrepo", clusters=2)
    appset = fleet.root / "appset.yaml"
    appset.write_text(appset.read_text().replace("HELM_REPO_URL", helm_repo.url))
    return fleet


def config_map(env, cluster: str, name: str) -> dict[str, Any]:
    return next(o for o in env.objects(cluster, "charts", "ConfigMap") if o["metadata"]["name"] == name)


# (application prefix, revision, ConfigMap name, its data on cluster {cluster})
CASES = [
    (
        "podinfo",
        "6.5.1",
        "web-podinfo",
        {"chartVersion": "6.5.1", "message": "hello from {cluster}", "color": "green", "namespace": "charts"},
    ),
    (
        "layered",
        "6.4.0",
        "layered-podinfo",
        {
            "chartVersion": "6.4.0",
            "message": "hello from values in git",
            "color": "red",
            "namespace": "charts",
        },
    ),
]


def test_charts_from_a_helm_repository_sync_with_their_values_and_version(env, helm_repo) -> None:
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    for prefix, revision, name, data in CASES:
        for cluster in env.cluster_names:
            app = run.app(cluster, f"{prefix}-{cluster}")
            assert app.ok, app.message
            assert app.revision == revision
            expected = {key: value.format(cluster=cluster) for key, value in data.items()}
            assert config_map(env, cluster, name)["data"] == expected
    # Two Applications per cluster on one repository: one index read, one download per version.
    assert helm_repo.requests("/index.yaml") == 1
    assert helm_repo.requests("/podinfo-6.5.1.tgz") == 1
    assert helm_repo.requests("/podinfo-6.4.0.tgz") == 1


def test_the_next_run_reads_the_index_again_but_downloads_nothing(env, helm_repo) -> None:
    assert env.sync().exit_code == 0
    helm_repo.reset_counts()
    env.sim.reset_counts()
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    assert run.run_result.summary()["changed"] == 0
    assert helm_repo.requests("/index.yaml") == 1
    assert helm_repo.downloads() == 0


def test_a_new_version_in_the_repository_is_picked_up_by_the_next_run(env, helm_repo, tmp_path) -> None:
    assert env.sync().exit_code == 0
    helm_repo.publish(tmp_path / "chart-src" / "podinfo", "6.5.2")
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    for cluster in env.cluster_names:
        assert run.app(cluster, f"podinfo-{cluster}").revision == "6.5.2"
        assert run.app(cluster, f"layered-{cluster}").revision == "6.4.0"
        assert config_map(env, cluster, "web-podinfo")["data"]["chartVersion"] == "6.5.2"
