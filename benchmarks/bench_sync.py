"""Benchmark: a fleet sync of CLUSTERS simulated clusters x 10 Applications x 5 objects, on Ray and
on the local executor, against a baseline of ``kubectl apply --server-side -k`` per cluster in a
shell loop (the same 50 objects, plus their 10 namespaces), all measured in the same run.

For each: a first sync (everything is created) and a no-op resync (nothing changed). The
simulator counts every request it receives; "requests per object" divides them by the objects
in the fleet (CLUSTERS x 50).

Run: .venv/bin/python benchmarks/bench_sync.py [CLUSTERS]   (default 200)

Every cluster serves HTTPS (kubectl sends a bearer token only over TLS); fleet runs over the same.

Honest caveats: one 2-core machine runs the simulator (one asyncio thread serving every
cluster, plus its simulated controllers), the driver, Ray's processes and kubectl, so wall times
are dominated by CPU contention, not by a network; compare ratios. fleet's first sync also waits
for every Deployment to become healthy (wave by wave), which kubectl apply does not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleet import driver, executor, results  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import record  # noqa: E402 - benchmarks/record.py, beside this file

from fleet.clusters.sim import SimServer  # noqa: E402

CLUSTERS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
APPS = 10
OBJECTS = 5
REPO_URL = "https://git.example.com/bench.git"
ROLLOUT = 0.05


def app_objects(app: str) -> list[dict[str, Any]]:
    labels = {"app": app}
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{app}-config"},
            "data": {"app": app, "level": "info"},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{app}-features"},
            "data": {"beta": "false"},
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": app}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": app},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": app},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"serviceAccountName": app, "containers": [{"name": app, "image": "nginx:1.27"}]},
                },
            },
        },
    ]


def write_fleet(root: Path) -> None:
    names = [f"app{i:02d}" for i in range(APPS)]
    appset = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "bench"},
        "spec": {
            "generators": [
                {
                    "matrix": {
                        "generators": [
                            {"list": {"elements": [{"app": n} for n in names]}},
                            {"clusters": {}},
                        ]
                    }
                }
            ],
            "template": {
                "metadata": {"name": "{{app}}-{{name}}"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": REPO_URL, "path": "apps/{{app}}"},
                    "destination": {"name": "{{name}}", "namespace": "{{app}}"},
                    "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
                },
            },
        },
    }
    (root / "appset.yaml").write_text(yaml.safe_dump(appset))
    kustomize = root / "kubectl"
    kustomize.mkdir(parents=True)
    resources = []
    for name in names:
        folder = root / "apps" / name
        folder.mkdir(parents=True)
        (folder / "objects.yaml").write_text(yaml.safe_dump_all(app_objects(name)))
        # The kubectl baseline: the same objects, namespaced, plus the namespaces fleet creates.
        docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}]
        for obj in app_objects(name):
            obj["metadata"]["namespace"] = name
            docs.append(obj)
        (kustomize / f"{name}.yaml").write_text(yaml.safe_dump_all(docs))
        resources.append(f"{name}.yaml")
    (kustomize / "kustomization.yaml").write_text(yaml.safe_dump({"resources": resources}))


def totals(sim: SimServer) -> dict[str, int]:
    out: dict[str, int] = {}
    for counts in sim.request_counts().values():
        for verb, n in counts["verbs"].items():
            out[verb] = out.get(verb, 0) + n
    return out


def fleet_runs(kind: str, root: Path, rows: list[dict[str, Any]]) -> None:
    with SimServer(CLUSTERS, rollout_seconds=ROLLOUT, tls=True) as sim:
        request = driver.RunRequest(
            fleet=str(root),
            clusters=tuple(sim.clusters()),
            repo_map={REPO_URL: str(root)},
            executor=kind,
            record=False,
            concurrency=32 if kind == "local" else 16,
            cluster_timeout=600,
            health_timeout=300,
        )
        started = time.perf_counter()
        ex = executor.make_executor(request.executor, concurrency=request.concurrency)
        start_cost = time.perf_counter() - started
        try:
            for phase in ("first", "no-op"):
                sim.reset_counts()
                started = time.perf_counter()
                run = driver.run(request, executor_=ex)
                elapsed = time.perf_counter() - started
                bad = [a for a in run.apps() if not a.ok]
                if bad or len(run.clusters) != CLUSTERS:
                    raise SystemExit(f"fleet {kind} {phase}: {len(bad)} applications not ok: {bad[:1]}")
                rows.append(
                    {
                        "mode": f"fleet ({kind})",
                        "phase": phase,
                        "seconds": elapsed,
                        "requests": totals(sim),
                        "start": start_cost,
                        "changed": run.summary()["changed"],
                    }
                )
        finally:
            ex.close()


def kubectl_runs(root: Path, rows: list[dict[str, Any]]) -> None:
    if shutil.which("kubectl") is None:
        print("kubectl not found: the baseline is skipped")
        return
    with SimServer(CLUSTERS, rollout_seconds=ROLLOUT, tls=True) as sim, tempfile.TemporaryDirectory() as tmp:
        kubeconfig = sim.write_kubeconfig(Path(tmp) / "kubeconfig")
        names = " ".join(sim.cluster_names())
        script = (
            f'for c in {names}; do kubectl --kubeconfig "{kubeconfig}" --context "$c" --cache-dir "{tmp}/cache" '
            f'apply --server-side --field-manager=bench -k "{root / "kubectl"}" >/dev/null || exit 1; done'
        )
        for phase in ("first", "no-op"):
            sim.reset_counts()
            started = time.perf_counter()
            subprocess.run(["bash", "-c", script], check=True, env={**os.environ, "HOME": tmp})
            rows.append(
                {
                    "mode": "kubectl loop",
                    "phase": phase,
                    "seconds": time.perf_counter() - started,
                    "requests": totals(sim),
                    "start": 0.0,
                    "changed": -1,
                }
            )


def main() -> None:
    objects = CLUSTERS * APPS * OBJECTS
    print(
        f"bench_sync: {CLUSTERS} clusters x {APPS} applications x {OBJECTS} objects = {objects} objects "
        f"(+{CLUSTERS * APPS} namespaces); simulator rollout {ROLLOUT}s; {os.cpu_count()} CPUs shared by everything"
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "fleet"
        root.mkdir()
        write_fleet(root)
        kubectl_runs(root, rows)
        fleet_runs("local", root, rows)
        fleet_runs("ray", root, rows)
    print(
        f"\n{'mode':<15} {'phase':<6} {'wall s':>8} {'requests':>9} {'req/object':>10} {'writes':>7}  by verb"
    )
    for row in rows:
        req = sum(row["requests"].values())
        writes = sum(
            n for v, n in row["requests"].items() if v in ("apply", "create", "update", "patch", "delete")
        )
        verbs = ",".join(f"{v}={n}" for v, n in sorted(row["requests"].items()))
        extra = f"  (+{row['start']:.1f}s executor start)" if row["start"] > 0.5 else ""
        print(
            f"{row['mode']:<15} {row['phase']:<6} {row['seconds']:>8.1f} {req:>9} {req / objects:>10.3f} {writes:>7}  {verbs}{extra}"
        )
    by = {(r["mode"], r["phase"]): r for r in rows}
    base = {p: by.get(("kubectl loop", p)) for p in ("first", "no-op")}
    print("\nratios against the kubectl loop (lower is better):")
    for mode in ("fleet (local)", "fleet (ray)"):
        for phase in ("first", "no-op"):
            row, ref = by.get((mode, phase)), base[phase]
            if row is None or ref is None:
                continue
            req, ref_req = sum(row["requests"].values()), sum(ref["requests"].values())
            print(
                f"  {mode:<14} {phase:<6} requests x{req / ref_req:.3f}   wall time x{row['seconds'] / ref['seconds']:.3f}"
            )
            record.record(
                "bench_sync",
                f"{mode} {phase} sync, {CLUSTERS} clusters, wall time (in-process, executor start excluded)",
                "kubectl apply --server-side loop",
                row["seconds"] / ref["seconds"],
                requests_ratio=round(req / ref_req, 4),
            )
    noop = by.get(("fleet (local)", "no-op"))
    if noop:
        lists = noop["requests"].get("list", 0)
        print(
            f"\nno-op resync: {lists / CLUSTERS:.1f} LISTs per cluster, "
            f"{sum(noop['requests'].values()) - lists - noop['requests'].get('discovery', 0)} other requests "
            "(an unchanged fleet costs a LIST per resource type per cluster)"
        )


if __name__ == "__main__":
    results.RunKind  # noqa: B018 - keep the import: results are what driver.run returns
    main()
