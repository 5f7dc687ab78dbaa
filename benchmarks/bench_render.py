"""Benchmark of the pure sync core: render cache hit vs miss, SDK Helm vs a plain directory, and the
cost of diffing and planning at the scale of one fleet sync (200 clusters x 10 apps x 5 objects).

Run: .venv/bin/python benchmarks/bench_render.py   (prints absolute timings and ratios; timings
on a shared 2-core machine are noisy, the ratios are what to compare.)
"""

from __future__ import annotations

import copy
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleet import diff, inventory, render, waves  # noqa: E402
from fleet.render import cache  # noqa: E402

DATA = ROOT / "tests" / "data" / "render"
SHA = "0" * 40


def timed(fn: Callable[[], object], *, repeat: int) -> float:
    """Median seconds of one call."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def render_once(source: dict, store: object, app: str = "guestbook") -> list[dict]:
    return render.render_source(
        source, source_dir=DATA, app_name=app, namespace="shop", revision=SHA, cache=store
    )


def main() -> None:
    sources = {
        "directory": {"path": "directory/plain", "directory": {"recurse": True}},
        "helm-sdk": {
            "path": "helm/guestbook",
            "helm": {"releaseName": "web", "valueFiles": ["values-prod.yaml"]},
        },
        "kustomize": {"path": "kustomize/overlays/prod", "kustomize": {"namePrefix": "x-"}},
        "jsonnet": {
            "path": "jsonnet/app",
            "directory": {
                "jsonnet": {
                    "extVars": [
                        {"name": "app", "value": "a"},
                        {"name": "debug", "value": "true", "code": True},
                    ],
                    "libs": ["jsonnet/lib"],
                }
            },
        },
    }
    print("render: miss (no cache) vs hit (memory cache), median per render")
    miss_times = {}
    for name, source in sources.items():
        repeat = 5 if name == "kustomize" else 20
        miss = timed(lambda s=source: render_once(s, cache.NO_CACHE), repeat=repeat)
        store = cache.TieredCache(cache.MemoryCache())
        render_once(source, store)
        hit = timed(lambda s=source, st=store: render_once(s, st), repeat=200)
        miss_times[name] = miss
        print(
            f"  {name:10s} miss {miss * 1e3:8.2f} ms   hit {hit * 1e6:8.1f} us   miss/hit {miss / hit:8.0f}x"
        )
    print(f"  helm-sdk miss / directory miss: {miss_times['helm-sdk'] / miss_times['directory']:.1f}x")

    store = cache.TieredCache(cache.MemoryCache())
    start = time.perf_counter()
    for cluster in range(200):
        render_once(sources["kustomize"], store, app=f"guestbook-c{cluster}")
    fleet_time = time.perf_counter() - start
    print(
        f"  kustomize for 200 clusters: {fleet_time * 1e3:.1f} ms total, hit ratio "
        f"{store.memory.hits / (store.memory.hits + store.memory.misses):.3f} "
        f"(vs {miss_times['kustomize'] * 200 * 1e3:.0f} ms uncached, {miss_times['kustomize'] * 200 / fleet_time:.0f}x)"
    )

    desired = render_once({"path": "helm/guestbook"}, cache.NO_CACHE)
    desired = [inventory.stamp(o, "guestbook") for o in waves.default_namespace(desired, "shop")]
    live = {}
    for obj in desired:
        copy_ = copy.deepcopy(obj)
        copy_["metadata"].update(
            uid="x", resourceVersion="1", generation=1, managedFields=[{"manager": "fleet"}]
        )
        copy_["status"] = {"observedGeneration": 1}
        live[inventory.ObjectRef.from_object(obj)] = copy_
    per_object = timed(
        lambda: [diff.diff(o, live[inventory.ObjectRef.from_object(o)], text=False) for o in desired],
        repeat=2000,
    ) / len(desired)
    changed = copy.deepcopy(live)
    for obj in changed.values():  # a field every desired object sets: fleet's own label
        obj["metadata"]["labels"][inventory.MANAGED_BY_LABEL] = "someone-else"
    per_changed = timed(
        lambda: [diff.diff(o, changed[inventory.ObjectRef.from_object(o)]) for o in desired], repeat=300
    ) / len(desired)
    print("\ndiff: per object")
    print(
        f"  unchanged {per_object * 1e6:7.1f} us   changed with text {per_changed * 1e6:7.1f} us   "
        f"ratio {per_changed / per_object:.1f}x"
    )
    print(f"  10,000 unchanged objects: {per_object * 10_000 * 1e3:.0f} ms")

    objs = [
        inventory.stamp(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": f"c{i}",
                    "namespace": "shop",
                    "annotations": {waves.ANNOTATION_SYNC_WAVE: str(i % 5)},
                },
            },
            "a",
        )
        for i in range(50)
    ]
    one_plan = timed(lambda: waves.plan_sync(objs, {}, app="a", previous=inventory.new()), repeat=200)
    print("\nplan: 50 objects in 5 waves")
    print(
        f"  {one_plan * 1e3:.2f} ms per Application; 2,000 Applications x 5 objects ~ "
        f"{one_plan / 10 * 2000 * 1e3:.0f} ms"
    )


if __name__ == "__main__":
    main()
