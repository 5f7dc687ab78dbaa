"""Benchmark: recording a run in the status store, on SQLite and on PostgreSQL, against the floor of
serialising the same run.

Scenario: a sync of CLUSTERS clusters x APPS Applications x 5 objects. Measured, each REPEAT times
(best of), per backend:

- baseline: the serialisation every store needs, whatever the database (``RunResult.to_json`` and
  one masked JSON document per Application);
- ``Store.record``: the run's row, the latest states and the last good revisions in one
  transaction;
- register + finish: the run's whole life in the store (registration with the run lock, then the
  record), as ``fleet sync`` does it;
- register alone, with an empty run: what the run lock costs a run before it starts.

PostgreSQL is a real server started for the benchmark (``tests/servers/postgres.py``: initdb +
pg_ctl, fsync off, loopback TCP); without its binaries only SQLite is measured.

Run: .venv/bin/python benchmarks/bench_store.py [CLUSTERS] [APPS]
(prints absolute numbers and ratios to the baseline; timings on a shared machine are noisy.)
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleet import redact, results, store  # noqa: E402
from fleet.health import Health  # noqa: E402
from fleet.status import OperationPhase, Reason, SyncStatus  # noqa: E402
from fleet.store import lease, model  # noqa: E402
from tests.servers import postgres as postgres_server  # noqa: E402

CLUSTERS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
APPS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
REPEAT = 3
FLEET = "https://git.example.com/fleet"


def make_run(run_id: str) -> results.RunResult:
    clusters = []
    for c in range(CLUSTERS):
        apps = tuple(
            results.AppResult(
                name=f"app{a}-c{c:03d}",
                cluster=f"c{c:03d}",
                revision="0123456789abcdef0123456789abcdef01234567",
                sync_status=SyncStatus.SYNCED,
                health=Health.HEALTHY,
                phase=OperationPhase.SUCCEEDED,
                reason=Reason.SUCCEEDED,
                resources=tuple(
                    results.ResourceResult(
                        kind="ConfigMap", namespace=f"app{a}", name=f"cm-{o}", action=results.Action.UNCHANGED
                    )
                    for o in range(5)
                ),
            )
            for a in range(APPS)
        )
        clusters.append(results.ClusterResult(cluster=f"c{c:03d}", apps=apps, requests={"list": 5}))
    return results.RunResult(
        run_id=run_id,
        kind=results.RunKind.SYNC,
        started_at=results.now(),
        finished_at=results.now(),
        clusters=tuple(clusters),
    )


def best(fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def serialise(run: results.RunResult) -> None:
    run.to_json()
    for app in run.apps():
        redact.mask(app.model_dump_json())


def measure(url: str, run: results.RunResult) -> dict[str, float]:
    db = store.open(url)
    db.ensure_schema()
    counter = iter(range(1_000_000))
    names = frozenset(c.cluster for c in run.clusters)

    def registration(kind: str) -> model.Registration:
        return model.Registration(
            run_id=f"{kind}-{next(counter)}",
            kind=results.RunKind.SYNC,
            scope=model.Scope(fleet=FLEET, clusters=names),
        )

    def whole_life() -> None:
        held = lease.acquire(db, registration("run"), ttl=30)
        held.finish(run.model_copy(update={"run_id": held.run_id, "started_at": held.started_at}))

    def register_alone() -> None:
        held = lease.acquire(db, registration("empty"), ttl=30)
        held.finish(
            results.RunResult(run_id=held.run_id, kind=results.RunKind.SYNC, started_at=held.started_at)
        )

    return {
        "record": best(lambda: db.record(run.model_copy(update={"run_id": f"rec-{next(counter)}"}))),
        "register + finish": best(whole_life),
        "register + finish, empty run": best(register_alone),
    }


def main() -> None:
    run = make_run("r1")
    baseline = best(lambda: serialise(run))
    print(f"{CLUSTERS} clusters x {APPS} applications = {CLUSTERS * APPS} applications")
    print(f"{'serialise the run (baseline)':44s} {baseline * 1000:9.1f} ms   {1.0:6.2f}x baseline")
    backends: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        backends.append(("sqlite", f"sqlite://{tmp}/status.db"))
        server = None
        bindir = postgres_server.server_binaries()
        if bindir is not None:
            server = postgres_server.PostgresServer(bindir).start()
            backends.append(("postgresql", server.url(server.create_database())))
        else:
            print("postgresql: not measured (no initdb/pg_ctl; `make install` installs Debian's postgresql)")
        try:
            for name, url in backends:
                for what, seconds in measure(url, run).items():
                    label = f"{name}: {what}"
                    print(f"{label:44s} {seconds * 1000:9.1f} ms   {seconds / baseline:6.2f}x baseline")
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
