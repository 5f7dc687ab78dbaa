"""Benchmark: `fleet sim` with 500 clusters serving a LIST per cluster.

Starts `fleet sim up --clusters 500` as a subprocess (plain HTTP, bearer tokens), creates 20
ConfigMaps in a namespace of every cluster, then LISTs them from this process over a bounded
number of concurrent connections. The baseline, measured in the same run on the same machine, is
a trivial aiohttp server returning a fixed JSON body of the same size as one LIST answer, driven
by the same client. Prints absolute numbers and sim/baseline ratios: requests per second, server
CPU per request, and the servers' peak memory (VmHWM). Everything stays on 127.0.0.1; every loop
is bounded.

    .venv/bin/python benchmarks/bench_sim.py [--clusters 500] [--objects 20] [--rounds 10] [--concurrency 32]

With ``--encodings``, instead: one in-process cluster holding 500 Deployments, LISTed over HTTP in
JSON and in protobuf (``Accept: application/vnd.kubernetes.protobuf``), first (nothing cached:
every object encoded) and then warm (encodings cached per object); prints protobuf/JSON ratios of
time and bytes.

    .venv/bin/python benchmarks/bench_sim.py --encodings [--objects 500] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml

FLEET = str(Path(sys.executable).with_name("fleet"))
CLK_TCK = os.sysconf("SC_CLK_TCK")

BASELINE_SERVER = r"""
import sys
from aiohttp import web
body = open(sys.argv[1], "rb").read()
async def handle(request):
    return web.Response(body=body, content_type="application/json")
app = web.Application()
app.router.add_get("/{tail:.*}", handle)
async def main():
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    import asyncio
    await asyncio.Event().wait()
import asyncio
asyncio.run(main())
"""


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) in KiB, from /proc."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


async def drive(
    urls: list[tuple[str, dict[str, str]]],
    *,
    rounds: int,
    concurrency: int,
    method: str = "GET",
    bodies: list[bytes] | None = None,
) -> tuple[int, float, int]:
    """Send every (url, headers) `rounds` times over at most `concurrency` connections.
    Returns (requests, seconds, bytes received)."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    received = 0
    jobs = [(u, h, bodies[i] if bodies else None) for _ in range(rounds) for i, (u, h) in enumerate(urls)]
    queue: asyncio.Queue[tuple[str, dict[str, str], bytes | None]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal received
        while not queue.empty():
            url, headers, body = queue.get_nowait()
            async with session.request(method, url, headers=headers, data=body) as response:
                data = await response.read()
                if response.status >= 300:
                    raise RuntimeError(f"{method} {url}: HTTP {response.status}: {data[:200]!r}")
                received += len(data)

    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(jobs), elapsed, received


def start_sim(clusters: int, workdir: Path) -> tuple[subprocess.Popen[str], str, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            FLEET,
            "--log-format",
            "text",
            "sim",
            "up",
            "--clusters",
            str(clusters),
            "--port",
            "0",
            "--no-tls",
            "--kubeconfig",
            str(workdir / "kubeconfig"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    url = ""
    for line in proc.stdout:
        if line.startswith("admin API: "):
            url = line.split()[2].removesuffix("/_sim")
        if line.startswith("kubeconfig:"):
            break
    if not url:
        proc.kill()
        raise RuntimeError("fleet sim up did not start")
    return proc, url, time.perf_counter() - started


def start_baseline(body_file: Path) -> tuple[subprocess.Popen[str], str, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", BASELINE_SERVER, str(body_file)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    port = proc.stdout.readline().strip()
    return proc, f"http://127.0.0.1:{port}", time.perf_counter() - started


def encodings(objects: int, rounds: int) -> None:
    import urllib.request

    from fleet.clusters.sim import SimServer

    with SimServer(1, rollout_seconds=0.01) as sim:
        for i in range(objects):
            sim.apply_object(
                "c001",
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": f"app-{i}", "namespace": "default", "labels": {"app": f"app-{i}"}},
                    "spec": {
                        "replicas": 1,
                        "selector": {"matchLabels": {"app": f"app-{i}"}},
                        "template": {
                            "metadata": {"labels": {"app": f"app-{i}"}},
                            "spec": {
                                "containers": [
                                    {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}
                                ]
                            },
                        },
                    },
                },
            )
        sim.wait_idle(timeout=120)
        url = sim.url_for("c001") + "/apis/apps/v1/namespaces/default/deployments"
        token = sim.token_for("c001")

        def fetch(accept: str) -> tuple[float, int]:
            request = urllib.request.Request(
                url, headers={"Authorization": f"Bearer {token}", "Accept": accept}
            )
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as response:
                size = len(response.read())
            return time.perf_counter() - started, size

        kinds = {"json": "application/json", "protobuf": "application/vnd.kubernetes.protobuf"}
        cold = {name: fetch(accept) for name, accept in kinds.items()}
        warm = {name: min(fetch(accept)[0] for _ in range(rounds)) for name, accept in kinds.items()}
        print(f"LIST of {objects} Deployments, one cluster")
        print(
            f"  first LIST (nothing cached): json {cold['json'][0] * 1000:.0f} ms, protobuf {cold['protobuf'][0] * 1000:.0f} ms, "
            f"ratio {cold['protobuf'][0] / cold['json'][0]:.2f}x"
        )
        print(
            f"  warm LIST (best of {rounds}): json {warm['json'] * 1000:.1f} ms, protobuf {warm['protobuf'] * 1000:.1f} ms, "
            f"ratio {warm['protobuf'] / warm['json']:.2f}x"
        )
        print(
            f"  bytes: json {cold['json'][1]}, protobuf {cold['protobuf'][1]}, ratio {cold['protobuf'][1] / cold['json'][1]:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    if "--encodings" in sys.argv:
        sub = argparse.ArgumentParser()
        sub.add_argument("--encodings", action="store_true")
        sub.add_argument("--objects", type=int, default=500)
        sub.add_argument("--rounds", type=int, default=20)
        options = sub.parse_args()
        encodings(options.objects, options.rounds)
        return
    parser.add_argument("--clusters", type=int, default=500)
    parser.add_argument("--objects", type=int, default=20, help="ConfigMaps per cluster")
    parser.add_argument("--rounds", type=int, default=10, help="LISTs per cluster")
    parser.add_argument("--concurrency", type=int, default=32, help="client connections")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # -- one cluster: what the process costs before clusters are added ----------------------
        one, _, _ = start_sim(1, work)
        try:
            time.sleep(0.2)
            one_idle = proc_status(one.pid)
        finally:
            one.terminate()
            one.wait(timeout=30)
        # -- the simulator --------------------------------------------------------------------
        sim, url, startup = start_sim(args.clusters, work)
        try:
            idle = proc_status(sim.pid)
            config = yaml.safe_load((work / "kubeconfig").read_text())
            tokens = {u["name"]: u["user"]["token"] for u in config["users"]}
            names = [c["name"] for c in config["clusters"]]
            auth = {
                name: {"Authorization": f"Bearer {tokens[name]}", "Content-Type": "application/json"}
                for name in names
            }
            ns_body = [json.dumps({"metadata": {"name": "bench"}}).encode() for _ in names]
            asyncio.run(
                drive(
                    [(f"{url}/clusters/{n}/api/v1/namespaces", auth[n]) for n in names],
                    rounds=1,
                    concurrency=args.concurrency,
                    method="POST",
                    bodies=ns_body,
                )
            )
            creates = [
                (f"{url}/clusters/{n}/api/v1/namespaces/bench/configmaps", auth[n])
                for n in names
                for _ in range(args.objects)
            ]
            bodies = [
                json.dumps(
                    {
                        "metadata": {"name": f"cm-{i % args.objects:03d}", "labels": {"app": "bench"}},
                        "data": {"key": "value-" * 8, "index": str(i % args.objects)},
                    }
                ).encode()
                for i in range(len(creates))
            ]
            cpu0 = cpu_seconds(sim.pid)
            created, create_s, _ = asyncio.run(
                drive(creates, rounds=1, concurrency=args.concurrency, method="POST", bodies=bodies)
            )
            create_cpu = cpu_seconds(sim.pid) - cpu0
            lists = [(f"{url}/clusters/{n}/api/v1/namespaces/bench/configmaps", auth[n]) for n in names]
            asyncio.run(drive(lists[:50], rounds=1, concurrency=args.concurrency))  # warm-up
            cpu0 = cpu_seconds(sim.pid)
            runs = [
                asyncio.run(drive(lists, rounds=args.rounds, concurrency=args.concurrency)) for _ in range(2)
            ]
            sim_cpu = (cpu_seconds(sim.pid) - cpu0) / 2
            sim_requests, sim_s, sim_bytes = min(runs, key=lambda r: r[1])  # best of two: timings are noisy
            sim_mem = proc_status(sim.pid)
        finally:
            sim.terminate()
            sim.wait(timeout=30)
        body_size = sim_bytes // sim_requests
        # -- the baseline ---------------------------------------------------------------------
        body_file = work / "body.json"
        body_file.write_bytes(b'{"items":[' + b"0" * max(body_size - 12, 0) + b"]}")
        base, base_url, base_startup = start_baseline(body_file)
        try:
            base_idle = proc_status(base.pid)
            targets = [(f"{base_url}/clusters/{n}/api/v1/namespaces/bench/configmaps", {}) for n in names]
            asyncio.run(drive(targets[:50], rounds=1, concurrency=args.concurrency))
            cpu0 = cpu_seconds(base.pid)
            runs = [
                asyncio.run(drive(targets, rounds=args.rounds, concurrency=args.concurrency))
                for _ in range(2)
            ]
            base_cpu = (cpu_seconds(base.pid) - cpu0) / 2
            base_requests, base_s, _ = min(runs, key=lambda r: r[1])
            base_mem = proc_status(base.pid)
        finally:
            base.terminate()
            base.wait(timeout=30)

    from fleet.clusters.sim import SimServer

    started = time.perf_counter()
    with SimServer(args.clusters):
        in_process_start = time.perf_counter() - started
    sim_rps, base_rps = sim_requests / sim_s, base_requests / base_s
    sim_us, base_us = sim_cpu / sim_requests * 1e6, base_cpu / base_requests * 1e6
    per_cluster_kib = (idle["VmRSS"] - one_idle["VmRSS"]) / max(args.clusters - 1, 1)
    print(
        f"fleet sim benchmark: {args.clusters} clusters x {args.objects} ConfigMaps, {args.rounds} LISTs per "
        f"cluster, {args.concurrency} client connections, LIST answer {body_size} bytes"
    )
    print(
        f"  startup (process start to listening, incl. CLI import): sim {startup:.2f} s, "
        f"baseline {base_startup:.2f} s; SimServer({args.clusters}).start() in process {in_process_start:.2f} s"
    )
    print(
        f"  creates: {created} in {create_s:.2f} s = {created / create_s:,.0f}/s, "
        f"server CPU {create_cpu / created * 1e6:.0f} us per create"
    )
    print(
        f"  LIST  sim:      {sim_requests} requests in {sim_s:.2f} s = {sim_rps:,.0f} req/s, "
        f"server CPU {sim_us:.0f} us per request"
    )
    print(
        f"  LIST  baseline: {base_requests} requests in {base_s:.2f} s = {base_rps:,.0f} req/s, "
        f"server CPU {base_us:.0f} us per request"
    )
    print(
        f"  memory sim:      idle {idle['VmRSS'] / 1024:.1f} MiB, peak {sim_mem['VmHWM'] / 1024:.1f} MiB "
        f"({per_cluster_kib:.1f} KiB per empty cluster; 1 cluster: {one_idle['VmRSS'] / 1024:.1f} MiB)"
    )
    print(
        f"  memory baseline: idle {base_idle['VmRSS'] / 1024:.1f} MiB, peak {base_mem['VmHWM'] / 1024:.1f} MiB"
    )
    print(
        f"  ratios sim/baseline: throughput {sim_rps / base_rps:.2f}x, CPU per request {sim_us / base_us:.2f}x, "
        f"peak memory {sim_mem['VmHWM'] / base_mem['VmHWM']:.2f}x"
    )
    print("  (the client in this process is often the bottleneck: compare CPU per request for server cost)")


if __name__ == "__main__":
    main()
