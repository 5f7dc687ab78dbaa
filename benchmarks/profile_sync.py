"""Profile a first sync and a no-op resync (issue 15): CLUSTERS x 10 Applications x 5 objects
(bench_sync's fleet) on a multi-process simulator, synced in this process on the local executor.

Two views, because the local executor's workers are threads and pyinstrument samples only the
thread it starts in:

- the workers' phases: wall time summed over every worker thread (connect, prepare, read live
  state, each Application's run, its waits for health) and per request verb;
- pyinstrument's call tree of the driver's thread (sources, generation, render, fan-out).

Run: ``.venv/bin/python benchmarks/profile_sync.py [CLUSTERS]`` (default 200).
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_sync  # noqa: E402 - the same fleet as the sync benchmark
import pyinstrument  # noqa: E402

import fleet.reconcile as reconcile  # noqa: E402
from fleet import clocks, driver, executor  # noqa: E402
from fleet.clusters import client  # noqa: E402
from fleet.clusters.sim import processes  # noqa: E402
from fleet.reconcile import app_sync  # noqa: E402

seconds: collections.Counter[str] = collections.Counter()
calls: collections.Counter[str] = collections.Counter()
lock = threading.Lock()


def timed(owner: Any, name: str, label: str) -> None:
    """Wrap ``owner.name`` so that its wall time adds up under ``label``."""
    real: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                seconds[label] += time.perf_counter() - began
                calls[label] += 1

    setattr(owner, name, wrapper)


def instrument() -> None:
    real_request = client.ClusterClient._request

    def request(self: client.ClusterClient, verb: client.Verb, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return real_request(self, verb, *args, **kwargs)
        finally:
            with lock:
                seconds[f"request: {verb}"] += time.perf_counter() - began
                calls[f"request: {verb}"] += 1

    client.ClusterClient._request = request  # type: ignore[method-assign]
    timed(reconcile, "_connect", "connect (client, credentials)")
    timed(reconcile, "_prepare_all", "prepare Applications")
    timed(reconcile, "_read_live_state", "read live state")
    timed(app_sync, "run_app", "run each Application (total)")
    timed(app_sync.AppSync, "_wait", "wait for health")
    timed(clocks.SystemClock, "sleep", "health poll sleeps")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clusters", nargs="?", type=int, default=200)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    instrument()
    with (
        tempfile.TemporaryDirectory() as tmp,
        processes.SimFleet(args.clusters, processes=args.processes, rollout_seconds=0.05, tls=True) as sim,
    ):
        root = Path(tmp) / "fleet"
        root.mkdir()
        bench_sync.write_fleet(root)
        request = driver.RunRequest(
            fleet=str(root),
            clusters=tuple(sim.clusters()),
            repo_map={bench_sync.REPO_URL: str(root)},
            executor="local",
            record=False,
            concurrency=32,
            cluster_timeout=1800,
            health_timeout=1200,
        )
        ex = executor.make_executor(request.executor, concurrency=request.concurrency)
        try:
            for phase in ("first sync", "no-op resync"):
                seconds.clear()
                calls.clear()
                profiler = pyinstrument.Profiler(interval=0.005)
                began, cpu = time.perf_counter(), time.process_time()
                with profiler:
                    run = driver.run(request, executor_=ex)
                wall, cpu = time.perf_counter() - began, time.process_time() - cpu
                bad = sum(not a.ok for a in run.apps())
                print(
                    f"\n{phase} of {args.clusters} clusters: {wall:.1f} s wall, {cpu:.1f} s CPU, {bad} not ok"
                )
                print("worker phases (wall time summed over threads):")
                for label, total in seconds.most_common():
                    print(
                        f"  {label:<34} {total:9.1f} s  {calls[label]:>7} calls  {total / calls[label] * 1000:8.1f} ms each"
                    )
                print(profiler.output_text(unicode=False, color=False))
        finally:
            ex.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
