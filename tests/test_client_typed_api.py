"""Callers may hand ``ClusterClient.api_client`` to the official client's typed API classes."""

from __future__ import annotations

import kubernetes

from fleet.clusters import client
from fleet.clusters.sim import SimServer


def test_typed_api_classes_authenticate_with_the_cluster_bearer_token() -> None:
    with SimServer(clusters=1) as sim:
        cluster = sim.clusters()[0]
        api = kubernetes.client.CoreV1Api(client.connect(cluster).api_client)
        names = {ns.metadata.name for ns in api.list_namespace().items}
    assert "default" in names
