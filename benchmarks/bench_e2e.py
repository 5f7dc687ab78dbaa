"""Benchmark: the user's view. The whole ``fleet sync`` process from the shell (start-up, the
executor, generation, render, fan-out, recording) against a ``kubectl apply --server-side -k``
loop over the same clusters, first sync and no-op resync, measured in the same run.

The fleet is bench_sync's (10 Applications x 5 objects per cluster, plus their namespaces); the
simulator runs in several processes (``clusters.sim.processes.SimFleet``) so that it is not what
both sides wait for. Each fleet run is a fresh process, so its no-op resync lists in full (there
is no worker that ran the cluster before: see bench_scale.py for the metadata-only resync).

Run: ``.venv/bin/python benchmarks/bench_e2e.py [CLUSTERS] [--executor auto ray ...]``
(default 50 clusters, the default executor ``auto`` and ``ray``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_sync  # noqa: E402 - the same fleet as the in-process sync benchmark
import record  # noqa: E402

from fleet.clusters.sim import processes  # noqa: E402

FLEET = Path(sys.executable).with_name("fleet")


def timed(command: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} ... exited {done.returncode}: {done.stderr[-1500:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clusters", nargs="?", type=int, default=50)
    parser.add_argument("--executor", nargs="+", default=["auto", "ray"])
    parser.add_argument("--processes", type=int, default=2, help="simulator processes")
    args = parser.parse_args()
    if shutil.which("kubectl") is None:
        print("kubectl not found: no baseline, nothing to compare")
        return 1
    print(
        f"bench_e2e: {args.clusters} clusters x {bench_sync.APPS} applications x {bench_sync.OBJECTS} objects; "
        f"simulator in {args.processes} processes; {os.cpu_count()} CPUs shared by everything",
        flush=True,
    )
    times: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "fleet"
        root.mkdir()
        bench_sync.write_fleet(root)
        # As a user's shell has it: bytecode caches on (a sandbox's PYTHONDONTWRITEBYTECODE would
        # make every `fleet` process compile fleet's modules from source again).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"HOME": tmp}
        for mode in ["kubectl", *args.executor]:
            with processes.SimFleet(
                args.clusters, processes=args.processes, rollout_seconds=0.05, tls=True
            ) as sim:
                kubeconfig = sim.write_kubeconfig(Path(tmp) / f"kubeconfig-{mode}")
                secrets = sim.write_cluster_secrets(Path(tmp) / f"clusters-{mode}.yaml")
                for phase in ("first", "no-op"):
                    if mode == "kubectl":
                        names = " ".join(sim.cluster_names())
                        script = (
                            f'for c in {names}; do kubectl --kubeconfig "{kubeconfig}" --context "$c" '
                            f'--cache-dir "{tmp}/cache" apply --server-side --field-manager=bench '
                            f'-k "{root / "kubectl"}" >/dev/null || exit 1; done'
                        )
                        command = ["bash", "-c", script]
                    else:
                        command = [
                            str(FLEET), "--log-format", "json", "sync", str(root), "--clusters", str(secrets),
                            "--repo-map", f"{bench_sync.REPO_URL}={root}", "--executor", mode,
                            "--state-dir", str(Path(tmp) / f"state-{mode}"), "--cluster-timeout", "900",
                        ]  # fmt: skip
                    times[(mode, phase)] = seconds = timed(command, env)
                    print(f"  {mode:<8} {phase:<6} {seconds:7.1f} s", flush=True)
    print("\nratios against the kubectl loop (lower is better):")
    for mode in args.executor:
        for phase in ("first", "no-op"):
            ratio = times[(mode, phase)] / times[("kubectl", phase)]
            print(f"  fleet sync --executor {mode:<5} {phase:<6} x{ratio:.2f}")
            record.record(
                "bench_e2e",
                f"`fleet sync --executor {mode}` {phase} sync, {args.clusters} clusters, whole process",
                "kubectl apply --server-side loop",
                ratio,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
