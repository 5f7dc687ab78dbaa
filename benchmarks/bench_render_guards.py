"""Benchmark of what the render guards of issue 8 cost, against what they guard, in the same run:

1. Jsonnet with imports confined to the repository (fleet's import callback, the program read and
   checked as UTF-8) vs the unconfined ``_jsonnet.evaluate_file`` with ``jpathdir`` it replaced;
2. the symlink check of a working tree (``gitsource.escaping_links``: every entry's type, every
   symlink resolved) vs listing the same tree with ``os.walk``, which a working-tree run already
   does to find the fleet's files;
3. the Kustomize path check (every kustomization reachable from the source) vs the
   ``kustomize build`` it precedes.

Run: .venv/bin/python benchmarks/bench_render_guards.py   (prints timings and ratios; timings on a
shared 2-core machine are noisy, the ratios are what to compare.)
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _jsonnet  # noqa: E402

from fleet import gitsource, render  # noqa: E402
from fleet.render import jsonnet, kustomize, manifests  # noqa: E402

DATA = ROOT / "tests" / "data" / "render"


def timed(fn: Callable[[], object], *, repeat: int) -> float:
    """Median seconds of one call."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def context(root: Path, path: str, source: dict) -> render.RenderContext:
    src = render.source_from_argo({"path": path, **source})
    return render.RenderContext(
        source=src, root=root, app_dir=root / path, app_name="bench", namespace="ns", revision="r"
    )


def bench_jsonnet() -> None:
    options = {
        "extVars": [
            {"name": "app", "value": "guestbook"},
            {"name": "debug", "value": "1 == 1", "code": True},
        ],
        "tlas": [{"name": "replicas", "value": "3", "code": True}],
        "libs": ["jsonnet/lib"],
    }
    ctx = context(DATA, "jsonnet/app", {"directory": {"jsonnet": options}})
    main = DATA / "jsonnet" / "app" / "main.jsonnet"

    def unconfined() -> list[dict]:
        # What fleet did before: evaluate_file with jpathdir, then the same parsing of the output.
        text = _jsonnet.evaluate_file(
            str(main),
            ext_vars={"app": "guestbook"},
            ext_codes={"debug": "1 == 1"},
            tla_codes={"replicas": "3"},
            jpathdir=[str(DATA / "jsonnet" / "lib")],
        )
        return manifests.parse(text, ctx=ctx, file="jsonnet/app/main.json")

    base = timed(unconfined, repeat=15)
    guarded = timed(lambda: jsonnet.evaluate(ctx, main), repeat=15)
    print("jsonnet: one program with one import, median per evaluation")
    print(
        f"  unconfined evaluate_file {base * 1e3:8.2f} ms   confined imports {guarded * 1e3:8.2f} ms"
        f"   ratio {guarded / base:.2f}x"
    )


def make_tree(root: Path, *, dirs: int, files_per_dir: int) -> None:
    for d in range(dirs):
        folder = root / f"apps/app{d:04d}/overlays/prod"
        folder.mkdir(parents=True)
        for f in range(files_per_dir):
            (folder / f"m{f}.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
        if d % 50 == 0:
            (folder / "current").symlink_to(".")  # links that stay inside cost a realpath each


def bench_symlink_check() -> None:
    with tempfile.TemporaryDirectory(prefix="fleet-bench-guards-") as tmp:
        root = Path(tmp)
        make_tree(root, dirs=500, files_per_dir=10)

        def walk() -> int:
            return sum(len(names) for _, _, names in os.walk(root))

        base = timed(walk, repeat=7)
        guarded = timed(lambda: gitsource.escaping_links(root), repeat=7)
        assert gitsource.escaping_links(root) == []
        print("symlink check: a working tree of 5,000 files in 500 leaf directories, 10 internal links")
        print(
            f"  os.walk listing {base * 1e3:8.2f} ms   escaping_links {guarded * 1e3:8.2f} ms"
            f"   ratio {guarded / base:.2f}x"
        )


def bench_kustomize_check() -> None:
    ctx = context(DATA, "kustomize/overlays/prod", {})  # an overlay over a base
    check = timed(lambda: kustomize.check_paths(ctx, [ctx.app_dir]), repeat=15)
    build = timed(lambda: kustomize.build(ctx), repeat=5)
    print(f"kustomize: path check of {ctx.source.path} vs its build, median")
    print(
        f"  build {build * 1e3:8.2f} ms (check included)   check {check * 1e3:8.3f} ms"
        f"   check/build {check / build:.4f}x"
    )


if __name__ == "__main__":
    bench_jsonnet()
    bench_symlink_check()
    bench_kustomize_check()
