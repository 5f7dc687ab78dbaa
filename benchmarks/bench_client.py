"""Benchmark of the cluster client against the simulator, with the official dynamic client as baseline.

Scenario, per cluster: connect, server-side apply OBJECTS ConfigMaps (first apply, then a no-op
re-apply), list them by label. Run for CLUSTERS simulated clusters, one thread per cluster
(THREADS at a time), once with fleet's ``ClusterClient`` and once with
``kubernetes.dynamic.DynamicClient`` (the baseline: full discovery up front, a discovery cache
file). Requests are counted by the simulator itself.

Run: .venv/bin/python benchmarks/bench_client.py [CLUSTERS] [OBJECTS]
(prints absolute numbers and ratios; timings on a shared 2-core machine are noisy, compare ratios.)
"""

from __future__ import annotations

import concurrent.futures
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleet import models  # noqa: E402
from fleet.clusters import client  # noqa: E402
from fleet.clusters.sim import SimServer  # noqa: E402

CLUSTERS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
OBJECTS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
THREADS = 8


def configmaps(namespace: str, tag: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i}", "namespace": namespace, "labels": {"bench": tag}},
            "data": {"index": str(i)},
        }
        for i in range(OBJECTS)
    ]


def with_fleet(cluster: models.Cluster, namespace: str) -> int:
    api = client.connect(cluster, qps=0)  # no client-side limit: measure the client, not the limiter
    api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for _ in range(2):  # first apply, then a no-op re-apply
        for obj in configmaps(namespace, "fleet"):
            api.apply(obj)
    items, _ = api.list("v1", "ConfigMap", namespace=namespace, label_selector="bench=fleet")
    api.close()
    return len(items)


def with_dynamic(cluster: models.Cluster, namespace: str, cache_dir: str) -> int:
    import kubernetes.client
    import kubernetes.dynamic

    configuration = kubernetes.client.Configuration()
    configuration.host = cluster.server
    configuration.api_key = {"authorization": f"Bearer {cluster.credentials.bearer_token}"}
    api_client = kubernetes.client.ApiClient(configuration)
    dyn = kubernetes.dynamic.DynamicClient(api_client, cache_file=f"{cache_dir}/{cluster.name}.json")
    namespaces = dyn.resources.get(api_version="v1", kind="Namespace")
    namespaces.server_side_apply(
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        name=namespace,
        field_manager="bench",
    )
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    for _ in range(2):
        for obj in configmaps(namespace, "dynamic"):
            cms.server_side_apply(
                body=obj, name=obj["metadata"]["name"], namespace=namespace, field_manager="bench"
            )
    listed = cms.get(namespace=namespace, label_selector="bench=dynamic")
    api_client.close()
    return len(listed.items)


def run(sim: SimServer, work: Any, namespace: str) -> tuple[float, int]:
    sim.reset_counts()
    clusters = sim.clusters()
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        found = list(pool.map(lambda c: work(c, namespace), clusters))
    elapsed = time.perf_counter() - started
    assert found == [OBJECTS] * len(clusters), found
    counts = sim.request_counts()
    return elapsed, sum(c["total"] for c in counts.values())


def main() -> None:
    with SimServer(clusters=CLUSTERS, port=0) as sim, tempfile.TemporaryDirectory() as cache_dir:
        # Baseline first, so any warm-up favours it rather than us.
        base_s, base_requests = run(sim, lambda c, ns: with_dynamic(c, ns, cache_dir), "bench-dynamic")
        ours_s, ours_requests = run(sim, with_fleet, "bench-fleet")
    objects = CLUSTERS * OBJECTS * 2
    print(f"clusters={CLUSTERS} objects/cluster={OBJECTS} applies={objects} threads={THREADS}")
    print(
        f"baseline kubernetes.dynamic: {base_s:7.2f} s  {base_requests:6d} requests  {base_requests / objects:5.2f} requests/apply"
    )
    print(
        f"fleet ClusterClient:         {ours_s:7.2f} s  {ours_requests:6d} requests  {ours_requests / objects:5.2f} requests/apply"
    )
    print(f"ratio time (fleet/baseline):     {ours_s / base_s:5.2f}")
    print(f"ratio requests (fleet/baseline): {ours_requests / base_requests:5.2f}")


if __name__ == "__main__":
    main()
