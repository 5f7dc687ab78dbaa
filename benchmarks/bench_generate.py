"""Benchmark: 10,000 Applications from a matrix of git directories x 500 clusters.

Builds a git repository with 20 app directories (GitPython, in a temporary directory) and 500
clusters, then runs ``fleet.appset.generate`` on a matrix ApplicationSet in fasttemplate and in
goTemplate mode. Timings on a shared machine are noisy, so each figure is the best of several
runs and is printed next to baselines measured in the same run:

* ``deepcopy``: ``copy.deepcopy`` of the template 10,000 times (the least any templating costs);
* ``json``: ``json.dumps`` of the 10,000 generated Applications (serialising the output once).

Target: generation under 2 s. Run: ``.venv/bin/python benchmarks/bench_generate.py [APPS]``
(default 20 directories: 10,000 Applications; 100 gives issue 15's 50,000, target under 5 s).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git

from fleet import appset, argo, gitsource, models

sys.path.insert(0, str(Path(__file__).resolve().parent))
import record  # noqa: E402 - benchmarks/record.py, beside this file

APPS = 20  # git directories (the command line's APPS; bench_startup.py sets its own)
CLUSTERS = 500
REPEAT = 3


def target_seconds() -> float:
    return 2.0 if APPS * CLUSTERS <= 10_000 else 5.0


def build_repo(root: Path) -> str:
    repo = git.Repo.init(root / "fleet", initial_branch="main")
    for i in range(APPS):
        for env in ("dev", "prod"):
            path = root / "fleet" / f"apps/app-{i:02d}/overlays/{env}/kustomization.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("resources: [../../base]\n")
        (root / "fleet" / f"apps/app-{i:02d}/base").mkdir(parents=True, exist_ok=True)
        (root / "fleet" / f"apps/app-{i:02d}/base/deployment.yaml").write_text("kind: Deployment\n")
    repo.git.add("--all")
    actor = git.Actor("bench", "bench@fleet.example")
    repo.index.commit("apps", author=actor, committer=actor)
    return str(root / "fleet")


def clusters() -> list[models.Cluster]:
    return [
        models.Cluster(
            name=f"c{i:03d}",
            server=f"https://c{i:03d}.fleet.example:6443",
            labels={"env": "prod" if i % 2 else "dev", "region": ("eu", "us", "ap")[i % 3], "tier": "core"},
            annotations={"owner": f"team-{i % 7}"},
        )
        for i in range(CLUSTERS)
    ]


def appset_doc(url: str, *, go: bool) -> dict[str, Any]:
    if go:
        t = {
            "name": "{{ .path.basename }}-{{ .name }}",
            "env": "{{ .metadata.labels.env }}",
            "region": '{{ index .metadata.labels "region" }}',
            "path": "{{ .path.path }}/overlays/{{ .metadata.labels.env }}",
            "server": "{{ .server }}",
            "ns": "{{ .path.basename }}",
            "owner": "{{ .metadata.annotations.owner }}",
        }
    else:
        t = {
            "name": "{{path.basename}}-{{name}}",
            "env": "{{metadata.labels.env}}",
            "region": "{{metadata.labels.region}}",
            "path": "{{path}}/overlays/{{metadata.labels.env}}",
            "server": "{{server}}",
            "ns": "{{path.basename}}",
            "owner": "{{metadata.annotations.owner}}",
        }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "bench", "namespace": "argocd"},
        "spec": {
            "goTemplate": go,
            "generators": [
                {
                    "matrix": {
                        "generators": [
                            {
                                "git": {
                                    "repoURL": url,
                                    "revision": "main",
                                    "directories": [{"path": "apps/*"}],
                                }
                            },
                            {"clusters": {"selector": {"matchLabels": {"tier": "core"}}}},
                        ]
                    }
                }
            ],
            "template": {
                "metadata": {
                    "name": t["name"],
                    "labels": {"app": t["ns"], "env": t["env"], "region": t["region"]},
                    "annotations": {"owner": t["owner"]},
                },
                "spec": {
                    "project": "default",
                    "source": {"repoURL": url, "targetRevision": "main", "path": t["path"]},
                    "destination": {"server": t["server"], "namespace": t["ns"]},
                    "syncPolicy": {
                        "automated": {"prune": True, "selfHeal": True},
                        "syncOptions": ["CreateNamespace=true"],
                    },
                },
            },
        },
    }


def best(fn: Callable[[], Any], repeat: int = REPEAT) -> tuple[float, float, Any]:
    """(best wall time, best CPU time, the last value) of ``repeat`` calls. CPU time is what
    other work on a shared machine disturbs least."""
    walls, cpus, value = [], [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        value = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), value


def main() -> int:
    global APPS
    if len(sys.argv) > 1:
        APPS = int(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = build_repo(root)
        cache = gitsource.RepoCache(root / "cache", max_age=3600)
        cache.open(url, "main")  # clone once; the runs below read the warm cache
        registered = clusters()
        failed = False
        print(
            f"matrix: {APPS} git directories x {CLUSTERS} clusters = {APPS * CLUSTERS} Applications (best of {REPEAT})"
        )
        for go in (False, True):
            mode = "goTemplate" if go else "fasttemplate"
            doc = appset_doc(url, go=go)
            parsed = argo.ApplicationSet.model_validate(doc)

            def run(parsed: argo.ApplicationSet = parsed) -> appset.GenerateResult:
                return appset.generate([parsed], clusters=registered, in_cluster=False, repos=cache)

            seconds, cpu, result = best(run)
            assert not result.errors and not result.invalid, (result.errors, result.invalid[:3])
            objects = result.objects
            assert len(objects) == APPS * CLUSTERS, len(objects)
            template = doc["spec"]["template"]
            count = len(objects)
            copy_seconds, copy_cpu, _ = best(lambda t=template, n=count: [copy.deepcopy(t) for _ in range(n)])
            json_seconds, json_cpu, _ = best(lambda o=objects: json.dumps(o))
            # The models the driver reads (AppSetResult.applications), built afresh on first use.
            model_seconds, model_cpu, _ = best(
                lambda r=result: [dataclasses.replace(item).applications for item in r.results], repeat=1
            )
            rate = len(objects) / seconds
            print(f"\n{mode}:                  wall s                                    cpu s")
            print(
                f"  generate            {seconds:7.3f} s   {rate:9,.0f} apps/s               {cpu:7.3f} s"
                f"   target < {target_seconds():.1f} s: {'met' if seconds < target_seconds() else 'MISSED'}"
            )
            print(
                f"  baseline deepcopy   {copy_seconds:7.3f} s   generate / deepcopy = {seconds / copy_seconds:5.2f}x"
                f"   {copy_cpu:7.3f} s   {cpu / copy_cpu:5.2f}x"
            )
            print(
                f"  baseline json.dumps {json_seconds:7.3f} s   generate / json     = {seconds / json_seconds:5.2f}x"
                f"   {json_cpu:7.3f} s   {cpu / json_cpu:5.2f}x"
            )
            print(
                f"  pydantic models     {model_seconds:7.3f} s   (result.applications, built on first use)"
                f"   {model_cpu:7.3f} s"
            )
            record.record(
                "bench_generate",
                f"generate {len(objects):,} Applications ({mode})",
                f"deepcopy of the template {len(objects):,} times",
                seconds / copy_seconds,
                seconds=round(seconds, 3),
                cpu_ratio=round(cpu / copy_cpu, 3),
                models_seconds=round(model_seconds, 3),
                target=f"< {target_seconds():g} s",
            )
            failed = failed or seconds >= target_seconds()
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
