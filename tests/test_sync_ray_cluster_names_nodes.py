"""`fleet sync --ray-address` against a real two-node Ray cluster (tests/fixtures/ray_cluster.py):
clusters are spread over both nodes by default, and every cluster's result names the Ray node
that reconciled it (``ray_node``, the node id as Ray reports it) in ``-o json``, in the status
store and in the reports."""

from __future__ import annotations

import json

import pytest

from fleet import results, store

# A real multi-node Ray cluster: its start (once per session) and each driver are processes of
# their own; on a loaded machine that takes longer than the suite's default 300 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_clusters_are_spread_over_both_nodes_and_each_result_names_its_node(
    make_fleet, ray_cluster, ray_fleet
) -> None:
    env = make_fleet("basic", clusters=4)
    run = ray_fleet("sync", *env.args(executor="ray"), "--ray-address", ray_cluster.address,
                    "--ray-runtime-env", "none", "-o", "json")  # fmt: skip
    code, stdout, stderr = run.finish()
    assert code == 0, stderr[-3000:]
    result = results.RunResult.model_validate_json(stdout)
    nodes = {name: node.node_id for name, node in ray_cluster.nodes.items()}
    assert all(c.ok for c in result.clusters)
    by_cluster = {c.cluster: c.ray_node for c in result.clusters}
    assert set(by_cluster.values()) == {nodes["head"], nodes["eu"]}, by_cluster  # both nodes did work
    for cluster in env.cluster_names:
        assert env.names(cluster, "web", "Deployment") == ["web"]

    # The status store keeps it with the run's result, and the reports show it.
    (stored,) = [r for r in store.open(state_dir=env.state_dir).runs() if r.run_id == result.run_id]
    assert {c.cluster: c.ray_node for c in stored.clusters} == by_cluster
    report = env.run("report", *env.store_args(), "--format", "json")
    assert report.exit_code == 0, report.stderr
    assert {c["cluster"]: c["ray_node"] for c in json.loads(report.stdout)["run"]["clusters"]} == by_cluster
    markdown = env.run("report", *env.store_args(), "--format", "markdown").stdout
    assert "| Ray node |" in markdown
    for cluster, node in by_cluster.items():
        assert f"| {cluster} | ok |" in markdown and node in markdown
