"""Structured benchmark results: each benchmark calls ``record`` for every ratio it measures, and
``make bench`` (``benchmarks/run_all.py``) collects them into ``benchmarks/results/latest.json`` and
``latest.md``. Outside ``make bench`` (``FLEET_BENCH_RESULTS`` unset) ``record`` does nothing: the
benchmark's own printout is the result.
"""

from __future__ import annotations

import json
import os
from typing import Any

RESULTS_ENV = "FLEET_BENCH_RESULTS"


def record(benchmark: str, scenario: str, baseline: str, ratio: float, **details: Any) -> None:
    """One measured ratio: ``scenario`` against ``baseline`` (measured in the same run)."""
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    row = {
        "benchmark": benchmark,
        "scenario": scenario,
        "baseline": baseline,
        "ratio": round(ratio, 4),
        **details,
    }
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(row, sort_keys=True) + "\n")
