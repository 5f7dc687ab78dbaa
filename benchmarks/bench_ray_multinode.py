"""Benchmark: fleet's Ray executor on a real two-node Ray cluster on this machine, against the
embedded local Ray (``ray.init(address="local")``, fleet's default) measured in the same run.

Two costs a platform team asks about before pointing fleet at a Ray cluster:

1. **Driver-side overhead per cluster.** The same stand-in units (REQUESTS sleeps of LATENCY
   seconds: a network-bound cluster sync, as in bench_fanout.py, with a ~20 KB payload) on the
   embedded Ray and on the two-node cluster, both with two actors of SLOTS threads, next to a
   thread pool of the same concurrency as the baseline. Overhead per cluster = (executor time -
   thread-pool time) / clusters.
2. **The runtime environment.** How long until every worker actor is up when joining the two-node
   cluster with ``--ray-runtime-env wheel`` the first time (the wheel built, uploaded, unpacked on
   each node), again with the same code (cached: nothing built, nothing unpacked), and with
   ``none``; each as a ratio of the embedded Ray's own start in this run.

The two-node cluster is tests/servers/ray_cluster.py (``ray start --head`` plus one ``ray start
--address`` node, one CPU each, started and stopped by PID). Its start is not counted.

Run: .venv/bin/python benchmarks/bench_ray_multinode.py [CLUSTERS]   (default: 200)

Honest caveats: everything shares this machine's two cores (and, while others work, theirs);
"two nodes" here are two raylets on one host, so no network hop is measured. The first-run cost
is dominated by building the wheel (an isolated pip build, which fetches setuptools from the
package index) and grows with the machine's load.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleet import executor, executor_runtime_env  # noqa: E402
from tests.servers.ray_cluster import RayCluster  # noqa: E402

REQUESTS = 30  # API round trips per cluster (a first sync of a few Applications)
LATENCY = 0.02  # seconds per round trip (a nearby API server)
SLOTS = 16  # threads per actor; two actors
PAYLOAD_BYTES = 20_000
# Resolved by name in the workers, like real work: Ray puts the driver script's folder on the
# workers' sys.path (the nodes share this machine's disk), so this file imports there.
WORK = f"{Path(__file__).stem}:unit"


def unit(payload: dict[str, Any]) -> dict[str, Any]:
    """The stand-in for one cluster's sync: sequential round trips, then a small result."""
    for _ in range(payload["requests"]):
        time.sleep(payload["latency"])
    return {"cluster": payload["name"], "objects": len(payload["manifests"])}


def units(count: int) -> list[executor.WorkUnit]:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": "v" * 100}}
    manifests = [manifest] * (PAYLOAD_BYTES // 150)
    return [
        executor.WorkUnit(
            f"c{i:04d}",
            {"name": f"c{i:04d}", "requests": REQUESTS, "latency": LATENCY, "manifests": manifests},
        )
        for i in range(count)
    ]


def timed_run(ex: executor.Executor, work: list[executor.WorkUnit]) -> tuple[float, set[str]]:
    started = time.perf_counter()
    outcomes = list(ex.run(WORK, work, timeout=600))
    elapsed = time.perf_counter() - started
    failed = [o for o in outcomes if not o.ok]
    if failed or len(outcomes) != len(work):
        raise SystemExit(f"{len(failed)} units failed: {failed[:1]}")
    return elapsed, {o.node for o in outcomes}


class shipped:  # noqa: N801 - a marker read by start()
    """Ask start() for ``--ray-runtime-env wheel``, made inside the timing (a build counts)."""


def start(*, runtime_env: shipped | None = None, **kwargs: Any) -> tuple[executor.RayExecutor, float]:
    """A Ray executor and the seconds until every one of its actors answers: the runtime
    environment made (the wheel built on a cold cache), Ray joined, every worker set up."""
    started = time.perf_counter()
    if runtime_env is not None:
        kwargs["runtime_env"] = executor_runtime_env.runtime_env(executor_runtime_env.RuntimeEnvMode.WHEEL)
    ex = executor.RayExecutor(actors=2, slots=SLOTS, **kwargs)
    ex.actor_pids()
    return ex, time.perf_counter() - started


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    work = units(size)
    os.environ["FLEET_CACHE_DIR"] = tempfile.mkdtemp(prefix="fleet-bench-cache-")  # a cold wheel cache
    cluster = RayCluster()
    try:
        cluster.start()
        cluster.add_node("eu", resources={"region-eu": 1})
        os.environ.update(cluster.env())  # the cluster's token, for joining it

        threads, _ = timed_run(executor.LocalExecutor(max_workers=2 * SLOTS), work)

        embedded, embedded_start = start(num_cpus=2)
        embedded_run, _ = timed_run(embedded, work)
        embedded.close()

        cold, cold_start = start(address=cluster.address, runtime_env=shipped())
        cold.close()
        cached, cached_start = start(address=cluster.address, runtime_env=shipped())
        cached_run, nodes = timed_run(cached, work)
        cached.close()
        bare, bare_start = start(address=cluster.address)
        bare.close()
    finally:
        cluster.stop()

    print(
        f"{size} clusters, {REQUESTS} round trips of {LATENCY * 1000:.0f} ms each, 2 actors x {SLOTS} threads "
        f"(thread pool of {2 * SLOTS}: {threads:.2f} s); the two-node run used {len(nodes)} nodes"
    )
    print(f"{'fan-out':<34} {'seconds':>8} {'/ threads':>10} {'/ embedded':>11} {'overhead per cluster':>21}")
    for name, seconds in (
        ("embedded local Ray", embedded_run),
        ("two-node cluster (wheel, cached)", cached_run),
    ):
        per_cluster = max(0.0, seconds - threads) / size * 1000
        print(
            f"{name:<34} {seconds:>8.2f} {seconds / threads:>10.2f} {seconds / embedded_run:>11.2f} {per_cluster:>18.1f} ms"
        )
    print(f"{'start until every actor answers':<34} {'seconds':>8} {'/ embedded start':>17}")
    for name, seconds in (
        ("embedded local Ray (its own start)", embedded_start),
        ("two-node, wheel, first run", cold_start),
        ("two-node, wheel, cached", cached_start),
        ("two-node, none", bare_start),
    ):
        print(f"{name:<34} {seconds:>8.2f} {seconds / embedded_start:>17.2f}")


if __name__ == "__main__":
    main()
