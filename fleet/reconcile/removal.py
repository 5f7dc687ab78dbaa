"""Applications removed from Git: their inventory is still on the cluster, but the run no longer
generates them. Each is deleted (PreDelete hooks, its objects in reverse waves, PostDelete hooks, then
its inventory), preserved (only the inventory goes), or kept, as ``fleet.lifecycle`` decides.

Where it sits: only in a run that covers the whole fleet (``ClusterWork.removal``).
``fleet.reconcile.sync_cluster`` finds them from the inventories the session read
(``find_removed``; only this fleet's, see ``fleet.lifecycle``), adds their resource types to the
LISTs (``removal_kinds``), and runs each on the cluster's thread pool next to the ``app_sync``
runs, reusing their steps and results.

Two passes (``lifecycle.Removal.execute``): the first only reports what would be done, as a dry
run does, so the driver's deletion guard sees every cluster's deletions before any happens; the
second, on the clusters concerned, carries out the deletions the guard allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fleet import errors, health, inventory, lifecycle, redact, results, waves
from fleet.clusters import client
from fleet.reconcile import app_sync, failures, preparation, sessions, units
from fleet.status import OperationPhase, Reason, SyncStatus

Ref = inventory.ObjectRef


@dataclass(frozen=True)
class Removed:
    """An Application whose inventory is on the cluster but that the run no longer generates."""

    name: str
    configmap: Mapping[str, Any]
    record: lifecycle.Record
    decision: lifecycle.Decision
    message: str

    @property
    def inventory(self) -> inventory.Inventory:
        return inventory.from_configmap(self.configmap)


def find_removed(work: units.ClusterWork, session: sessions.Session) -> list[Removed]:
    """The Applications to delete (or preserve, or keep) on this cluster, with the decision."""
    if work.removal is None:
        return []
    found = []
    names = lifecycle.removed(session.inventory_objects, work.removal, present=[a.name for a in work.apps])
    if work.removal.execute is not None:
        names = [name for name in names if name in work.removal.execute]
    for name in names:
        configmap = session.inventory_objects[name]
        record = lifecycle.read(configmap)
        decision, message = lifecycle.decide(record, work.removal)
        found.append(Removed(name, configmap, record, decision, message))
    return found


def removal_kinds(removed: Iterable[Removed]) -> dict[tuple[str, str], str]:
    """(group, kind) -> apiVersion to LIST for the Applications to delete (objects and hooks)."""
    kinds: dict[tuple[str, str], str] = {}
    for item in removed:
        if item.decision is not lifecycle.Decision.DELETE:
            continue
        try:
            entries = item.inventory.entries
        except errors.FleetError:
            entries = ()
        for entry in entries:
            kinds.setdefault((entry.ref.group, entry.ref.kind), entry.api_version)
        for hook in item.record.hooks:
            ref = Ref.from_object(hook)
            if hook.get("apiVersion") and ref.kind:
                kinds.setdefault((ref.group, ref.kind), str(hook["apiVersion"]))
    return kinds


class _AppDelete:
    """Carry out the decision about one removed Application (runs on the cluster's pool)."""

    def __init__(self, session: sessions.Session, removed: Removed) -> None:
        self.session = session
        self.api = session.api
        self.removed = removed
        self.record = removed.record
        self.started = session.clock.monotonic()
        self.started_at = results.now()

    @property
    def writes(self) -> bool:
        """Whether this pass deletes (a sync's second pass) or only reports what it would do."""
        removal = self.session.work.removal
        return self.session.settings.writes and removal is not None and removal.execute is not None

    def run(self) -> results.AppResult:
        decision = self.removed.decision
        writes = self.writes
        if decision is lifecycle.Decision.KEEP:
            return self._result(results.Deletion.KEPT, self.removed.message, phase=OperationPhase.NOT_STARTED)
        try:
            previous = self.removed.inventory
        except errors.FleetError as exc:
            return self._result(results.Deletion.FAILED, failures.message(exc), reason=Reason.INVALID_SPEC)
        if decision is lifecycle.Decision.PRESERVE:
            resources = tuple(
                results.ResourceResult(
                    group=e.ref.group,
                    version=e.version,
                    kind=e.ref.kind,
                    namespace=e.ref.namespace,
                    name=e.ref.name,
                    action=results.Action.PRUNE_SKIPPED,
                    message="kept (no cascade)",
                )
                for e in previous.entries
            )
            if not writes:
                return self._result(
                    results.Deletion.WOULD_PRESERVE, self.removed.message, resources=resources
                )
            try:
                self._drop_inventory()
            except Exception as exc:  # noqa: BLE001 - reported for this Application
                return self._result(
                    results.Deletion.FAILED,
                    f"dropping the inventory failed: {failures.message(exc)}",
                    reason=failures.reason_for(exc, Reason.PRUNE_FAILED),
                    resources=resources,
                )
            return self._result(results.Deletion.PRESERVED, self.removed.message, resources=resources)
        return self._delete(previous)

    def _delete(self, previous: inventory.Inventory) -> results.AppResult:
        session = self.session
        work = units.AppWork(
            name=self.removed.name,
            namespace=self.record.namespace,
            manifests=self.record.hooks,
            appset=self.record.appset,
        )
        prepared = preparation.prepare_safely(
            work, preparation.cluster_scope(self.api, [work]) if work.manifests else None
        )
        if prepared.failure is not None:
            return self._result(results.Deletion.FAILED, prepared.failure[1], reason=prepared.failure[0])
        sync = app_sync.AppSync(session, prepared)
        try:
            hooks, _, _ = sync.resolve()
        except Exception as exc:  # noqa: BLE001 - the hooks' secrets did not resolve: delete nothing
            return self._result(
                results.Deletion.FAILED,
                failures.message(exc),
                reason=failures.reason_for(exc, Reason.SECRET_RESOLUTION_FAILED),
            )
        refs = previous.refs() | {Ref.from_object(h) for h in hooks}
        live = {ref: obj for ref in refs if (obj := session.get_live(ref)) is not None}
        the_plan = waves.plan_deletion(
            live,
            app=self.removed.name,
            previous=previous,
            hooks=hooks,
            started_at=session.settings.started_at,
        )
        rows: dict[Ref, app_sync.Row] = {}
        for skipped in the_plan.skipped:
            entry = previous.get(skipped.ref)
            rows[skipped.ref] = app_sync.Row(
                skipped.ref,
                entry.api_version if entry else "",
                action=results.Action.PRUNE_SKIPPED,
                message=f"kept: {skipped.reason.value}",
            )
        if not self.writes:
            for step in the_plan.steps:
                for item in step.prune:
                    rows[item.ref] = app_sync.Row(
                        item.ref,
                        str(item.obj.get("apiVersion") or ""),
                        action=results.Action.WOULD_PRUNE,
                        status=SyncStatus.OUT_OF_SYNC,
                        message="would be deleted (removed from Git)",
                    )
                for item in step.apply:
                    rows[item.ref] = app_sync.Row(
                        item.ref,
                        str(item.obj.get("apiVersion") or ""),
                        action=results.Action.HOOK,
                        hook=item.phase.value if item.phase else "",
                        message="would run",
                    )
            return self._finish(sync, rows, live, results.Deletion.WOULD_DELETE, self.removed.message)
        deleted: set[Ref] = set()
        failure: failures.StepFailed | None = None
        for step in the_plan.steps:
            try:
                session.check_time(f"deleting {self.removed.name}")
                sync.run_step(step, rows, live, deleted)
                self._wait_gone(step.prune)
            except failures.StepFailed as exc:
                failure = exc
            except failures.DeadlineExceeded as exc:
                failure = failures.StepFailed(Reason.TIMEOUT, failures.message(exc))
            if failure is not None:
                break
        try:
            if failure is None:
                self._drop_inventory()
            else:
                # What was not deleted stays listed, so the next run tries again.
                left = inventory.remove(previous, deleted)
                self.api.apply(
                    lifecycle.inventory_configmap(
                        self.removed.name,
                        left,
                        appset=self.record.appset,
                        applications_sync=self.record.applications_sync,
                        cascade=self.record.cascade,
                        namespace=self.record.namespace,
                        hooks=self.record.hooks,
                        fleet=session.settings.fleet or self.record.fleet,
                    ),
                    force=True,
                )
        except Exception as exc:  # noqa: BLE001 - the deletes happened; say the record failed
            if failure is None:
                failure = failures.StepFailed(
                    failures.reason_for(exc, Reason.PRUNE_FAILED),
                    f"removing the inventory failed: {failures.message(exc)}",
                )
        if failure is not None:
            return self._finish(
                sync,
                rows,
                live,
                results.Deletion.FAILED,
                f"deleting failed: {failure.message}",
                reason=failure.reason,
            )
        return self._finish(sync, rows, live, results.Deletion.DELETED, self.removed.message)

    def _wait_gone(self, items: Sequence[waves.Item]) -> None:
        """Wait until the deleted objects of a wave are gone (finalizers, foreground deletion)."""
        if not items:
            return
        deadline = self.session.clock.monotonic() + self.session.settings.health_timeout
        interval = self.session.settings.poll_interval
        pending = list(items)
        while pending:
            still = []
            for item in pending:
                api_version = str(item.obj.get("apiVersion") or "")
                try:
                    found = self.api.get(
                        api_version, item.ref.kind, item.ref.name, item.ref.namespace or None
                    )
                except client.UnknownKind:
                    found = None
                if found is not None:
                    still.append(item)
            pending = still
            if not pending:
                return
            if self.session.clock.monotonic() + interval > deadline:
                names = ", ".join(str(i.ref) for i in pending[:5])
                raise failures.StepFailed(
                    Reason.TIMEOUT, f"not deleted within {self.session.settings.health_timeout:g}s: {names}"
                )
            self.session.check_time("waiting for deletion")
            self.session.clock.sleep(interval)
            interval = min(1.0, interval * 2)

    def _drop_inventory(self) -> None:
        try:
            self.api.delete(
                "v1", "ConfigMap", inventory.configmap_name(self.removed.name), inventory.INVENTORY_NAMESPACE
            )
        except client.NotFound:
            pass
        self.session.inventories.pop(self.removed.name, None)
        self.session.inventory_objects.pop(self.removed.name, None)

    def _finish(
        self,
        sync: app_sync.AppSync,
        rows: Mapping[Ref, app_sync.Row],
        live: Mapping[Ref, Mapping[str, Any]],
        deletion: results.Deletion,
        message: str,
        *,
        reason: Reason = Reason.SUCCEEDED,
    ) -> results.AppResult:
        failed = deletion is results.Deletion.FAILED
        done = sync.finish(
            rows,
            live,
            phase=OperationPhase.FAILED if failed else OperationPhase.SUCCEEDED,
            reason=reason,
            message=message,
            attempts=1,
        )
        return done.model_copy(update=self._status(deletion))

    def _result(
        self,
        deletion: results.Deletion,
        message: str,
        *,
        reason: Reason = Reason.SUCCEEDED,
        phase: OperationPhase | None = None,
        resources: tuple[results.ResourceResult, ...] = (),
    ) -> results.AppResult:
        failed = deletion is results.Deletion.FAILED
        return results.AppResult(
            name=self.removed.name,
            cluster=self.session.cluster.name,
            namespace=self.record.namespace,
            appset=self.record.appset,
            phase=phase or (OperationPhase.FAILED if failed else OperationPhase.SUCCEEDED),
            reason=reason,
            message=redact.mask(message),
            resources=resources,
            started_at=self.started_at,
            seconds=round(self.session.clock.monotonic() - self.started, 3),
            **self._status(deletion),
        )

    @staticmethod
    def _status(deletion: results.Deletion) -> dict[str, Any]:
        """Sync status and health of a removed Application: gone is in sync with Git."""
        if deletion.gone():
            sync_status, state = SyncStatus.SYNCED, health.Health.MISSING
        elif deletion in (
            results.Deletion.WOULD_DELETE,
            results.Deletion.WOULD_PRESERVE,
            results.Deletion.FAILED,
        ):
            sync_status, state = SyncStatus.OUT_OF_SYNC, health.Health.UNKNOWN
        else:  # kept: not compared
            sync_status, state = SyncStatus.UNKNOWN, health.Health.UNKNOWN
        return {"deletion": deletion, "sync_status": sync_status, "health": state}


def run_removal(session: sessions.Session, removed: Removed) -> results.AppResult:
    try:
        return _AppDelete(session, removed).run()
    except Exception as exc:  # noqa: BLE001 - one deletion's bug must not take the cluster down
        return results.AppResult(
            name=removed.name,
            cluster=session.cluster.name,
            appset=removed.record.appset,
            sync_status=SyncStatus.UNKNOWN,
            health=health.Health.UNKNOWN,
            phase=OperationPhase.ERROR,
            reason=failures.reason_for(exc, Reason.PRUNE_FAILED),
            message=failures.message(exc),
            deletion=results.Deletion.FAILED,
        )
