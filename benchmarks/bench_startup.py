"""Benchmark: the CLI's own start-up, against the interpreter's, and its share of a real command.

1. How long `fleet --help` and `fleet generate --help` take, against `python -c pass` (the
   interpreter alone) measured in the same run, and against importing typer with its rich help
   formatter (the floor of any typer CLI that prints rich help, as fleet does).
2. `fleet generate` of 10,000 Applications (20 git directories x 500 clusters, the scenario of
   ``bench_generate.py``; Argo CD cluster Secrets in a file, JSON on stdout) as a whole process,
   against the same generation in-process (``fleet.appset.generate`` on the parsed ApplicationSet
   and clusters). The start-up is `fleet generate` of a one-Application ApplicationSet (the
   command's fixed cost: interpreter, imports, reading the file); its share of the whole
   10,000-Application process says whether it dominates (issue 15).

Each command runs REPEAT times in a fresh process and the best time counts (the least disturbed
by other work on the machine). Each line also gives the best CPU time (user + system) of the
process, which other work on a shared machine disturbs much less than wall time. Prints absolute
times, ratios to the baselines, and whether `fleet --help` stays under 0.3 s.
Run: ``.venv/bin/python benchmarks/bench_startup.py [--repeat 15]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

BUDGET = 0.3  # seconds for `fleet --help` (the target)
GENERATE_DIRECTORIES = 20  # x 500 clusters = 10,000 Applications

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_generate  # noqa: E402 - benchmarks/bench_generate.py, beside this file
import record  # noqa: E402 - benchmarks/record.py, beside this file


def best_of(command: list[str], repeat: int, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(best wall time, best CPU time) of ``command`` run ``repeat`` times."""
    # As a user's shell has it: bytecode caches on (a sandbox's PYTHONDONTWRITEBYTECODE would make
    # every run compile fleet's modules from source again, which no installed fleet does).
    env = {k: v for k, v in (env or os.environ).items() if k != "PYTHONDONTWRITEBYTECODE"}
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def best_in_process(fn: Any, repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def generate_scenario(fleet: list[str], root: Path, repeat: int) -> dict[str, tuple[float, float]]:
    """Times of the whole `fleet generate` of 10,000 Applications, of the same generation
    in-process, and of `fleet generate` of one Application (the command's fixed cost)."""
    from fleet import appset, argo, gitsource
    from fleet.clusters import argocd

    bench_generate.APPS = GENERATE_DIRECTORIES
    url = bench_generate.build_repo(root)
    sha = subprocess.run(
        ["git", "-C", url, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    doc = bench_generate.appset_doc(url, go=False)
    # A commit, not a branch: a mirror is never fetched again for it (a branch is, once a minute).
    doc["spec"]["generators"][0]["matrix"]["generators"][0]["git"]["revision"] = sha
    appset_file = root / "appset.yaml"
    appset_file.write_text(yaml.safe_dump(doc, sort_keys=False))
    clusters_file = root / "clusters.yaml"
    clusters_file.write_text(
        yaml.safe_dump_all([argocd.cluster_secret(c) for c in bench_generate.clusters()], sort_keys=False)
    )
    one = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "one", "namespace": "argocd"},
        "spec": {
            "generators": [{"list": {"elements": [{"cluster": "in-cluster"}]}}],
            "template": {
                "metadata": {"name": "web-{{cluster}}"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": url, "path": "apps/app-00/base"},
                    "destination": {"name": "{{cluster}}", "namespace": "web"},
                },
            },
        },
    }
    one_file = root / "one.yaml"
    one_file.write_text(yaml.safe_dump(one, sort_keys=False))
    env = {**os.environ, gitsource.CACHE_ENV: str(root / "cache")}

    # In-process: the generation the command does, on the ApplicationSet and clusters it parsed,
    # reading the mirror the command reads (cloned here, once).
    cache = gitsource.RepoCache(root / "cache" / "git")
    cache.open(url, sha)
    parsed = argo.ApplicationSet.model_validate(doc)
    registered = argocd.load_cluster_secrets(clusters_file)
    count = len(appset.generate([parsed], clusters=registered, in_cluster=False, repos=cache).objects)
    assert count == GENERATE_DIRECTORIES * len(registered), count
    times = {
        "in-process": best_in_process(
            lambda: appset.generate([parsed], clusters=registered, in_cluster=False, repos=cache), repeat
        )
    }
    whole = [*fleet, "generate", str(appset_file), "--clusters", str(clusters_file), "--no-in-cluster"]
    check = subprocess.run([*whole, "-o", "json"], capture_output=True, text=True, env=env, check=True)
    assert check.stdout.count('"kind": "Application"') == count, check.stderr[-2000:]
    times["whole"] = best_of([*whole, "-o", "json"], repeat, env)
    times["one"] = best_of([*fleet, "generate", str(one_file), "-o", "json"], repeat, env)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    repeat = parser.parse_args().repeat
    script = Path(sys.executable).parent / "fleet"  # the console script pip installed
    fleet = [str(script)] if script.exists() else [sys.executable, "-m", "fleet"]
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import typer (rich help)": [sys.executable, "-c", "import typer, typer.rich_utils"],
        "fleet --help": [*fleet, "--help"],
        "fleet generate --help": [*fleet, "generate", "--help"],
    }
    if shutil.which("kubectl"):
        cases["kubectl --help"] = ["kubectl", "--help"]
    measured = {name: best_of(command, repeat) for name, command in cases.items()}
    wall_base, cpu_base = measured["python -c pass"]
    print(f"best of {repeat} runs each")
    print(f"{'command':<40} {'seconds':>8} {'x python':>9} {'cpu s':>7} {'x python':>9}")
    for name, (wall, cpu) in measured.items():
        print(f"{name:<40} {wall:>8.3f} {wall / wall_base:>8.1f}x {cpu:>7.3f} {cpu / cpu_base:>8.1f}x")
    for name in ("fleet --help", "fleet generate --help"):
        wall, cpu = measured[name]
        record.record(
            "bench_startup",
            name,
            "python -c pass",
            wall / wall_base,
            seconds=round(wall, 3),
            cpu_ratio=round(cpu / cpu_base, 3),
        )

    apps = GENERATE_DIRECTORIES * len(bench_generate.clusters())
    with tempfile.TemporaryDirectory() as tmp:
        times = generate_scenario(fleet, Path(tmp), repeat=max(3, repeat // 3))
    (in_wall, in_cpu), (whole_wall, whole_cpu), (one_wall, one_cpu) = (
        times["in-process"],
        times["whole"],
        times["one"],
    )
    print(
        f"\n`fleet generate` of {apps:,} Applications ({GENERATE_DIRECTORIES} git directories x 500 clusters, -o json)"
    )
    print(f"{'':<40} {'seconds':>8} {'':>9} {'cpu s':>7}")
    print(f"{'the same generation in-process':<40} {in_wall:>8.3f} {'':>9} {in_cpu:>7.3f}")
    print(
        f"{'the whole process':<40} {whole_wall:>8.3f} {whole_wall / in_wall:>8.1f}x {whole_cpu:>7.3f}"
        f" {whole_cpu / in_cpu:>8.1f}x   (x in-process)"
    )
    print(
        f"{'start-up: fleet generate of 1 Application':<40} {one_wall:>8.3f} {'':>9} {one_cpu:>7.3f}"
        f"   {one_wall / whole_wall:.0%} of the whole process ({one_cpu / whole_cpu:.0%} of its CPU)"
    )
    record.record(
        "bench_startup",
        f"`fleet generate` of {apps:,} Applications, whole process",
        "the same generation in-process",
        whole_wall / in_wall,
        seconds=round(whole_wall, 3),
        cpu_ratio=round(whole_cpu / in_cpu, 3),
    )
    record.record(
        "bench_startup",
        "start-up (`fleet generate` of 1 Application)",
        f"`fleet generate` of {apps:,} Applications, whole process",
        one_wall / whole_wall,
        seconds=round(one_wall, 3),
        cpu_ratio=round(one_cpu / whole_cpu, 3),
    )
    within = measured["fleet --help"][0] < BUDGET
    print(
        f"\nfleet --help under {BUDGET} s: {'yes' if within else 'NO'} ({measured['fleet --help'][0]:.3f} s)"
    )
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
