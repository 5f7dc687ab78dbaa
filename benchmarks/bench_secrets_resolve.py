"""Benchmark: resolving a fleet's secret references against Vault, with and without fleet's caches.

Scenario: C clusters x A Applications x O objects, each object holding three references into two
per-cluster Vault secrets (``ref+vault://secret/data/{{name}}/app-N#/...``), served by the Vault
API test server in this process. Three ways, measured in the same run:

- baseline: every reference resolved on its own (a fresh context each time), as a script calling
  ``vault kv get`` per value would: one backend read per reference;
- fleet, one run: one ``ClusterResolution`` per cluster (the per-run cache: a document is read
  once per cluster and run);
- fleet, long-running second run: ``Resolver(ttl=...)``, the run after a first one (TTL cache).

Prints backend reads and wall time for each, and the ratios against the baseline.
Run: ``.venv/bin/python benchmarks/bench_secrets_resolve.py [--clusters 20 --apps 10 --objects 5]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the Vault API test server lives with the tests

from fleet import models  # noqa: E402
from fleet.secrets import resolver  # noqa: E402
from tests.servers.vault_server import VaultServer  # noqa: E402


def manifests(apps: int, objects: int) -> list[dict]:
    out = []
    for app in range(apps):
        for index in range(objects):
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": f"app{app}-obj{index}", "namespace": f"app{app}"},
                    "stringData": {
                        "password": f"ref+vault://secret/data/{{{{name}}}}/app-{app}#/password",
                        "url": f"postgres://u:ref+vault://secret/data/{{{{name}}}}/app-{app}#/password+@db/app{app}",
                        "api-key": f"ref+vault://secret/data/{{{{name}}}}/app-{app}-api#/key",
                    },
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--apps", type=int, default=10)
    parser.add_argument("--objects", type=int, default=5)
    args = parser.parse_args()

    server = VaultServer().start()
    os.environ["VAULT_ADDR"], os.environ["VAULT_TOKEN"] = server.url, "root"
    clusters = [models.Cluster(name=f"c{i}", server=f"https://c{i}") for i in range(args.clusters)]
    for cluster in clusters:
        for app in range(args.apps):
            server.put_secret("secret", f"{cluster.name}/app-{app}", {"password": f"pw-{cluster.name}-{app}"})
            server.put_secret("secret", f"{cluster.name}/app-{app}-api", {"key": f"key-{cluster.name}-{app}"})
    objs = manifests(args.apps, args.objects)
    references = sum(3 for _ in objs) * len(clusters)

    def reads() -> int:
        return sum(1 for r in server.requests if r.path.startswith("secret/data/"))

    results: dict[str, tuple[int, float]] = {}

    # baseline: one read per reference
    naive = resolver.Resolver()
    server.reset_requests()
    start = time.perf_counter()
    for cluster in clusters:
        for obj in objs:
            for value in obj["stringData"].values():
                naive.for_cluster(cluster).resolve_string(value)
    results["baseline (a read per reference)"] = (reads(), time.perf_counter() - start)

    # fleet: per-run, per-cluster cache
    fleet = resolver.Resolver()
    server.reset_requests()
    start = time.perf_counter()
    for cluster in clusters:
        context = fleet.for_cluster(cluster)
        for obj in objs:
            context.resolve_object(obj)
    results["fleet, one run (per-run cache)"] = (reads(), time.perf_counter() - start)

    # fleet: long-running, second run served by the TTL cache
    long_running = resolver.Resolver(ttl=600)
    for cluster in clusters:
        context = long_running.for_cluster(cluster)
        for obj in objs:
            context.resolve_object(obj)
    server.reset_requests()
    start = time.perf_counter()
    for cluster in clusters:
        context = long_running.for_cluster(cluster)
        for obj in objs:
            context.resolve_object(obj)
    results["fleet, long-running 2nd run (TTL cache)"] = (reads(), time.perf_counter() - start)
    server.stop()

    base_reads, base_time = results["baseline (a read per reference)"]
    print(f"{args.clusters} clusters x {args.apps} apps x {args.objects} objects = {references} references")
    print(
        f"{'mode':42s} {'reads':>7s} {'time s':>8s} {'reads/ref':>9s} {'x fewer reads':>13s} {'x faster':>9s}"
    )
    for mode, (count, seconds) in results.items():
        fewer = f"{base_reads / count:.1f}" if count else "all"
        print(
            f"{mode:42s} {count:7d} {seconds:8.3f} {count / references:9.3f} {fewer:>13s}"
            f" {base_time / seconds:9.1f}"
        )


if __name__ == "__main__":
    main()
