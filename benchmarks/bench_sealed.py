"""Benchmark: fleet-mode Sealed Secrets delivery across many clusters.

One Secret of 5 reference values is delivered to N clusters (default 500) as a SealedSecret
sealed with each cluster's certificate. Measured in the same run (timings here are noisy, so
ratios matter more than absolute numbers):

- baseline: resolving the references for every cluster (what any delivery costs);
- seal: resolve + seal fresh (5 RSA-OAEP + AES-GCM seals per cluster);
- reuse: resolve + seal with the live SealedSecret and Secret given, every value unchanged
  (what an unchanged fleet costs on the next sync);
- unseal: what each simulated controller spends opening it.

Run: ``.venv/bin/python benchmarks/bench_sealed.py [--clusters N] [--bits 2048|4096]``
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from fleet import models
from fleet.secrets import resolver as resolver_mod
from fleet.secrets import sealed
from fleet.secrets.sealed import keys

DISTINCT_KEYS = 8  # key generation is slow; sealing cost does not depend on which key it is


def _timed(label: str, fn: Callable[[], None], results: dict[str, float]) -> None:
    started = time.perf_counter()
    fn()
    results[label] = time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=500)
    parser.add_argument("--bits", type=int, default=2048)
    args = parser.parse_args()

    pairs = []
    for _ in range(DISTINCT_KEYS):
        private_key, cert_pem = keys.generate_sealing_key(bits=args.bits)
        pairs.append((sealed.load_certificate(cert_pem, source="bench"), keys.unseal_keys([private_key])))
    clusters = [
        models.Cluster(name=f"c{i:03d}", server=f"https://c{i:03d}.example") for i in range(args.clusters)
    ]

    with tempfile.TemporaryDirectory() as tmp:
        values = {f"k{j}": f"value-{j}" for j in range(5)}
        Path(tmp, "values.yaml").write_text(yaml.safe_dump(values))
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "db",
                "namespace": "apps",
                "annotations": {sealed.DELIVER_AS_ANNOTATION: "sealed-secret"},
            },
            "stringData": {key: f"ref+file://values.yaml#/{key}" for key in values},
        }
        resolver = resolver_mod.Resolver(["file"], base_dir=tmp)
        results: dict[str, float] = {}
        outputs: list[dict] = []
        lives: list[tuple[dict, dict]] = []

        def baseline() -> None:
            for cluster in clusters:
                resolver.for_cluster(cluster).resolve_object(secret)

        def seal_fresh() -> None:
            for i, cluster in enumerate(clusters):
                cert, _ = pairs[i % DISTINCT_KEYS]
                outputs.append(sealed.seal_for_cluster(secret, cluster=cluster, cert=cert, resolver=resolver))

        def unseal_all() -> None:
            for i, out in enumerate(outputs):
                live = copy.deepcopy(out)
                live["metadata"].update(uid=f"uid-{i}", generation=1)
                live["status"] = {
                    "observedGeneration": 1,
                    "conditions": [{"type": "Synced", "status": "True"}],
                }
                lives.append((live, sealed.unseal(live, pairs[i % DISTINCT_KEYS][1])))

        def reuse() -> None:
            for i, cluster in enumerate(clusters):
                live, live_secret = lives[i]
                again = sealed.seal_for_cluster(
                    secret,
                    cluster=cluster,
                    cert=pairs[i % DISTINCT_KEYS][0],
                    resolver=resolver,
                    live=live,
                    live_secret=live_secret,
                )
                assert again["spec"] == outputs[i]["spec"]

        _timed("baseline (resolve)", baseline, results)
        _timed("seal (resolve + seal)", seal_fresh, results)
        _timed("unseal (controller)", unseal_all, results)
        _timed("reuse (unchanged)", reuse, results)

    base = results["baseline (resolve)"]
    print(f"fleet-mode Sealed Secrets: {args.clusters} clusters x 5 items, RSA-{args.bits}")
    for label, seconds in results.items():
        per = seconds / args.clusters * 1000
        print(f"  {label:24s} {seconds:8.3f} s  {per:7.3f} ms/cluster  x{seconds / base:6.1f} vs baseline")


if __name__ == "__main__":
    main()
