"""Benchmark: `fleet plan` of an ApplicationSet change over 500 clusters (issue 13), against
rendering every Application's source on its own, measured in the same run.

Scenario: one ApplicationSet (clusters generator) over N clusters labelled env=dev|staging|prod;
its source is a Kustomize overlay per env over a shared base, and the pull request changes the
base (uncommitted, in the working tree: the head).

1. plan: `fleet.preview.run.preview`, the whole command but printing: base checked out from git,
   both revisions generated and rendered by the driver's phases, every Application compared,
   identical changes grouped. The Kustomize builds it runs are counted.
2. baseline: only the rendering a plan would do if it rendered per Application: each
   Application's source built with no cache, at base and at head (2 x N builds); no generation,
   comparison or grouping.

The ratio plan / baseline is what to compare (timings on a shared 2-core machine are noisy).
With --sample K, the baseline builds K Applications per side and multiplies the median build by
2 x N (printed as an estimate); without it every build runs.

Run: .venv/bin/python benchmarks/bench_plan.py [CLUSTERS] [--sample K]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from fleet import driver, log, models, render, results  # noqa: E402
from fleet.clusters import argocd  # noqa: E402
from fleet.preview import run as preview_run  # noqa: E402
from fleet.render import cache, kustomize  # noqa: E402

REPO_URL = "https://git.example.com/fleet.git"
ENVS = ("dev", "staging", "prod")
CONFIG = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata:\n  greeting: hello\n  colour: blue\n"
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27", ports: [{containerPort: 80}]}]
"""


def write_fleet(root: Path, clusters: int) -> Path:
    """The fleet repository (committed) and the cluster Secrets file; returns the latter."""
    appset = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "web", "namespace": "argocd"},
        "spec": {
            "generators": [{"clusters": {}}],
            "template": {
                "metadata": {"name": "web-{{name}}"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": REPO_URL, "path": "apps/web/overlays/{{metadata.labels.env}}"},
                    "destination": {"name": "{{name}}", "namespace": "web"},
                },
            },
        },
    }
    files = {
        "appset.yaml": yaml.safe_dump(appset),
        "apps/web/base/kustomization.yaml": "resources: [configmap.yaml, deployment.yaml]\n",
        "apps/web/base/configmap.yaml": CONFIG,
        "apps/web/base/deployment.yaml": DEPLOYMENT,
    }
    for env in ENVS:
        files[f"apps/web/overlays/{env}/kustomization.yaml"] = (
            f"resources: [../../base]\nnamePrefix: {env}-\nlabels: [{{pairs: {{env: {env}}}}}]\n"
        )
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "b@b",
    }
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *argv], cwd=root, check=True, env=env)
    secrets = [
        argocd.cluster_secret(
            models.Cluster(
                name=f"c{i:04d}", server=f"https://c{i:04d}.clusters.invalid", labels={"env": ENVS[i % 3]}
            ),
            namespace="argocd",
        )
        for i in range(clusters)
    ]
    path = root.parent / "clusters.yaml"
    path.write_text(yaml.safe_dump_all(secrets))
    return path


class CountingBuild:
    """kustomize.build, counted (what the driver's render cache and dedup leave to the tool)."""

    def __init__(self) -> None:
        self.calls = 0
        self.real = kustomize.build

    def __call__(self, ctx: render.RenderContext) -> list[dict]:
        self.calls += 1
        return self.real(ctx)


def timed_plan(fleet: Path, clusters_file: Path) -> tuple[float, int, preview_run.model.PlanResult]:
    counter = CountingBuild()
    kustomize.build = counter  # type: ignore[assignment]
    request = preview_run.PreviewRequest(
        run=driver.RunRequest(
            fleet=str(fleet),
            cluster_files=(str(clusters_file),),
            repo_map={REPO_URL: str(fleet)},
            kind=results.RunKind.DIFF,
            record=False,
        ),
        base="main",
    )
    try:
        start = time.perf_counter()
        found = preview_run.preview(request)
        return time.perf_counter() - start, counter.calls, found
    finally:
        kustomize.build = counter.real  # type: ignore[assignment]


def baseline(base_tree: Path, head_tree: Path, clusters: int, sample: int | None) -> tuple[float, int, bool]:
    """Seconds to render every Application's source at base and head, one build each."""
    names = [f"c{i:04d}" for i in range(clusters)]
    chosen = names if sample is None else names[: max(1, sample)]
    samples: list[float] = []
    for tree in (base_tree, head_tree):
        for index, name in enumerate(chosen):
            source = {"repoURL": REPO_URL, "path": f"apps/web/overlays/{ENVS[index % 3]}"}
            start = time.perf_counter()
            render.render_source(
                source,
                source_dir=tree,
                app_name=f"web-{name}",
                namespace="web",
                revision="working-tree",
                cache=cache.NO_CACHE,
            )
            samples.append(time.perf_counter() - start)
    if sample is None:
        return sum(samples), len(samples), False
    return statistics.median(samples) * 2 * clusters, 2 * clusters, True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clusters", nargs="?", type=int, default=500)
    parser.add_argument(
        "--sample", type=int, default=None, help="baseline: build K Applications per side, extrapolate"
    )
    args = parser.parse_args()
    log.configure(log.LogFormat.TEXT)  # progress lines on stderr; results on stdout
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        fleet = Path(tmp) / "fleet"
        clusters_file = write_fleet(fleet, args.clusters)
        base_tree = Path(tmp) / "base-tree"
        shutil.copytree(fleet, base_tree, ignore=shutil.ignore_patterns(".git"))
        config = fleet / "apps/web/base/configmap.yaml"
        config.write_text(CONFIG.replace("hello", "bonjour"))  # the pull request

        plan_seconds, builds, found = timed_plan(fleet, clusters_file)
        assert found.totals.changed == args.clusters and found.totals.groups == len(ENVS), found.totals
        base_seconds, base_builds, estimated = baseline(base_tree, fleet, args.clusters, args.sample)

    print(f"fleet plan, an ApplicationSet change over {args.clusters} clusters (Kustomize overlay per env)")
    print(
        f"  plan (check out, generate, render, compare, group; both revisions): {plan_seconds:7.2f} s, "
        f"{builds} Kustomize builds, {found.totals.groups} distinct diffs"
    )
    print(
        f"  baseline (one build per Application and revision){' (estimated from a sample)' if estimated else ''}: "
        f"{base_seconds:7.2f} s, {base_builds} builds"
    )
    print(f"  plan / baseline: {plan_seconds / base_seconds:.3f}x")


if __name__ == "__main__":
    main()
