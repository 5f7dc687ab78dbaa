"""Benchmark: what a configured health check costs per object, against fleet's built-in checks.

Scenario: OBJECTS live objects, each judged REPEAT times (best of), through ``fleet.health.check``:

- baseline: a Deployment through the built-in Python check (what every rolled-out object costs);
- generic: a Certificate with no configured check (the conditions/phase check);
- lua: the same Certificate through a Lua script of a ``resource_customizations`` tree (a fresh
  Lua state per evaluation, as Argo CD; the object copied into Lua each time);
- lua (big object): a Certificate carrying 200 extra status entries, to show the copy's share;
- cel: the same Certificate through a Flux ``healthCheckExprs`` entry (compiled once per process).

Run: .venv/bin/python benchmarks/bench_health.py [OBJECTS]
(prints microseconds per object and ratios to the baseline; timings on a shared machine are noisy.)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleet import health  # noqa: E402 - after the sys.path line above
from fleet.health import cel, config, lua  # noqa: E402

OBJECTS = int(sys.argv[1]) if len(sys.argv) > 1 else 500
REPEAT = 3
TREE = ROOT / "tests" / "data" / "health" / "argo" / "resource_customizations"

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "web", "generation": 4},
    "spec": {"replicas": 3},
    "status": {
        "observedGeneration": 4,
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "conditions": [{"type": "Available", "status": "True"}],
    },
}
CERTIFICATE = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "Certificate",
    "metadata": {"name": "web-tls", "namespace": "web", "generation": 1},
    "spec": {"secretName": "web-tls", "dnsNames": ["web.example.com"]},
    "status": {
        "conditions": [{"type": "Ready", "status": "True", "reason": "Ready", "message": "up to date"}]
    },
}
BIG = dict(
    CERTIFICATE,
    status=dict(CERTIFICATE["status"], history=[{"revision": i, "note": "x" * 40} for i in range(200)]),
)


def per_object(label: str, obj: Mapping[str, Any], cfg: config.HealthConfig | None) -> float:
    best = float("inf")
    for _ in range(REPEAT):
        start = time.perf_counter()
        for _ in range(OBJECTS):
            health.check(obj, config=cfg)
        best = min(best, (time.perf_counter() - start) / OBJECTS)
    return best


def main() -> None:
    lua_cfg = config.from_paths(resource_customizations=[TREE])
    cel_cfg = config.HealthConfig(
        cel_checks=cel.checks_from_entries(
            [
                {
                    "apiVersion": "cert-manager.io/v1",
                    "kind": "Certificate",
                    "inProgress": "status.?conditions.orValue([]).exists(e, e.type == 'Issuing' && e.status == 'True')",
                    "failed": "status.?conditions.orValue([]).exists(e, e.type == 'Ready' && e.status == 'False')",
                    "current": "status.?conditions.orValue([]).exists(e, e.type == 'Ready' && e.status == 'True')",
                }
            ],
            file="bench",
        )
    )
    assert health.check(CERTIFICATE, config=lua_cfg).message == "up to date"
    assert health.check(CERTIFICATE, config=cel_cfg).status is health.Health.HEALTHY
    cases: list[tuple[str, Callable[[], float]]] = [
        ("built-in Deployment check (baseline)", lambda: per_object("baseline", DEPLOYMENT, None)),
        ("generic check", lambda: per_object("generic", CERTIFICATE, None)),
        ("lua (resource_customizations)", lambda: per_object("lua", CERTIFICATE, lua_cfg)),
        ("lua, object with 200 status entries", lambda: per_object("lua-big", BIG, lua_cfg)),
        ("cel (healthCheckExprs)", lambda: per_object("cel", CERTIFICATE, cel_cfg)),
    ]
    baseline = None
    print(
        f"{OBJECTS} objects, best of {REPEAT}; limits: {lua.INSTRUCTION_LIMIT} instructions, "
        f"{lua.MEMORY_LIMIT >> 20} MiB per Lua evaluation"
    )
    for label, measure in cases:
        seconds = measure()
        baseline = baseline or seconds
        print(f"{label:40s} {seconds * 1e6:9.1f} us/object  {seconds / baseline:7.1f}x")


if __name__ == "__main__":
    main()
