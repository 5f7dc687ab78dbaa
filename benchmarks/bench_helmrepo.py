"""Benchmark of reading a large Helm repository index, with ``yaml.load`` (libyaml) as baseline.

Scenario: a synthetic index of CHARTS charts with VERSIONS versions each, every entry carrying
the fields public repositories write (description, maintainers, keywords, annotations), as
YAML and as JSON. ``helmrepo.parse_index`` reads only version, urls and digest from the parser's
events (a JSON index through ``json.loads``); the baseline builds the whole document with
``yaml.load(CSafeLoader)``. Then the version selection of one chart (``select_version``, a wildcard).

Run: .venv/bin/python benchmarks/bench_helmrepo.py [CHARTS] [VERSIONS]
(prints absolute numbers and ratios; timings on a shared 2-core machine are noisy, compare ratios.)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleet.render import helmrepo  # noqa: E402

CHARTS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
VERSIONS = int(sys.argv[2]) if len(sys.argv) > 2 else 100


def index() -> dict[str, Any]:
    entries = {
        f"chart{i}": [
            {
                "apiVersion": "v2",
                "name": f"chart{i}",
                "version": f"{j // 10}.{j % 10}.0",
                "appVersion": "1.0.0",
                "created": "2024-01-01T00:00:00.000000000Z",
                "description": "A chart of a public repository, described in a sentence or two. " * 2,
                "digest": "ab" * 32,
                "home": "https://example.com",
                "keywords": ["web", "http", "server"],
                "maintainers": [{"name": "someone", "email": "someone@example.com"}],
                "annotations": {"category": "Infrastructure", "licenses": "Apache-2.0"},
                "urls": [f"https://charts.example.com/chart{i}-{j // 10}.{j % 10}.0.tgz"],
            }
            for j in range(VERSIONS)
        ]
        for i in range(CHARTS)
    }
    return {"apiVersion": "v1", "entries": entries, "generated": "2024-01-01T00:00:00Z"}


def best(fn: Any, repeat: int = 2) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    doc = index()
    as_yaml = yaml.safe_dump(doc).encode()
    as_json = json.dumps(doc).encode()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    print(
        f"index: {CHARTS} charts x {VERSIONS} versions, {len(as_yaml) / 1e6:.1f} MB YAML, "
        f"{len(as_json) / 1e6:.1f} MB JSON"
    )
    for label, text in (("yaml", as_yaml), ("json", as_json)):
        baseline = best(lambda t=text: yaml.load(t, Loader=loader))  # noqa: S506 - a safe loader
        ours = best(lambda t=text: helmrepo.parse_index(t, url="https://charts.example.com"))
        print(
            f"{label}: parse_index {ours:.3f}s, yaml.load baseline {baseline:.3f}s, "
            f"ratio {ours / baseline:.2f} (lower is better)"
        )
    parsed = helmrepo.parse_index(as_yaml, url="https://charts.example.com")
    versions = [v.version for v in parsed.entries["chart0"]]
    select = best(lambda: helmrepo.select_version(versions, "5.*"), repeat=5)
    print(f"select_version over {len(versions)} versions: {select * 1000:.2f} ms")


if __name__ == "__main__":
    main()
