"""`fleet sync --ray-address ray://HOST:PORT`: fleet joins a Ray cluster through its Ray Client
server, as the chart's RayCluster mode does from a pod that is no Ray node (a driver joining by
the GCS address must run beside a raylet of the cluster; Ray looks for one on its own host).
The Ray Client needs ``ray[client]``, which fleet's ``ray-cluster`` extra (installed by
deploy/Containerfile and by the test extra) brings; without it the join fails with exit 4."""

from __future__ import annotations

import pytest

from fleet import results

# A real multi-node Ray cluster (tests/fixtures/ray_cluster.py) and a driver process of its own.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_fleet_joins_a_ray_cluster_through_its_ray_client_server(make_fleet, ray_cluster, ray_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    run = ray_fleet("sync", *env.args(executor="ray"), "--ray-address", ray_cluster.client_address,
                    "--ray-runtime-env", "none", "-o", "json")  # fmt: skip
    code, stdout, stderr = run.finish()
    assert code == 0, stderr[-3000:]
    result = results.RunResult.model_validate_json(stdout)
    nodes = {node.node_id for node in ray_cluster.nodes.values()}
    assert all(c.ok for c in result.clusters)
    assert {c.ray_node for c in result.clusters} <= nodes  # the cluster's own nodes did the work
    for cluster in env.cluster_names:
        assert env.names(cluster, "web", "Deployment") == ["web"]
