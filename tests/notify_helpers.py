"""Small builders of RunResults for the notification tests (fleet.notify works on RunResult only).

``state("Synced/Healthy")`` reads as in the tables: sync status, health, and optionally a reason
(``"OutOfSync/Degraded/HealthCheckFailed"``); ``run({("c001", "web"): "Synced/Healthy"})`` builds a
run with those Applications, ``failed={"c003": "ClusterUnreachable"}`` clusters that failed as a
whole, and ``errors=[...]`` generation errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fleet import results
from fleet.health import Health
from fleet.status import OperationPhase, Reason, SyncStatus


def state(text: str) -> tuple[SyncStatus, Health, Reason]:
    parts = text.split("/")
    sync, health = SyncStatus(parts[0]), Health(parts[1])
    if len(parts) > 2:
        reason = Reason(parts[2])
    elif health is Health.DEGRADED:
        reason = Reason.HEALTH_CHECK_FAILED
    elif sync is SyncStatus.SYNCED and health is Health.HEALTHY:
        reason = Reason.SUCCEEDED
    else:
        reason = Reason.PROGRESSING
    return sync, health, reason


def app(
    cluster: str,
    name: str,
    text: str = "Synced/Healthy",
    *,
    message: str = "",
    resources: Sequence[results.ResourceResult] = (),
    deletion: results.Deletion | None = None,
) -> results.AppResult:
    sync, health, reason = state(text)
    ok = sync is SyncStatus.SYNCED and health is Health.HEALTHY
    return results.AppResult(
        name=name,
        cluster=cluster,
        namespace="web",
        sync_status=sync,
        health=health,
        phase=OperationPhase.SUCCEEDED if ok else OperationPhase.FAILED,
        reason=reason,
        message=message,
        resources=tuple(resources),
        deletion=deletion,
    )


def run(
    apps: Mapping[tuple[str, str], str] | Sequence[results.AppResult] = (),
    *,
    run_id: str = "r1",
    kind: results.RunKind = results.RunKind.SYNC,
    failed: Mapping[str, str] | None = None,
    errors: Sequence[str] = (),
    started_at: str | None = None,
) -> results.RunResult:
    if isinstance(apps, Mapping):
        built = [app(cluster, name, text) for (cluster, name), text in apps.items()]
    else:
        built = list(apps)
    failed = dict(failed or {})
    names = sorted({a.cluster for a in built} | set(failed))
    clusters = []
    for name in names:
        reason = failed.get(name)
        clusters.append(
            results.ClusterResult(
                cluster=name,
                reachable=reason is None,
                reason=Reason(reason) if reason else None,
                message=f"cluster {name}: connection refused" if reason else "",
                apps=tuple(a for a in built if a.cluster == name),
            )
        )
    stamp = started_at or results.now()
    return results.RunResult(
        run_id=run_id,
        kind=kind,
        started_at=stamp,
        finished_at=stamp,
        source="https://git.example.com/fleet.git",
        revision="0123456789abcdef0123",
        executor="local",
        clusters=tuple(clusters),
        errors=tuple(errors),
    )
