"""Benchmark: Ray's fan-out overhead next to the per-cluster work, against a plain thread pool.

Per-cluster work is network-bound: a sync is a few dozen API round trips. The stand-in here is a
sleep per "request" (REQUESTS round trips of LATENCY seconds each), so the measured difference is
the executor's own cost: dispatch, pickling the payload (a realistic ~20 KB of rendered
manifests), the result's trip back, and Ray's start. Both executors get the same concurrency:
the thread pool runs CONCURRENCY units at once; Ray runs 2 long-lived actors with CONCURRENCY/2
threads each (fleet's design: few worker processes, many clusters each).

Run: .venv/bin/python benchmarks/bench_fanout.py [SIZES...]   (default: 50 200 1000 clusters)

Honest caveats: this machine has 2 cores shared by the driver and the Ray processes (and, in real
runs, the simulator); Ray's start (~several seconds here) is paid once per run and shown apart.
The ideal time is ceil(clusters / concurrency) x REQUESTS x LATENCY.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleet import executor  # noqa: E402

REQUESTS = 30  # API round trips per cluster (a first sync of a few Applications)
LATENCY = 0.02  # seconds per round trip (a nearby API server)
CONCURRENCY = 32
PAYLOAD_BYTES = 20_000
# Resolved by name in the workers, like real work: Ray puts the driver script's folder on the
# workers' sys.path, so this file is importable there as ``bench_fanout``.
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


def timed(ex: executor.Executor, work: list[executor.WorkUnit]) -> float:
    started = time.perf_counter()
    outcomes = list(ex.run(WORK, work, timeout=600))
    elapsed = time.perf_counter() - started
    failed = [o for o in outcomes if not o.ok]
    if failed or len(outcomes) != len(work):
        raise SystemExit(f"{len(failed)} units failed: {failed[:1]}")
    return elapsed


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [50, 200, 1000]
    started = time.perf_counter()
    ray_ex = executor.RayExecutor(actors=2, slots=CONCURRENCY // 2)
    ray_start = time.perf_counter() - started
    local_ex = executor.LocalExecutor(max_workers=CONCURRENCY)
    print(
        f"fan-out overhead: {REQUESTS} round trips of {LATENCY * 1000:.0f} ms per cluster, concurrency {CONCURRENCY}, "
        f"payload ~{PAYLOAD_BYTES // 1000} KB per cluster; Ray start {ray_start:.1f} s (once per run, not included below)"
    )
    print(
        f"{'clusters':>8} {'ideal s':>8} {'threads s':>10} {'ray s':>8} {'ray/threads':>12} {'ray overhead per cluster':>25}"
    )
    try:
        for size in sizes:
            work = units(size)
            ideal = math.ceil(size / CONCURRENCY) * REQUESTS * LATENCY
            local = timed(local_ex, work)
            ray = timed(ray_ex, work)
            per_cluster_ms = max(0.0, ray - local) / size * 1000
            print(
                f"{size:>8} {ideal:>8.2f} {local:>10.2f} {ray:>8.2f} {ray / local:>12.2f} {per_cluster_ms:>22.1f} ms"
            )
    finally:
        ray_ex.close()
    print("ratio ray/threads close to 1.0 means Ray's fan-out costs little next to the per-cluster work.")


if __name__ == "__main__":
    main()
