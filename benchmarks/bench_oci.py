"""Benchmark of fetching a chart from an OCI registry, against the same chart from a Helm HTTP
repository as baseline, both on loopback in the same run.

Scenario: podinfo (tests/data/helmrepo/charts/podinfo) published as VERSIONS versions to Debian's
``docker-registry`` (no auth, plain HTTP) and to a Helm repository (index.yaml served by the test
fixture's HTTP server). Each round is one run's fetcher asking for ``6.*``:
- cold: an empty chart cache (OCI: tags list, manifest, layer; HTTP: index, archive), then unpack;
- warm: the next run, the chart already unpacked (OCI: tags list and manifest; HTTP: the index).
Prints the median of ROUNDS rounds for each, and OCI/HTTP ratios; timings on a shared 2-core
machine are noisy, compare ratios.

Run: .venv/bin/python benchmarks/bench_oci.py [VERSIONS] [ROUNDS]   (needs docker-registry: make install)
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleet import repocreds  # noqa: E402 - after the sys.path line above
from fleet.render import helmrepo  # noqa: E402
from tests.fixtures.helmrepo import CHART, HelmRepo  # noqa: E402
from tests.fixtures.oci_registry import OciRegistry  # noqa: E402

VERSIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 15


def timed(fetch: Any, cache: Path, *, cold: bool) -> tuple[float, Any]:
    if cold:
        shutil.rmtree(cache, ignore_errors=True)
    started = time.perf_counter()
    result = fetch()
    return time.perf_counter() - started, result


def main() -> None:
    import helm_python

    work = Path(tempfile.mkdtemp(prefix="bench-oci-"))
    os.environ["FLEET_CACHE_DIR"] = str(work / "cache")
    versions = [f"6.{i // 10}.{i % 10}" for i in range(VERSIONS)]
    (work / "registry").mkdir()
    registry = OciRegistry(work / "registry", auth="none", log_level="info").start()
    http_root = work / "http"
    http_root.mkdir()
    shutil.copytree(CHART, work / "src" / "podinfo")
    for version in versions:
        registry.publish(work / "src" / "podinfo", version)
        helm_python.package(work / "src" / "podinfo", destination=http_root, version=version)
    helm_python.repo_index_generate(http_root)
    http = HelmRepo(http_root).start()
    creds = repocreds.RepoCredentials.from_objects(
        [registry.repo_secret(kind="repo-creds", url=registry.host)]
    )
    cache = work / "cache"
    try:
        results: dict[tuple[str, str], list[float]] = {}
        requests: dict[tuple[str, str], int] = {}
        for _ in range(ROUNDS):
            for temperature in ("cold", "warm"):
                for kind in ("oci", "http"):
                    url, chart = (
                        (f"{registry.host}/charts", "podinfo") if kind == "oci" else (http.url, "podinfo")
                    )
                    if temperature == "warm":
                        # Make sure this kind's chart is in the cache; the timed fetcher is a new run's.
                        helmrepo.ChartFetcher(credentials=creds).fetch(url, chart, "6.*")
                    fetcher = helmrepo.ChartFetcher(credentials=creds)
                    seconds, fetched = timed(
                        lambda f=fetcher, u=url, c=chart: f.fetch(u, c, "6.*"),
                        cache,
                        cold=temperature == "cold",
                    )
                    assert fetched.downloaded == (temperature == "cold")
                    results.setdefault((kind, temperature), []).append(seconds)
                    requests[(kind, temperature)] = (
                        fetcher.registry_requests
                        if kind == "oci"
                        else fetcher.index_requests + fetcher.downloads
                    )
        print(f"chart podinfo, {VERSIONS} versions, {ROUNDS} rounds (median seconds, requests per run)")
        for temperature in ("cold", "warm"):
            oci = statistics.median(results[("oci", temperature)])
            base = statistics.median(results[("http", temperature)])
            print(
                f"  {temperature}: OCI {oci * 1000:.1f} ms ({requests[('oci', temperature)]} requests), "
                f"HTTP repository {base * 1000:.1f} ms ({requests[('http', temperature)]} requests): "
                f"{oci / base:.2f}x"
            )
    finally:
        http.stop()
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
