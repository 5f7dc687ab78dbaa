"""One Application's sync on one cluster, in phases: resolve secrets, diff, classify drift, plan,
execute the plan's steps (prune, apply per wave, hooks, wait for health), record the inventory,
and the verdict with its health; each failure ends the run with its own ``Reason``. Retried per
``syncPolicy.retry``.

Where it sits: ``fleet.reconcile.sync_cluster`` runs one ``AppSync`` per prepared Application
(``preparation``) on the cluster's thread pool, all sharing the cluster's ``sessions.Session``;
``removal`` reuses its secret resolution, steps and result for Applications removed from Git.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fleet import diff, errors, health, inventory, lifecycle, log, redact, results, waves
from fleet.clusters import client
from fleet.reconcile import events, failures, preparation, sessions
from fleet.status import OperationPhase, Reason, ResultCode, SyncStatus

_log = log.get_logger(__name__)

Ref = inventory.ObjectRef


def _annotations(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return ((obj or {}).get("metadata") or {}).get("annotations") or {}


def _version(api_version: str) -> str:
    return api_version.rsplit("/", 1)[-1]


@dataclass
class Row:
    """What is known about one object of an Application while it is reconciled."""

    ref: Ref
    api_version: str
    action: results.Action = results.Action.UNCHANGED
    status: SyncStatus = SyncStatus.SYNCED
    result: ResultCode | None = None
    message: str = ""
    diff: str = ""
    drift: bool = False
    wave: int = 0
    hook: str = ""


class AppSync:
    """Reconcile one Application on one cluster (runs on one thread of the cluster's pool)."""

    def __init__(self, session: sessions.Session, prepared: preparation.Prepared) -> None:
        self.session = session
        self.api = session.api
        self.settings = session.settings
        self.prepared = prepared
        self.work = prepared.work
        self.app = prepared.work.name
        self.started = session.clock.monotonic()
        self.started_at = results.now()
        # In sync, but applied again and waited for: the cluster runs again after a lost node.
        self.waited_again: set[Ref] = set()

    # -- the phases ---------------------------------------------------------------------------------

    def run(self) -> results.AppResult:
        """Sync this Application: refused before any request when it cannot be compared, else
        attempted, and attempted again per ``syncPolicy.retry``."""
        # refused: an invalid spec, a SOPS file that did not decrypt, an object its project denies
        if self.prepared.failure is not None:
            reason, message = self.prepared.failure
            return self._failed(reason, message)
        # refused: another fleet's inventory on the cluster has this Application's name
        other = self._other_fleet()
        if other is not None:
            return self._failed(
                Reason.SHARED_RESOURCE,
                f"application {self.app} on cluster {self.session.cluster.name} belongs to another fleet, "
                f"{other} (its inventory {inventory.INVENTORY_NAMESPACE}/{inventory.configmap_name(self.app)} "
                "says so): not synced; give it another name in one of the fleets",
            )
        # refused: the LIST of one of its resource types failed (nothing to compare with)
        for (group, kind), exc in self.session.list_errors.items():
            if any(
                Ref.from_object(o).group == group and Ref.from_object(o).kind == kind
                for o in self.prepared.objects
            ):
                return self._failed(
                    failures.reason_for(exc, Reason.DIFF_FAILED),
                    f"cannot list {kind}: {failures.message(exc)}",
                )
        # attempted (``_attempt``: the phases), and retried while the failure may pass
        return self._with_retries()

    def _attempt(self, attempt: int) -> results.AppResult:
        """One attempt, in phases; each failure ends it with its own Reason."""
        previous = self.session.inventories.get(self.app, inventory.Inventory())
        # 1. resolve secrets (and seal per cluster) just before the diff
        try:
            desired, secret_paths, always_apply = self.resolve()
        except Exception as exc:  # noqa: BLE001 - this Application fails; the others go on
            if isinstance(exc, errors.InputError) and not failures.is_secret_error(exc):
                reason = Reason.INVALID_SPEC
            else:
                reason = failures.reason_for(exc, Reason.SECRET_RESOLUTION_FAILED)
            return self._failed(reason, failures.message(exc), attempts=attempt)
        # 2. diff (desired against the live objects of the cluster-wide LISTs, and owned stale ones)
        regular = [o for o in desired if not waves.is_hook(o) and not waves.is_skipped(o)]
        live = self._live_view(desired, previous)
        owned_stale = self._owned_stale(regular, live, previous)
        try:
            app_diff = diff.diff_all(
                regular,
                live,
                extra=owned_stale,
                ignore=self.prepared.rules,
                secret_paths=secret_paths,
                text=True,
            )
        except Exception as exc:  # noqa: BLE001 - a broken ignore rule must fail only this app
            return self._failed(Reason.DIFF_FAILED, failures.message(exc), attempts=attempt)
        # 3. classify drift: what this sync applies (changed in Git, missing, secret-bearing, healed)
        rows, to_apply = self._classify(app_diff, regular, live, always_apply)
        #    (a retry, or a run again after a lost Ray node: also what the attempt before may have
        #    left its wave waiting for)
        if self.session.work.resumed or attempt > 1:
            self.waited_again = self._not_yet_healthy(rows, live)
            to_apply |= self.waited_again
        # 4. plan (phases, waves, hooks, prunes); a resource another Application owns may block it
        options = dataclasses.replace(self.prepared.policy.options, apply_out_of_sync_only=True)
        if options.flag("respect_ignore_differences") and self.prepared.rules:
            desired = [self._respect(o, live) for o in desired]
        try:
            the_plan = self._plan(desired, live, previous, options=options, to_apply=to_apply)
        except errors.FleetError as exc:
            return self._failed(Reason.INVALID_SPEC, failures.message(exc), attempts=attempt)
        self._note_skips(the_plan, rows)
        self._note_shared(the_plan, rows)
        if the_plan.blocked:
            owners = ", ".join(f"{s.ref} (owned by {s.owner})" for s in the_plan.shared)
            return self.finish(
                rows,
                live,
                phase=OperationPhase.FAILED,
                reason=Reason.SHARED_RESOURCE,
                message=f"FailOnSharedResource: {owners}",
                attempts=attempt,
            )
        # 5. execute the steps: prune, apply the wave, run its hooks, wait for health (``run_step``);
        #    a dry run validates on the server instead, a diff only compares
        needs = self._needs_operation(the_plan, to_apply)
        failure: failures.StepFailed | None = None
        deleted: set[Ref] = set()
        if needs and self.settings.kind is results.RunKind.SYNC:
            failure = self._execute(the_plan, rows, live, deleted)
        elif needs and self.settings.kind is results.RunKind.DRY_RUN:
            failure = self._dry_run(the_plan, rows)
        else:
            self._would(the_plan, rows, to_apply)
        # 6. record the inventory, also after a failed step (planned deletes not done stay listed)
        if self.settings.writes:
            unrecorded = self._record_inventory(the_plan, previous, deleted)
            if failure is None:
                failure = unrecorded
        # 7. the verdict, with the health of every object (``finish``)
        if the_plan.empty_prune_refused and failure is None:
            return self.finish(
                rows,
                live,
                phase=OperationPhase.FAILED,
                reason=Reason.EMPTY_PRUNE_REFUSED,
                message="automated sync refused to prune every resource (allowEmpty is false)",
                attempts=attempt,
            )
        if failure is not None:
            return self.finish(
                rows,
                live,
                phase=OperationPhase.FAILED,
                reason=failure.reason,
                message=failure.message,
                attempts=attempt,
            )
        if the_plan.shared:
            # Argo CD's SharedResourceWarning: the rest is synced, the shared objects are left to
            # the Application that keeps them, and this one stays OutOfSync.
            owners = ", ".join(
                f"{s.ref} is part of applications {s.owner} and {self.app}" for s in the_plan.shared
            )
            return self.finish(
                rows,
                live,
                phase=OperationPhase.SUCCEEDED,
                reason=Reason.SHARED_RESOURCE,
                message=f"SharedResourceWarning: {owners}; not applied here (FailOnSharedResource=true "
                "fails the sync instead)",
                attempts=attempt,
            )
        return self.finish(
            rows,
            live,
            phase=OperationPhase.SUCCEEDED,
            reason=Reason.SUCCEEDED,
            message=self._summary(rows),
            attempts=attempt,
        )

    def _other_fleet(self) -> lifecycle.FleetIdentity | None:
        """The fleet that wrote this Application's inventory, when it is not this run's fleet (an
        inventory without an identity is taken over: it predates fleet identities)."""
        mine = self.settings.fleet
        theirs = lifecycle.recorded_fleet(self.session.inventory_objects.get(self.app))
        if mine is None or theirs is None or theirs == mine:
            return None
        return theirs

    # -- retries ------------------------------------------------------------------------------------

    def _with_retries(self) -> results.AppResult:
        """Attempt, then attempt again after each delay of ``syncPolicy.retry`` while a sync fails
        for a reason that may pass and the cluster's time allows (live state read again first)."""
        delays = (
            self.prepared.policy.retry.delays()
            if (self.prepared.policy.retry and self.settings.retry)
            else []
        )
        attempt = 1
        while True:
            result = self._attempt(attempt)
            failed = result.phase in (OperationPhase.FAILED, OperationPhase.ERROR)
            if not (
                self.settings.writes and failed and result.reason.is_retryable() and attempt <= len(delays)
            ):
                return result
            delay = delays[attempt - 1]
            if self.session.remaining() < delay + 2 * sessions.DEADLINE_MARGIN:
                return result
            _log.info(
                "retrying application",
                extra={
                    "fields": {
                        "cluster": self.session.cluster.name,
                        "app": self.app,
                        "attempt": attempt + 1,
                        "delay": delay,
                        "reason": result.reason.value,
                    }
                },
            )
            self.session.clock.sleep(delay)
            attempt += 1
            try:
                self.session.refresh(self._refs_to_refresh())
            except Exception as exc:  # noqa: BLE001 - report as this attempt's failure
                return self._failed(
                    failures.reason_for(exc, Reason.DIFF_FAILED), failures.message(exc), attempts=attempt
                )

    def _refs_to_refresh(self) -> list[tuple[Ref, str]]:
        out = [
            (Ref.from_object(o), str(o["apiVersion"])) for o in self.prepared.objects if not waves.is_hook(o)
        ]
        previous = self.session.inventories.get(self.app)
        out.extend((e.ref, e.api_version) for e in (previous.entries if previous else ()))
        return out

    # -- secrets and the diff ------------------------------------------------------------------------

    def resolve(self) -> tuple[list[dict[str, Any]], dict[Ref, Any], set[Ref]]:
        """Resolve references per object; Secrets for sealed delivery become SealedSecrets."""
        from fleet.secrets import resolver as resolver_mod
        from fleet.secrets.sealed import delivery

        if self.work.shipped_files:
            from fleet.secrets.sops import provider as sops_provider

            sops_provider.register_shipped(self.work.shipped_files)
        out: list[dict[str, Any]] = []
        secret_paths: dict[Ref, Any] = {}
        always: set[Ref] = set()
        for obj in self.prepared.objects:
            ref = Ref.from_object(obj)
            if ref in self.prepared.sealed:
                self.session.check_time("sealing")
                sealed_ref = preparation.sealed_ref(ref)
                sealed_obj = delivery.seal_for_cluster(
                    obj,
                    cluster=self.session.cluster,
                    cert=self.session.certificate(),
                    resolver=self.session.resolution(),
                    live=self.session.get_live(sealed_ref),
                    live_secret=self.session.get_live(ref),
                )
                # The SealedSecret is what fleet applies and tracks: give it its own tracking id.
                sealed_obj = inventory.stamp(sealed_obj, self.app)
                out.append(sealed_obj)
                always.add(sealed_ref)
            elif resolver_mod.has_references(obj):
                resolved, paths = self.session.resolution().resolve_object(obj)
                out.append(resolved)
                secret_paths[ref] = sorted(paths, key=str)
                always.add(ref)
            else:
                out.append(obj)
        return out, secret_paths, always

    def _live_view(
        self, desired: Sequence[Mapping[str, Any]], previous: inventory.Inventory
    ) -> dict[Ref, dict[str, Any]]:
        refs = {Ref.from_object(o) for o in desired} | previous.refs()
        view = {}
        for ref in refs:
            obj = self.session.get_live(ref)
            if obj is not None:
                view[ref] = obj
        # Namespaces fleet creates (CreateNamespace) are unlabelled; the session listed all of them.
        if self.work.namespace:
            ns_ref = Ref("", "Namespace", "", self.work.namespace)
            ns = self.session.get_live(ns_ref)
            if ns is not None:
                view[ns_ref] = ns
        return view

    def _owned_stale(
        self,
        regular: Sequence[Mapping[str, Any]],
        live: Mapping[Ref, dict[str, Any]],
        previous: inventory.Inventory,
    ) -> list[Ref]:
        """Objects of the previous inventory that Git no longer has, still live and still this
        Application's: the diff shows them as extra (to prune)."""
        current = inventory.from_objects(regular)
        stale = [e.ref for e in inventory.diff(previous, current) if e.ref in live]
        return [r for r in stale if inventory.is_owned_by(live[r], self.app)]

    def _respect(self, obj: dict[str, Any], live: Mapping[Ref, dict[str, Any]]) -> dict[str, Any]:
        ref = Ref.from_object(obj)
        rules = diff.rules_for(self.prepared.rules, ref)
        if not rules or ref not in live:
            return obj
        return diff.respect_ignore_differences(obj, live[ref], rules)

    # -- classification -------------------------------------------------------------------------------

    def _classify(
        self,
        app_diff: diff.AppDiff,
        regular: Sequence[Mapping[str, Any]],
        live: Mapping[Ref, Mapping[str, Any]],
        always_apply: set[Ref],
    ) -> tuple[dict[Ref, Row], set[Ref]]:
        """One row per object; which of them this sync applies (Git changes, missing objects,
        secret-bearing objects that differ, and drift when selfHeal is on)."""
        by_ref = {Ref.from_object(o): o for o in regular}
        rows: dict[Ref, Row] = {}
        to_apply: set[Ref] = set()
        heal = self.prepared.policy.self_heal
        for result in app_diff.results:
            ref = result.ref
            obj = by_ref.get(ref)
            api_version = str((obj or live.get(ref) or {}).get("apiVersion") or "")
            row = Row(ref, api_version, wave=waves.wave(obj or live.get(ref) or {}))
            rows[ref] = row
            if result.kind is diff.DiffKind.UNCHANGED:
                continue
            row.diff = result.text
            row.status = SyncStatus.OUT_OF_SYNC
            if result.kind is diff.DiffKind.EXTRA:
                row.action = results.Action.PRUNE_SKIPPED
                row.message = "requires pruning"
                continue
            if result.kind is diff.DiffKind.MISSING:
                row.action = results.Action.CREATED
                to_apply.add(ref)
                continue
            wanted = _annotations(obj).get(preparation.DESIRED_HASH_ANNOTATION)
            applied = _annotations(live.get(ref)).get(preparation.DESIRED_HASH_ANNOTATION)
            row.action = results.Action.CONFIGURED
            if ref in always_apply:
                row.message = (
                    "holds secret references: re-applied whenever it differs (the backend is authoritative)"
                )
                to_apply.add(ref)
            elif wanted != applied:
                row.message = "changed in Git"
                to_apply.add(ref)
            else:
                row.drift = True
                if heal:
                    row.message = (
                        "changed by hand; healed (selfHeal)"
                        if self.settings.writes
                        else "changed by hand; selfHeal would heal it"
                    )
                    to_apply.add(ref)
                else:
                    row.action = results.Action.DRIFTED
                    row.message = "changed by hand; not healed (selfHeal is off)"
        return rows, to_apply

    def _not_yet_healthy(self, rows: Mapping[Ref, Row], live: Mapping[Ref, Mapping[str, Any]]) -> set[Ref]:
        """In a ``syncPolicy.retry`` attempt, or a cluster run again after its Ray node died
        (``ClusterWork.resumed``): the objects in sync with Git whose health has not settled. The
        attempt before may have applied them and failed (or died) before their wave waited for
        them; taken as done, this attempt would apply the next waves at once and end Synced but
        Progressing (issue 12). So they join the operation again: applied (unchanged: the same
        server-side apply changes nothing) and waited for in their wave, as the attempt before
        would have. Argo CD's retry runs the whole operation again, which waits for them too.
        Drifted objects stay as ``_classify`` decided; as in any sync operation, its hooks run."""
        return {
            ref
            for ref, row in rows.items()
            if row.action is results.Action.UNCHANGED
            and ref in live
            and not health.check(live[ref], config=self.settings.health).status.is_settled()
        }

    # -- plan -----------------------------------------------------------------------------------------

    def _plan(
        self,
        desired: Sequence[Mapping[str, Any]],
        live: Mapping[Ref, dict[str, Any]],
        previous: inventory.Inventory,
        *,
        options: waves.SyncOptions,
        to_apply: set[Ref],
    ) -> waves.SyncPlan:
        return waves.plan_sync(
            desired,
            live,
            app=self.app,
            previous=previous,
            policy=self.prepared.policy,
            options=options,
            prune=True if self.settings.prune else None,
            out_of_sync=to_apply,
            namespace=self.work.namespace,
            revision=self.work.revision,
            started_at=self.settings.started_at,
            claimed={ref: app for ref, app in self.session.claims.items() if app != self.app},
            released=self.session.released,
        )

    def _note_shared(self, the_plan: waves.SyncPlan, rows: dict[Ref, Row]) -> None:
        """Objects another Application keeps: OutOfSync here, never applied (SharedResourceWarning)."""
        for shared in the_plan.shared:
            row = rows.get(shared.ref)
            if row is None:
                continue
            row.action, row.status = results.Action.SKIPPED, SyncStatus.OUT_OF_SYNC
            row.message = (
                f"SharedResourceWarning: part of Application {shared.owner} too, which keeps it: not applied"
            )

    def _note_skips(self, the_plan: waves.SyncPlan, rows: dict[Ref, Row]) -> None:
        for skipped in the_plan.skipped:
            row = rows.get(skipped.ref)
            if row is None or row.action is not results.Action.PRUNE_SKIPPED:
                continue
            row.message = skipped.reason.value
            if skipped.reason is waves.SkipReason.NOT_OWNED:
                row.status = SyncStatus.SYNCED  # someone else's now: fleet forgets it

    @staticmethod
    def _needs_operation(the_plan: waves.SyncPlan, to_apply: set[Ref]) -> bool:
        """Whether a sync operation runs at all: something to apply (changed or missing) or to
        prune. An Application in sync costs no request beyond the cluster's LISTs, and its hooks
        do not run (as Argo CD's automated sync only operates on an OutOfSync Application)."""
        for item in the_plan.items():
            if item.kind is waves.ItemKind.PRUNE:
                return True
            if item.kind is waves.ItemKind.APPLY and (item.ref in to_apply or not item.exists):
                return True
        return False

    # -- execution ------------------------------------------------------------------------------------

    def _execute(
        self,
        the_plan: waves.SyncPlan,
        rows: dict[Ref, Row],
        live: dict[Ref, dict[str, Any]],
        deleted: set[Ref],
    ) -> failures.StepFailed | None:
        """Run the steps in order: prune, apply, wait for health; SyncFail hooks on failure."""
        failure: failures.StepFailed | None = None
        for step in the_plan.steps:
            try:
                self.session.check_time(f"{step}")
                self.run_step(step, rows, live, deleted)
            except failures.StepFailed as exc:
                failure = exc
            except failures.DeadlineExceeded as exc:
                failure = failures.StepFailed(Reason.TIMEOUT, failures.message(exc))
            if failure is not None:
                for row in rows.values():
                    if (
                        row.action in (results.Action.CREATED, results.Action.CONFIGURED)
                        and row.result is None
                    ):
                        row.action = results.Action.SKIPPED
                        row.message = "not applied: an earlier step failed"
                break
        if failure is not None and the_plan.on_failure:
            for step in the_plan.on_failure:
                try:
                    self.session.check_time("SyncFail hooks")
                    self.run_step(step, rows, live, deleted)
                except (failures.StepFailed, failures.DeadlineExceeded) as exc:
                    _log.warning(
                        "SyncFail hook failed",
                        extra={
                            "fields": {
                                "cluster": self.session.cluster.name,
                                "app": self.app,
                                "error": failures.message(exc),
                            }
                        },
                    )
                    break
        return failure

    def run_step(
        self, step: waves.Step, rows: dict[Ref, Row], live: dict[Ref, dict[str, Any]], deleted: set[Ref]
    ) -> None:
        """One step of the plan (one wave of one phase): prune, then apply its objects and create
        its hooks, then wait until they are healthy (hooks: complete)."""
        self._prune(step.prune, rows, live, deleted)
        waiting = self._apply_all(step.apply, rows, live)
        self._wait(waiting, rows, live)

    def _prune(
        self,
        items: Sequence[waves.Item],
        rows: dict[Ref, Row],
        live: dict[Ref, dict[str, Any]],
        deleted: set[Ref],
    ) -> None:
        for item in items:
            row = rows.setdefault(item.ref, Row(item.ref, str(item.obj.get("apiVersion") or "")))
            try:
                self.api.delete(
                    row.api_version or str(item.obj.get("apiVersion")),
                    item.ref.kind,
                    item.ref.name,
                    item.ref.namespace or None,
                    propagation_policy=item.options.propagation_policy.value.title(),
                )
            except Exception as exc:  # noqa: BLE001 - reported per object and for the app
                row.action, row.result, row.message = (
                    results.Action.FAILED,
                    ResultCode.SYNC_FAILED,
                    failures.message(exc),
                )
                raise failures.StepFailed(
                    failures.reason_for(exc, Reason.PRUNE_FAILED),
                    f"pruning {item.ref} failed: {failures.message(exc)}",
                ) from exc
            deleted.add(item.ref)
            live.pop(item.ref, None)
            self.session.set_live(item.ref, None)
            row.action, row.status, row.result, row.message = (
                results.Action.PRUNED,
                SyncStatus.SYNCED,
                ResultCode.PRUNED,
                "pruned",
            )

    def _apply_all(
        self, items: Sequence[waves.Item], rows: dict[Ref, Row], live: dict[Ref, dict[str, Any]]
    ) -> list[waves.Item]:
        """Apply the step's objects and create its hooks; returns what to wait for."""
        waiting: list[waves.Item] = []
        for item in items:
            if item.kind is waves.ItemKind.HOOK:
                row = rows.setdefault(item.ref, Row(item.ref, str(item.obj.get("apiVersion"))))
                row.action, row.hook, row.wave = (
                    results.Action.HOOK,
                    (item.phase.value if item.phase else ""),
                    waves.wave(item.obj),
                )
                if not item.create:
                    waiting.append(item)
                    continue
                try:
                    if item.recreate:
                        self._delete_and_wait(item)
                    applied = self.api.apply(item.obj, force=True)
                except Exception as exc:  # noqa: BLE001
                    row.result, row.message = ResultCode.SYNC_FAILED, failures.message(exc)
                    raise failures.StepFailed(
                        failures.reason_for(exc, Reason.HOOK_FAILED),
                        f"hook {item.ref} failed: {failures.message(exc)}",
                    ) from exc
                live[item.ref] = applied
                self.session.set_live(item.ref, applied)
                waiting.append(item)
                continue
            known = rows.get(item.ref)
            if known is not None:
                row = known
            else:  # a namespace created by CreateNamespace
                row = rows[item.ref] = Row(item.ref, str(item.obj.get("apiVersion")))
                row.action = results.Action.CONFIGURED if item.exists else results.Action.CREATED
                row.message = "CreateNamespace"
            try:
                applied = self._apply(item, live.get(item.ref))
            except Exception as exc:  # noqa: BLE001
                row.action, row.status, row.result, row.message = (
                    results.Action.FAILED,
                    SyncStatus.OUT_OF_SYNC,
                    ResultCode.SYNC_FAILED,
                    failures.message(exc),
                )
                raise failures.StepFailed(
                    failures.reason_for(exc, Reason.APPLY_FAILED),
                    f"applying {item.ref} failed: {failures.message(exc)}",
                ) from exc
            live[item.ref] = applied
            self.session.set_live(item.ref, applied)
            row.status, row.result = SyncStatus.SYNCED, ResultCode.SYNCED
            if row.action is results.Action.UNCHANGED and item.ref not in self.waited_again:
                row.action = results.Action.CONFIGURED
            waiting.append(item)
        return waiting

    def _apply(self, item: waves.Item, live_obj: Mapping[str, Any] | None) -> dict[str, Any]:
        if item.server_side_apply:
            return self.api.apply(item.obj, force=True)
        # Replace=true or ServerSideApply=false: a whole-object update (or a create).
        if live_obj is None:
            return self.api.create(item.obj)
        body = copy.deepcopy(dict(item.obj))
        body.setdefault("metadata", {})["resourceVersion"] = (live_obj.get("metadata") or {}).get(
            "resourceVersion"
        )
        return self.api.replace(body)

    def _delete_and_wait(self, item: waves.Item) -> None:
        api_version = str(item.obj.get("apiVersion"))
        self.api.delete(
            api_version,
            item.ref.kind,
            item.ref.name,
            item.ref.namespace or None,
            propagation_policy=client.PropagationPolicy.BACKGROUND,
        )
        interval = self.settings.poll_interval
        while self.api.get(api_version, item.ref.kind, item.ref.name, item.ref.namespace or None) is not None:
            self.session.check_time(f"recreating hook {item.ref}")
            self.session.clock.sleep(interval)
            interval = min(1.0, interval * 2)

    def _wait(
        self, items: Sequence[waves.Item], rows: dict[Ref, Row], live: dict[Ref, dict[str, Any]]
    ) -> None:
        """Wait until every object of the step is healthy (hooks: complete), or fail the step."""
        if not items:
            return
        deadline = self.session.clock.monotonic() + self.settings.health_timeout
        if self.session.deadline is not None:
            deadline = min(deadline, self.session.deadline)
        interval = self.settings.poll_interval
        statuses = {item.ref: health.check(live.get(item.ref), config=self.settings.health) for item in items}
        while True:
            pending = [i for i in items if not statuses[i.ref].status.is_settled()]
            degraded = [i for i in items if statuses[i.ref].status is health.Health.DEGRADED]
            if degraded or not pending:
                break
            if self.session.clock.monotonic() + interval > deadline:
                names = ", ".join(str(i.ref) for i in pending[:5])
                raise failures.StepFailed(
                    Reason.TIMEOUT, f"not healthy within {self.settings.health_timeout:g}s: {names}"
                )
            self.session.clock.sleep(interval)
            interval = min(1.0, interval * 2)
            for item in pending:
                api_version = str(item.obj.get("apiVersion"))
                try:
                    obj = self.api.get(api_version, item.ref.kind, item.ref.name, item.ref.namespace or None)
                except Exception as exc:  # noqa: BLE001
                    raise failures.StepFailed(
                        failures.reason_for(exc, Reason.HEALTH_CHECK_FAILED),
                        f"reading {item.ref} failed: {failures.message(exc)}",
                    ) from exc
                if obj is not None:
                    live[item.ref] = obj
                    self.session.set_live(item.ref, obj)
                statuses[item.ref] = health.check(obj, config=self.settings.health)
        # Hooks: delete per policy once they completed; a failed hook fails the step.
        failed_hooks = []
        for item in items:
            status = statuses[item.ref]
            if item.kind is not waves.ItemKind.HOOK:
                continue
            ok = status.status is not health.Health.DEGRADED
            row = rows[item.ref]
            row.result = ResultCode.SYNCED if ok else ResultCode.SYNC_FAILED
            row.message = status.message or ("completed" if ok else "failed")
            if not ok:
                failed_hooks.append(item)
            wanted = waves.HookDeletePolicy.HOOK_SUCCEEDED if ok else waves.HookDeletePolicy.HOOK_FAILED
            if wanted in item.delete_policies:
                try:
                    self.api.delete(
                        str(item.obj.get("apiVersion")),
                        item.ref.kind,
                        item.ref.name,
                        item.ref.namespace or None,
                        propagation_policy=client.PropagationPolicy.BACKGROUND,
                    )
                    live.pop(item.ref, None)
                    self.session.set_live(item.ref, None)
                    row.message += f"; deleted ({wanted.value})"
                except Exception as exc:  # noqa: BLE001 - the hook ran; only its clean-up failed
                    row.message += f"; delete failed: {failures.message(exc)}"
        if failed_hooks:
            names = ", ".join(str(i.ref) for i in failed_hooks)
            raise failures.StepFailed(Reason.HOOK_FAILED, f"hook failed: {names}")
        bad = [
            i
            for i in items
            if i.kind is not waves.ItemKind.HOOK and statuses[i.ref].status is health.Health.DEGRADED
        ]
        if bad:
            detail = "; ".join(f"{i.ref}: {statuses[i.ref].message}" for i in bad[:5])
            raise failures.StepFailed(Reason.HEALTH_CHECK_FAILED, f"degraded: {detail}")

    def _dry_run(self, the_plan: waves.SyncPlan, rows: dict[Ref, Row]) -> failures.StepFailed | None:
        """Everything but the writes: the API server validates each change (server-side dry run)
        where it can; objects in a namespace or of a kind this sync would create first are
        checked locally only (the server cannot see what does not exist yet)."""
        failure: failures.StepFailed | None = None
        for item in the_plan.items():
            row = rows.get(item.ref)
            if item.kind is waves.ItemKind.HOOK:
                row = rows.setdefault(item.ref, Row(item.ref, str(item.obj.get("apiVersion"))))
                row.action, row.hook, row.message = (
                    results.Action.HOOK,
                    item.phase.value if item.phase else "",
                    "would run",
                )
                continue
            if row is None:
                action = results.Action.CONFIGURED if item.exists else results.Action.CREATED
                row = rows[item.ref] = Row(
                    item.ref,
                    str(item.obj.get("apiVersion")),
                    action=action,
                    message="CreateNamespace",
                    status=SyncStatus.OUT_OF_SYNC,
                )
            try:
                self.session.check_time("dry run")
                if item.kind is waves.ItemKind.PRUNE:
                    self.api.delete(
                        row.api_version,
                        item.ref.kind,
                        item.ref.name,
                        item.ref.namespace or None,
                        dry_run=True,
                    )
                elif item.server_side_apply:
                    self.api.apply(item.obj, force=True, dry_run=True)
            except (client.NotFound, client.UnknownKind):
                pass  # its namespace or CRD comes with this sync: validated locally only
            except Exception as exc:  # noqa: BLE001
                row.action, row.result, row.message = (
                    results.Action.FAILED,
                    ResultCode.SYNC_FAILED,
                    failures.message(exc),
                )
                if failure is None:
                    failure = failures.StepFailed(
                        failures.reason_for(exc, Reason.APPLY_FAILED),
                        f"dry run of {item.ref} failed: {failures.message(exc)}",
                    )
                continue
            self._mark_would(row, item.kind is waves.ItemKind.PRUNE)
        self._would(the_plan, rows, set())
        return failure

    def _would(self, the_plan: waves.SyncPlan, rows: dict[Ref, Row], to_apply: set[Ref]) -> None:
        """Compare only (diff, or nothing to do): say what a sync would do."""
        if self.settings.kind is results.RunKind.SYNC:
            return
        prune_refs = {i.ref for i in the_plan.items() if i.kind is waves.ItemKind.PRUNE}
        for row in rows.values():
            if row.action in (
                results.Action.CREATED,
                results.Action.CONFIGURED,
                results.Action.PRUNE_SKIPPED,
            ):
                if row.action is results.Action.PRUNE_SKIPPED and row.ref not in prune_refs:
                    continue
                self._mark_would(row, row.ref in prune_refs)

    @staticmethod
    def _mark_would(row: Row, prune: bool) -> None:
        if row.action is results.Action.UNCHANGED:
            return
        if prune:
            row.action = results.Action.WOULD_PRUNE
        elif row.action is results.Action.CREATED:
            row.action = results.Action.WOULD_CREATE
        elif row.action is results.Action.CONFIGURED:
            row.action = results.Action.WOULD_CONFIGURE
        row.status = SyncStatus.OUT_OF_SYNC

    # -- inventory ------------------------------------------------------------------------------------

    def _record_inventory(
        self, the_plan: waves.SyncPlan, previous: inventory.Inventory, deleted: set[Ref]
    ) -> failures.StepFailed | None:
        """Write the inventory ConfigMap when it changed; the failure to write it, if any."""
        session = self.session
        # Planned deletes that did not happen (failed, or never reached) stay listed; stale
        # objects the plan let go of (someone else's now) are forgotten.
        not_deleted = [
            i.ref for i in the_plan.items() if i.kind is waves.ItemKind.PRUNE and i.ref not in deleted
        ]
        record = inventory.after_prune(the_plan.inventory, the_plan.stale, not_deleted=not_deleted)
        configmap = lifecycle.inventory_configmap(
            self.app,
            record,
            appset=self.work.appset,
            applications_sync=self.work.applications_sync,
            cascade=self.work.cascade,
            namespace=self.work.namespace,
            hooks=lifecycle.delete_hooks(self.work.manifests),
            fleet=self.settings.fleet,
        )
        if record != previous or lifecycle.differs(session.inventory_objects.get(self.app), configmap):
            try:
                session.check_time("recording the inventory")
                session.ensure_inventory_namespace()
                written = self.api.apply(configmap, force=True)
                session.remember(written)
                session.inventories[self.app] = record
                session.inventory_objects[self.app] = written
            except Exception as exc:  # noqa: BLE001 - the sync happened; say the record failed
                return failures.StepFailed(
                    failures.reason_for(exc, Reason.APPLY_FAILED),
                    f"recording the inventory failed: {failures.message(exc)}",
                )
        return None

    # -- results -----------------------------------------------------------------------------------

    def _summary(self, rows: Mapping[Ref, Row]) -> str:
        counts: dict[str, int] = {}
        for row in rows.values():
            if row.action is not results.Action.UNCHANGED:
                counts[row.action.value] = counts.get(row.action.value, 0) + 1
        if not counts:
            return "in sync"
        return ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))

    def finish(
        self,
        rows: Mapping[Ref, Row],
        live: Mapping[Ref, Mapping[str, Any]],
        *,
        phase: OperationPhase,
        reason: Reason,
        message: str,
        attempts: int,
    ) -> results.AppResult:
        resources = []
        statuses = []
        ordered = sorted(
            rows.values(), key=lambda r: (r.hook != "", r.wave, waves.kind_rank(r.ref.kind), r.ref)
        )
        states = {
            row.ref: health.check(live.get(row.ref), config=self.settings.health)
            for row in ordered
            if row.action
            not in (results.Action.PRUNED, results.Action.WOULD_PRUNE, results.Action.PRUNE_SKIPPED)
        }
        recent = self._recent_events(live, states)
        for row in ordered:
            state = states.get(row.ref)
            if state is not None and not row.hook:
                statuses.append(state)
            resources.append(
                results.ResourceResult(
                    group=row.ref.group,
                    version=_version(row.api_version),
                    kind=row.ref.kind,
                    namespace=row.ref.namespace,
                    name=row.ref.name,
                    action=row.action,
                    status=row.status,
                    health=state.status if state else None,
                    health_message=redact.mask(state.message) if state else "",
                    result=row.result,
                    message=redact.mask(row.message),
                    diff=redact.mask(row.diff),
                    drift=row.drift,
                    wave=row.wave,
                    hook=row.hook,
                    events=recent.get(row.ref, ()),
                )
            )
        sync_status = (
            SyncStatus.OUT_OF_SYNC
            if any(r.status is SyncStatus.OUT_OF_SYNC for r in resources)
            else SyncStatus.SYNCED
        )
        return results.AppResult(
            name=self.app,
            cluster=self.session.cluster.name,
            project=self.work.project,
            namespace=self.work.namespace,
            appset=self.work.appset,
            revision=self.work.revision,
            sync_status=sync_status,
            health=health.aggregate(statuses),
            phase=phase,
            reason=reason,
            message=redact.mask(message),
            resources=tuple(resources),
            started_at=self.started_at,
            seconds=round(self.session.clock.monotonic() - self.started, 3),
            attempts=attempts,
        )

    def _recent_events(
        self, live: Mapping[Ref, Mapping[str, Any]], states: Mapping[Ref, health.HealthStatus]
    ) -> dict[Ref, tuple[results.ObjectEvent, ...]]:
        """Recent Warning events of the Degraded and Progressing objects: one LIST per namespace
        that holds one, none when everything is healthy (``fleet.reconcile.events``)."""
        unhealthy = [
            ref
            for ref, state in states.items()
            if state.status in (health.Health.DEGRADED, health.Health.PROGRESSING)
            and live.get(ref) is not None
        ]
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        out: dict[Ref, tuple[results.ObjectEvent, ...]] = {}
        for ref in unhealthy:
            namespace = ref.namespace or "default"
            if namespace not in by_namespace:
                by_namespace[namespace] = self.session.warning_events(namespace)
            found = events.about(live[ref], by_namespace[namespace])
            if found:
                out[ref] = found
        return out

    def _failed(self, reason: Reason, message: str, *, attempts: int = 1) -> results.AppResult:
        return failures.did_not_run(
            self.work,
            cluster=self.session.cluster.name,
            reason=reason,
            message=message,
            started_at=self.started_at,
            seconds=self.session.clock.monotonic() - self.started,
            attempts=attempts,
        )


def run_app(session: sessions.Session, prepared: preparation.Prepared) -> results.AppResult:
    try:
        return AppSync(session, prepared).run()
    except Exception as exc:  # noqa: BLE001 - one Application's bug must not take the cluster down
        _log.debug(
            "application failed unexpectedly",
            extra={
                "fields": {
                    "cluster": session.cluster.name,
                    "app": prepared.work.name,
                    "error": failures.message(exc),
                }
            },
        )
        reason = failures.reason_for(
            exc, Reason.TIMEOUT if isinstance(exc, failures.DeadlineExceeded) else Reason.APPLY_FAILED
        )
        return failures.did_not_run(
            prepared.work, cluster=session.cluster.name, reason=reason, message=failures.message(exc)
        )
