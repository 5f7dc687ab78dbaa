"""Benchmark of fleet.gotemplate on the string fields of a representative ApplicationSet.

Scenario: the ~15 templated and plain string fields of an Application template (name,
project, source, destination, labels, annotations, sync options) rendered for N parameter
sets shaped like the cluster x git-directory matrix Argo CD produces (JSON numbers as
float64). Three ways, in the same run:

- baseline: Python ``str.replace`` of the same placeholders with precomputed strings, the
  floor any template engine sits above (it does no parsing, lookups or Go semantics);
- ``Template.execute`` on templates parsed once (what the ApplicationSet engine does);
- ``gotemplate.render`` (parse cache lookup + execute), for callers that keep no templates.

Also the parse cost of a field (parse + compile, what the cache saves).

Run: .venv/bin/python benchmarks/bench_gotemplate.py [N]
(absolute numbers and ratios; timings on a shared 2-core machine are noisy, compare ratios.)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleet import gotemplate  # noqa: E402 - after the sys.path line above

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000

FIELDS = [
    "{{.name}}-{{.path.basename}}",
    "default",
    "https://github.com/example/apps.git",
    "{{.values.revision}}",
    "{{.path.path}}",
    "{{.server}}",
    "{{.path.basenameNormalized}}",
    '{{ index .metadata.labels "env" }}',
    "{{ .metadata.labels.region }}",
    "{{ .name | upper }}",
    '{{ printf "%s-%s" .nameNormalized .path.basename }}',
    '{{ if eq .metadata.labels.env "prod" }}true{{ else }}false{{ end }}',
    "CreateNamespace=true",
    'team-{{ .values.team | default "platform" }}',
    '{{ .path.segments | join "/" }}',
]

# The same fields for str.replace: each action becomes a placeholder with a precomputed value.
REPLACE_FIELDS = [
    "$name-$basename",
    "default",
    "https://github.com/example/apps.git",
    "$revision",
    "$path",
    "$server",
    "$basenameNormalized",
    "$env",
    "$region",
    "$NAME",
    "$nameNormalized-$basename",
    "$isprod",
    "CreateNamespace=true",
    "team-$team",
    "$path",
]


def params(index: int) -> dict[str, Any]:
    cluster = f"cluster-{index % 500:03d}"
    app = f"app-{index // 500:02d}"
    return gotemplate.json_numbers(
        {
            "name": cluster,
            "nameNormalized": cluster,
            "server": f"https://10.0.{index % 250}.{index % 200}:6443",
            "project": "",
            "metadata": {"labels": {"env": "prod" if index % 3 else "staging", "region": "eu-west-1"}},
            "path": {
                "path": f"apps/{app}",
                "basename": app,
                "basenameNormalized": app,
                "segments": ["apps", app],
            },
            "values": {"revision": "main", "replicas": 3},
        }
    )


def replacements(p: dict[str, Any]) -> dict[str, str]:
    return {
        "$name": p["name"],
        "$NAME": p["name"].upper(),
        "$nameNormalized": p["nameNormalized"],
        "$basenameNormalized": p["path"]["basenameNormalized"],
        "$basename": p["path"]["basename"],
        "$revision": p["values"]["revision"],
        "$path": p["path"]["path"],
        "$server": p["server"],
        "$env": p["metadata"]["labels"]["env"],
        "$region": p["metadata"]["labels"]["region"],
        "$isprod": "true" if p["metadata"]["labels"]["env"] == "prod" else "false",
        "$team": "platform",
    }


def baseline(sets: list[dict[str, Any]]) -> tuple[float, int]:
    prepared = [sorted(replacements(p).items(), key=lambda kv: -len(kv[0])) for p in sets]
    start = time.perf_counter()
    count = 0
    for pairs in prepared:
        for field in REPLACE_FIELDS:
            for key, value in pairs:
                if key in field:
                    field = field.replace(key, value)
            count += 1
    return time.perf_counter() - start, count


def parsed_once(sets: list[dict[str, Any]]) -> tuple[float, int, list[str]]:
    templates = [gotemplate.parse(field) for field in FIELDS]
    start = time.perf_counter()
    count = 0
    last: list[str] = []
    for p in sets:
        last = [template.execute(p) for template in templates]
        count += len(last)
    return time.perf_counter() - start, count, last


def through_render(sets: list[dict[str, Any]]) -> tuple[float, int]:
    render = gotemplate.render
    start = time.perf_counter()
    count = 0
    for p in sets:
        for field in FIELDS:
            render(field, p)
            count += 1
    return time.perf_counter() - start, count


def parse_cost(rounds: int = 50) -> float:
    start = time.perf_counter()
    for round_number in range(rounds):
        for field in FIELDS:
            gotemplate.parse(field + f"{{{{/* {round_number} */}}}}")
    return (time.perf_counter() - start) / (rounds * len(FIELDS))


def main() -> None:
    sets = [params(i) for i in range(N)]
    base_time, base_count = baseline(sets)
    exec_time, exec_count, sample = parsed_once(sets)
    render_time, render_count = through_render(sets)
    per_parse = parse_cost()
    print(f"{N} parameter sets x {len(FIELDS)} fields = {exec_count} renders")
    print(f"sample Application fields: {sample[:4]}")
    print(f"baseline str.replace : {base_time:7.3f} s  {base_count / base_time:12,.0f} fields/s  1.0x")
    print(
        f"Template.execute     : {exec_time:7.3f} s  {exec_count / exec_time:12,.0f} renders/s "
        f"{exec_time / base_time:5.1f}x baseline  ({exec_time / exec_count * 1e6:.2f} us/render, "
        f"{exec_time / N * 1e6:.1f} us/Application)"
    )
    print(
        f"gotemplate.render    : {render_time:7.3f} s  {render_count / render_time:12,.0f} renders/s "
        f"{render_time / base_time:5.1f}x baseline"
    )
    print(
        f"parse + compile      : {per_parse * 1e6:7.1f} us per field (= {per_parse / (exec_time / exec_count):.0f} renders)"
    )
    print(
        f"10,000 Applications  : {exec_time / N * 10_000:.2f} s of template execution (target: whole run < 2 s)"
    )


if __name__ == "__main__":
    main()
