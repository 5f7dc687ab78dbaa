"""Benchmark: how long `fleet sim up --clusters N` takes to become ready (issue 8, item 13).

Runs `fleet sim up --clusters N --port 0` (TLS, tokens, kubeconfig and cluster Secrets written,
as a user runs it) until it prints "ready", ROUNDS times, and the baseline in the same run: a
Python process that imports aiohttp, starts a TLS server on a free port and prints "ready" (the
floor any Python API server pays). Prints the median seconds of both and their ratio.

Where the time went (cProfile of `fleet sim up`, 100 clusters): importing every CLI command's
modules, the official `kubernetes` client above all (~60 %), then PyYAML's pure-Python emitter
writing the kubeconfig and the cluster Secrets (~20 %); starting the 100 clusters themselves took
~4 %. The client is now imported when a client first connects, and the files are written with
libyaml's emitter.

    .venv/bin/python benchmarks/bench_sim_up.py [--clusters 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLEET = str(Path(sys.executable).with_name("fleet"))

BASELINE = r"""
import asyncio, ssl, sys
from aiohttp import web
from fleet.clusters.sim import tls
async def main():
    material = tls.material()
    runner = web.AppRunner(web.Application(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=material.server_context()).start()
    print("ready", file=sys.stderr, flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


def time_until_ready(cmd: list[str], cwd: str) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "ready" in line:
                return time.perf_counter() - started
        raise RuntimeError(f"{cmd[0]} exited without becoming ready")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sim_cmd = [FLEET, "sim", "up", "--clusters", str(args.clusters), "--port", "0"]
        base_cmd = [sys.executable, "-c", BASELINE]
        sim_times, base_times = [], []
        for _ in range(args.rounds):  # interleaved, so both see the same machine load
            base_times.append(time_until_ready(base_cmd, tmp))
            sim_times.append(time_until_ready(sim_cmd, tmp))
        sim, base = statistics.median(sim_times), statistics.median(base_times)
        print(f"fleet sim up --clusters {args.clusters}: {sim:.2f}s to ready (median of {args.rounds})")
        print(f"baseline (python + aiohttp TLS server): {base:.2f}s")
        print(f"ratio: {sim / base:.2f}x the baseline")


if __name__ == "__main__":
    main()
