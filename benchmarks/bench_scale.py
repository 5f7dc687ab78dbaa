"""Benchmark: scale toward the physical limit (issue 15). A fleet of CLUSTERS x 10 Applications x 5
objects (bench_sync's fleet) against a simulator spread over several processes
(``clusters.sim.processes.SimFleet``), synced from this process on the default executor (``auto``:
Ray from 100 clusters on), at a reference size (200 clusters) and at CLUSTERS, in the same run:

- first sync and no-op resync complete, wall time per cluster at CLUSTERS against the reference;
- peak RSS of this process (the driver; with ``--executor local`` the workers too, so the driver's
  own peak is at most that), of each Ray worker and of each simulator process, read from /proc
  (VmHWM);
- no-op resync bytes: a resync with every LIST in full (what a process that never ran the fleet
  sends) against the metadata-only resync of a process that did, counted at the simulator.

Run: ``.venv/bin/python benchmarks/bench_scale.py [CLUSTERS] [--processes N] [--reference 200]``
(default 1000 clusters, 2 simulator processes; the 1,000-cluster run takes several minutes on 2
cores and is not part of ``make test``).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_sync  # noqa: E402 - the same fleet as the sync benchmark
import record  # noqa: E402

from fleet import driver, executor  # noqa: E402
from fleet.clusters.sim import processes  # noqa: E402
from fleet.reconcile import livecache  # noqa: E402

ROLLOUT = 0.05
CLUSTER_TIMEOUT = 1800.0  # per cluster, from dispatch: generous, since a loaded 2-core machine is slow


def peak_rss_mib(pid: int | None = None) -> float:
    """Peak resident memory of a process (this one by default) in MiB."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def worker_rss(ex: Any) -> list[float]:
    """Peak RSS of each Ray worker (none on the local executor)."""
    actor_pids = getattr(ex, "actor_pids", None)
    return [round(peak_rss_mib(pid), 1) for pid in actor_pids()] if actor_pids else []


def totals(sim: processes.SimFleet, key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for counts in sim.request_counts().values():
        for verb, n in counts[key].items():
            out[verb] = out.get(verb, 0) + n
    return out


def run_size(clusters: int, procs: int, root: Path, kind: str) -> dict[str, Any]:
    with processes.SimFleet(clusters, processes=procs, rollout_seconds=ROLLOUT, tls=True) as sim:
        request = driver.RunRequest(
            fleet=str(root),
            clusters=tuple(sim.clusters()),
            repo_map={bench_sync.REPO_URL: str(root)},
            executor=kind,
            record=False,
            concurrency=32
            if executor.executor_kind(kind, address=None, clusters=clusters) == "local"
            else 16,
            cluster_timeout=CLUSTER_TIMEOUT,
            health_timeout=600,
        )
        ex = executor.make_executor(request.executor, concurrency=request.concurrency, clusters=clusters)
        out: dict[str, Any] = {"clusters": clusters, "executor": ex.name}
        try:
            for phase in ("first", "full-list resync", "no-op"):
                if phase == "full-list resync":
                    # What fresh workers have: nothing kept (new Ray actors; this process's cache).
                    out["worker_rss_mib"] = worker_rss(ex)
                    ex.close()
                    livecache.close_all()
                    ex = executor.make_executor(
                        request.executor, concurrency=request.concurrency, clusters=clusters
                    )
                sim.reset_counts()
                started = time.perf_counter()
                run = driver.run(request, executor_=ex)
                seconds = time.perf_counter() - started
                bad = [a for a in run.apps() if not a.ok]
                failed = sorted({a.cluster for a in bad})
                if failed:  # reported, not fatal: the numbers of a run that did not complete say so
                    print(
                        f"  {clusters} clusters {phase}: {len(failed)} clusters not ok, e.g. {bad[0].message[:160]}"
                    )
                out[phase] = {
                    "seconds": seconds,
                    "requests": totals(sim, "verbs"),
                    "bytes": totals(sim, "bytes"),
                    "changed": run.summary()["changed"],
                    "failed_clusters": len(failed),
                }
                print(
                    f"  {clusters} clusters {phase:<17} {seconds:7.1f} s  {seconds / clusters * 1000:6.1f} ms/cluster  "
                    f"requests {sum(out[phase]['requests'].values()):>7}  list bytes {out[phase]['bytes'].get('list', 0):>11,}",
                    flush=True,
                )
            out["sim_rss_mib"] = [round(peak_rss_mib(pid), 1) for pid in sim.pids()]
            out["worker_rss_mib"] = [
                max(a, b) for a, b in zip(out["worker_rss_mib"], worker_rss(ex), strict=False)
            ]
        finally:
            ex.close()
            livecache.close_all()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clusters", nargs="?", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2, help="simulator processes")
    parser.add_argument("--reference", type=int, default=200, help="the reference fleet size")
    parser.add_argument("--executor", default="auto", help="auto (default), ray or local")
    args = parser.parse_args()
    print(
        f"bench_scale: {args.reference} and {args.clusters} clusters x {bench_sync.APPS} applications x "
        f"{bench_sync.OBJECTS} objects; simulator in {args.processes} processes; executor {args.executor}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "fleet"
        root.mkdir()
        bench_sync.write_fleet(root)
        reference = run_size(args.reference, args.processes, root, args.executor)
        rss_after_reference = peak_rss_mib()
        scaled = run_size(args.clusters, args.processes, root, args.executor)
    driver_rss = peak_rss_mib()
    print(
        f"\nexecutors: {reference['executor']} at {args.reference} clusters, {scaled['executor']} at {args.clusters}"
    )
    print(f"peak RSS of each Ray worker at {args.clusters} clusters: {scaled['worker_rss_mib'] or '-'} MiB")
    print(
        f"peak RSS of this process (the driver; the workers too on the local executor): {driver_rss:,.0f} MiB "
        f"({rss_after_reference:,.0f} MiB after {args.reference} clusters); target < 1024 MiB: "
        f"{'met' if driver_rss < 1024 else 'MISSED'}"
    )
    print(f"peak RSS of the simulator processes at {args.clusters} clusters: {scaled['sim_rss_mib']} MiB")
    for phase in ("first", "no-op"):
        per_ref = reference[phase]["seconds"] / args.reference
        per_big = scaled[phase]["seconds"] / args.clusters
        ratio = per_big / per_ref
        print(
            f"{phase:<6} time per cluster at {args.clusters} / at {args.reference}: {ratio:.2f}x "
            f"({per_big * 1000:.1f} ms against {per_ref * 1000:.1f} ms)"
        )
        record.record(
            "bench_scale",
            f"{phase} sync, time per cluster at {args.clusters} clusters",
            f"time per cluster at {args.reference} clusters",
            ratio,
            driver_peak_rss_mib=round(driver_rss),
        )
    for size in (reference, scaled):
        full = size["full-list resync"]["bytes"].get("list", 0)
        meta = size["no-op"]["bytes"].get("list", 0)
        print(
            f"no-op resync at {size['clusters']} clusters: metadata LIST bytes {meta:,} = "
            f"{meta / full:.2f}x the full LISTs' {full:,}"
        )
        record.record(
            "bench_scale",
            f"no-op resync LIST bytes, {size['clusters']} clusters (metadata only)",
            "the same resync with full LISTs",
            meta / full,
        )
    return 0 if driver_rss < 1024 else 1


if __name__ == "__main__":
    sys.exit(main())
