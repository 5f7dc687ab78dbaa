"""Benchmark: what notifications add to a run, against recording the same run in the status store.

Scenario: a run of CLUSTERS clusters x APPS Applications x 5 objects (each with a short diff), and a
previous run of the same kind in which a tenth of the Applications were Degraded. Measured, each
REPEAT times (best of):

- baseline: ``Store.record(run)``, what every run already pays;
- ``Store.previous_run(run)``: reading the previous run of the same kind back;
- ``notify.build``: transitions (pure) + decision + leaving the diffs out;
- ``notify.webhook_payload`` + ``json.dumps``: the payload, masked;
- ``notify.slack_payload`` and ``notify.markdown_text``.

Run: .venv/bin/python benchmarks/bench_notify.py [CLUSTERS] [APPS]
(prints absolute numbers and ratios to the baseline; timings on a shared machine are noisy.)
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleet import notify, results, store  # noqa: E402
from fleet.health import Health  # noqa: E402
from fleet.status import OperationPhase, Reason, SyncStatus  # noqa: E402

CLUSTERS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
APPS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
REPEAT = 3


def make_run(run_id: str, started_at: str, *, degraded_every: int) -> results.RunResult:
    clusters = []
    for c in range(CLUSTERS):
        apps = []
        for a in range(APPS):
            bad = degraded_every and (c * APPS + a) % degraded_every == 0
            resources = tuple(
                results.ResourceResult(
                    kind="ConfigMap",
                    namespace=f"app{a}",
                    name=f"cm-{o}",
                    action=results.Action.CONFIGURED,
                    diff=f"-  index: {o}\n+  index: {o + 1}\n",
                )
                for o in range(5)
            )
            apps.append(
                results.AppResult(
                    name=f"app{a}-c{c:03d}",
                    cluster=f"c{c:03d}",
                    sync_status=SyncStatus.OUT_OF_SYNC if bad else SyncStatus.SYNCED,
                    health=Health.DEGRADED if bad else Health.HEALTHY,
                    phase=OperationPhase.FAILED if bad else OperationPhase.SUCCEEDED,
                    reason=Reason.HEALTH_CHECK_FAILED if bad else Reason.SUCCEEDED,
                    resources=resources,
                )
            )
        clusters.append(results.ClusterResult(cluster=f"c{c:03d}", apps=tuple(apps)))
    return results.RunResult(
        run_id=run_id,
        kind=results.RunKind.SYNC,
        started_at=started_at,
        finished_at=started_at,
        clusters=tuple(clusters),
    )


def best(fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    previous = make_run("r1", "2025-01-01T00:00:00.000000Z", degraded_every=10)
    current = make_run("r2", "2025-01-01T00:01:00.000000Z", degraded_every=0)
    with tempfile.TemporaryDirectory() as tmp:
        db = store.Store(tmp)
        db.record(previous)
        baseline = best(lambda: db.record(current))
        lookup = best(lambda: db.previous_run(current))
        note = notify.build(current, previous)
        rows = [
            ("Store.record (baseline)", baseline),
            ("Store.previous_run", lookup),
            ("notify.build (transitions, decision)", best(lambda: notify.build(current, previous))),
            ("webhook payload + json", best(lambda: json.dumps(notify.webhook_payload(note)))),
            ("slack payload", best(lambda: notify.slack_payload(note))),
            ("markdown text", best(lambda: notify.markdown_text(note))),
        ]
    apps = CLUSTERS * APPS
    print(
        f"{CLUSTERS} clusters x {APPS} applications = {apps} applications, {len(note.transitions)} transitions"
    )
    for name, seconds in rows:
        print(f"{name:40s} {seconds * 1000:9.1f} ms   {seconds / baseline:6.2f}x baseline")
    total = sum(s for _, s in rows[1:5])
    print(
        f"{'notification total (webhook + slack)':40s} {total * 1000:9.1f} ms   {total / baseline:6.2f}x baseline"
    )


if __name__ == "__main__":
    main()
