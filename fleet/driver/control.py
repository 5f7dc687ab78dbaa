"""Phase 6's change control: the gates between rollout steps, where each rollout stands for the
next run, and automatic rollback of a failed step (issue 13).

Where it sits: inside the fan-out (``fanout.run_waves``), between waves. ``rollout.Progress`` asks
``Control.gate`` before a step starts: a sync window that blocks an Application of the step
(``schedule.RunPlan.blocked``), then the gates of ``fleet.gates`` (abort, soak, approval,
Prometheus metric; a soak or metric gate may be waited out within ``--gate-wait`` on the
injected clock, ``fleet.clocks``). After each wave the fan-out tells ``after_wave`` what ran and
which steps completed, and asks ``rollbacks_due`` which failed steps to roll back: each is a
frozen ``StepRollback`` whose Applications were rendered again at their last good revision with
phase 4's ``rendering.render_one``; the fan-out runs it and hands the results to ``rolled_back``. At the
end ``finish`` gives the rollouts' results with what rollback did and where each rollout stands
(``RolloutPosition``), which the status store writes with the run (``recording``).

What the run reads of the status store's past (where the rollouts stood, approvals and aborts,
each Application's last Synced and Healthy revision) comes in as a ``History`` from the caller
(``recording.history``); a run without one has no past: nothing approved, nothing to roll back to.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from fleet import clocks, errors, log, reconcile, redact, results, rollback, rollout, store
from fleet import gates as step_gates
from fleet.driver import rendering, schedule
from fleet.driver import request as run_request
from fleet.health import Health
from fleet.status import Reason, SyncStatus
from fleet.store import model as store_model

_log = log.get_logger(__name__)

Key = run_request.Key


@dataclasses.dataclass(frozen=True)
class History:
    """What a run reads of the status store's past: where the rollouts of ``fleet`` stand (with
    their approvals and aborts) and each Application's last Synced and Healthy revision.

    Parameters:
        fleet: the fleet's key (``recording.fleet_key``), under which the store keeps its rollouts.
        db: the status store; None: no past (a run that records nothing may still pass one).
    """

    fleet: str
    db: store.Store | None = None

    def rollouts(self) -> dict[str, store_model.RolloutRecord]:
        if self.db is None or not self.fleet:
            return {}
        with contextlib.suppress(errors.FleetError):  # a store not written yet has no rollouts
            return {r.rollout: r for r in self.db.rollouts(self.fleet)}
        return {}

    def last_good(self, key: Key) -> str | None:
        if self.db is None:
            return None
        try:
            found = self.db.last_good(cluster=key[0], app=key[1])
        except errors.FleetError:
            return None
        return found[0].revision if found else None


@dataclasses.dataclass(frozen=True)
class StepRollback:
    """A failed step's rollback, before it runs: the plan whose works are its Applications
    rendered at their last good revisions (``keys``), what each goes back to, and the entries of
    those that cannot go back (and why)."""

    rollout: str
    step: int
    steps: int
    run_plan: schedule.RunPlan
    keys: tuple[Key, ...]
    targets: Mapping[Key, rollback.Target]
    not_possible: tuple[results.Rollback, ...]

    @property
    def label(self) -> str:
        return f"rolling back {self.rollout} step {self.step}"


class Control:
    """The run's change control between waves (see the module docstring).

    Parameters:
        run_plan: the run's plan (phase 5).
        history: what the run reads of the status store's past.
        gate_wait: seconds a run may wait at soak and metric gates before it holds.
        kind: the run's kind: only a sync rolls back.
        clock: the clock of gates and waits (default: ``fleet.clocks.current()``).
    """

    def __init__(
        self,
        run_plan: schedule.RunPlan,
        *,
        history: History | None = None,
        gate_wait: float = 0.0,
        kind: results.RunKind = results.RunKind.SYNC,
        clock: clocks.Clock | None = None,
    ) -> None:
        self.plan = run_plan
        self.history = history or History(fleet="")
        self.gate_wait = gate_wait
        self.kind = kind
        self.clock = clock or clocks.current()
        self.records: dict[str, store_model.RolloutRecord] = (
            self.history.rollouts() if run_plan.schedule.rollouts else {}
        )
        self.passed: dict[str, int] = {}  # rollout -> the highest step whose gate passed
        self.completed: dict[str, dict[int, float]] = {}  # rollout -> step -> first completion
        self.held: dict[str, tuple[int, str]] = {}  # rollout -> (step, what holds it)
        self.ran: set[Key] = set()
        self.rollbacks: dict[str, list[results.Rollback]] = {}

    # -- gates -------------------------------------------------------------------------------

    def _same(self, name: str) -> store_model.RolloutRecord | None:
        record = self.records.get(name)
        if record is not None and record.position.fingerprint == self.plan.fingerprints.get(name):
            return record
        return None

    def _completed_at(self, name: str, step: int) -> float | None:
        if step in self.completed.get(name, {}):
            return self.completed[name][step]
        record = self._same(name)
        return record.position.completed.get(step) if record is not None else None

    def _planned(self, name: str) -> rollout.Rollout:
        return next(r for r in self.plan.schedule.rollouts if r.name == name)

    def gate(self, name: str, step: int) -> str | None:
        """None when step ``step`` of rollout ``name`` may start; else what holds it."""
        planned = self._planned(name).steps[step - 1]
        blocked = [key for key in planned.keys if key in self.plan.blocked]
        if blocked:
            first = blocked[0]
            message = (
                f"sync window: {first[1]} on {first[0]}: {self.plan.blocked[first]}"
                f" ({len(blocked)} of {len(planned.keys)} Applications of the step blocked)"
            )
            self.held[name] = (step, message)
            return message
        spec = self.plan.gate_specs.get(name, step_gates.GateSpec())
        waited = 0.0
        while True:
            decision = step_gates.decide(
                spec,
                step=step,
                fingerprint=self.plan.fingerprints.get(name, ""),
                record=self.records.get(name),
                previous_completed_at=self._completed_at(name, step - 1),
                now=self.clock.time(),
            )
            if decision.open:
                self.passed[name] = max(self.passed.get(name, 0), step)
                return None
            waits = decision.kind in (step_gates.GateKind.SOAK, step_gates.GateKind.METRIC)
            if waits and decision.wait > 0 and waited + decision.wait <= self.gate_wait:
                _log.info(
                    f"rollout {name}: waiting {decision.wait:.0f}s before step {step}: {decision.message}",
                    extra={"fields": {"rollout": name, "step": step, "gate": str(decision.kind)}},
                )
                self.clock.sleep(decision.wait)
                waited += decision.wait
                continue
            self.held[name] = (step, decision.message)
            _log.info(
                f"rollout {name} held at step {step}: {decision.message}",
                extra={"fields": {"rollout": name, "step": step, "gate": str(decision.kind)}},
            )
            return decision.message

    # -- between waves -----------------------------------------------------------------------

    def with_ready(
        self, run_plan: schedule.RunPlan, merged: Mapping[str, results.ClusterResult]
    ) -> schedule.RunPlan:
        """The plan whose workers know which Applications of their cluster already ended Synced
        and Healthy in an earlier wave (dependencies met)."""
        ready = {name: frozenset(a.name for a in result.apps if a.ok) for name, result in merged.items()}
        if not any(ready.values()):
            return run_plan
        return dataclasses.replace(run_plan, ready=ready)

    def after_wave(self, progress: rollout.Progress, wave: rollout.Wave) -> None:
        """What a wave ran, and the steps that completed (the first completion counts: soak
        times run from it, across runs)."""
        self.ran.update(wave.keys)
        now = self.clock.time()
        for found in progress.results():
            for step in found.steps:
                if step.state is results.StepState.COMPLETED:
                    first = self._completed_at(found.name, step.step)
                    self.completed.setdefault(found.name, {})[step.step] = first if first is not None else now
                    self.passed[found.name] = max(self.passed.get(found.name, 0), step.step)

    # -- automatic rollback ------------------------------------------------------------------

    def rollbacks_due(self, progress: rollout.Progress, wave: rollout.Wave) -> list[StepRollback]:
        """The steps of this wave that failed in rollouts with automatic rollback, each with its
        Applications rendered again at their last good revisions (a sync only)."""
        if self.kind is not results.RunKind.SYNC:
            return []
        out: list[StepRollback] = []
        for found in progress.results():
            spec = self.plan.gate_specs.get(found.name, step_gates.GateSpec())
            if not spec.auto_rollback or found.name in self.rollbacks or not found.stopped_at:
                continue
            if found.steps[found.stopped_at - 1].state is not results.StepState.FAILED:
                continue
            if not any(p.rollout == found.name and p.step == found.stopped_at for p in wave.positions):
                continue
            out.append(self._prepare(found))
        return out

    def _prepare(self, found: results.RolloutResult) -> StepRollback:
        step = found.stopped_at
        planned = self._planned(found.name).steps[step - 1]
        keys = [key for key in planned.keys if key in self.ran and key not in self.plan.driver_results]
        not_possible: list[results.Rollback] = []
        works: dict[Key, reconcile.AppWork] = {}
        targets: dict[Key, rollback.Target] = {}
        for key in keys:
            work = self.plan.works[key]
            target = rollback.plan_one(
                cluster=key[0], app=key[1], current=work.revision, last_good=self.history.last_good(key)
            )
            item = self.plan.rendered.get(key)
            if target.possible and item is not None and self.plan.checkouts is not None:
                # phase 4 again, for this Application pinned at its last good revision
                again = rendering.render_one(
                    dataclasses.replace(
                        item.selected, app=rollback.pinned(item.selected.app, target.to_revision)
                    ),
                    self.plan.checkouts,
                    None,
                )
                if again.failure is not None:
                    target = dataclasses.replace(
                        target,
                        to_revision="",
                        message=f"revision {rollback.short(target.to_revision)} could not be rendered again: "
                        f"{again.failure.message}",
                    )
                else:
                    works[key] = dataclasses.replace(
                        work,
                        manifests=again.manifests,
                        revision=again.revision,
                        shipped_files=dict(again.shipped),
                    )
            targets[key] = target
            if not target.possible:
                not_possible.append(
                    results.Rollback(
                        cluster=key[0],
                        app=key[1],
                        step=step,
                        from_revision=work.revision,
                        message=target.message,
                    )
                )
        self.rollbacks[found.name] = list(not_possible)  # a rollout rolls back once per run
        return StepRollback(
            rollout=found.name,
            step=step,
            steps=len(found.steps),
            run_plan=dataclasses.replace(self.plan, works={**self.plan.works, **works}),
            keys=tuple(sorted(works)),
            targets=targets,
            not_possible=tuple(not_possible),
        )

    def rolled_back(
        self, done: StepRollback, got: Sequence[results.ClusterResult]
    ) -> list[results.ClusterResult]:
        """The rollback's cluster results, each Application said to be rolled back (and whether
        it became Synced and Healthy again); what rollback did is kept for ``finish``."""
        entries = list(done.not_possible)
        rolled: list[results.ClusterResult] = []
        for cluster_result in got:
            apps = []
            for app in cluster_result.apps:
                key = (cluster_result.cluster, app.name)
                target = done.targets[key]
                back = app.sync_status is SyncStatus.SYNCED and app.health is Health.HEALTHY
                text = (
                    f"step {done.step} failed; rolled back from {rollback.short(target.from_revision)} to "
                    f"{rollback.short(target.to_revision)}, its last Synced and Healthy revision"
                )
                if not back:
                    text += f", but it did not become Synced and Healthy: {app.reason.value}: {app.message}"
                entries.append(
                    results.Rollback(
                        cluster=key[0],
                        app=key[1],
                        step=done.step,
                        from_revision=target.from_revision,
                        to_revision=target.to_revision,
                        ok=back,
                        message=redact.mask(text),
                    )
                )
                apps.append(
                    app.model_copy(
                        update={
                            "reason": Reason.ROLLED_BACK if back else app.reason,
                            "message": redact.mask(text),
                            "rollout": results.AppRollout(
                                rollout=done.rollout,
                                step=done.step,
                                steps=done.steps,
                                state=results.RolloutState.ROLLED_BACK,
                                message=redact.mask(text),
                            ),
                        }
                    )
                )
            rolled.append(cluster_result.model_copy(update={"apps": tuple(apps)}))
        self.rollbacks[done.rollout] = sorted(entries, key=lambda e: (e.cluster, e.app))
        return rolled

    # -- after the waves ---------------------------------------------------------------------

    def finish(self, found: Sequence[results.RolloutResult]) -> tuple[results.RolloutResult, ...]:
        """The rollouts' results with where each stands now, and what rollback did."""
        out = []
        for result in found:
            update: dict[str, Any] = {}
            entries = self.rollbacks.get(result.name)
            if entries is not None:
                back = sum(1 for e in entries if e.ok)
                if back:
                    summary = (
                        f"rolled back {back} of {len(entries)} Application(s) to their last Synced and "
                        "Healthy revision"
                    )
                else:
                    summary = "nothing was rolled back: " + (
                        entries[0].message if entries else "no Application of the step ran"
                    )
                update["rollbacks"] = tuple(entries)
                update["message"] = f"{result.message}; {summary}" if result.message else summary
            fingerprint = self.plan.fingerprints.get(result.name)
            if self.history.fleet and result.strategy and fingerprint:
                record = self.records.get(result.name)
                held_at, gate = self.held.get(result.name, (0, ""))
                update["position"] = step_gates.position_after(
                    record.position if record is not None else None,
                    fleet=self.history.fleet,
                    fingerprint=fingerprint,
                    steps=len(result.steps),
                    passed=self.passed.get(result.name, 0),
                    completed=self.completed.get(result.name, {}),
                    held_at=held_at,
                    gate=gate,
                )
            out.append(result.model_copy(update=update) if update else result)
        return tuple(out)


__all__ = ["Control", "History", "StepRollback"]
