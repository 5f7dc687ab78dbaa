"""Progressive rollouts: which step and batch each Application of a run belongs to, and when the
next step may start.

Where it sits: in the driver (``fleet.driver``): planned with the run (``schedule``), after
generation and selection, and followed wave by wave by the fan-out (``fanout``). ``plan`` turns the run's Applications and the strategies (an ApplicationSet's
``spec.strategy.type: RollingSync``, or ``fleet sync --rollout`` cluster label selectors) into a
``Schedule``. ``Progress`` then hands the driver one wave of Applications at a time, and decides
from how the wave's Applications ended whether each rollout may go on. Both are pure: the driver
runs the fan-outs and tells ``Progress`` what happened, and table tests drive them directly.

Semantics (Argo CD's Progressive Syncs, ``appset-semantics.md`` §11):

- RollingSync steps select the generated Applications by their LABELS with ``matchExpressions``
  (ANDed; only ``In`` and ``NotIn``: ``In`` needs the label present with one of the values,
  ``NotIn`` takes an absent label or another value). An Application selected by several steps
  belongs to the first; one selected by none is never synced by the rollout (Argo CD: manual sync
  only; fleet: reported as skipped, synced only when ``--app`` names it).
- ``maxUpdate`` (int or percent of the step's Applications, default all): a percent rounds down
  but a non-zero percent gives at least 1; ``0`` / ``0%`` updates none, so the rollout waits at
  that step. Fleet runs a step's Applications in batches of that size, each batch Synced and
  Healthy before the next.
- Step n+1 starts only when every Application of steps <= n is Synced and Healthy. One that is
  not stops its rollout: later batches and steps do not start (fleet is stricter than Argo CD,
  which keeps updating a step while maxUpdate slots are free).
- Every RollingSync ApplicationSet rolls out on its own; Applications outside any rollout
  (AllAtOnce, plain Applications) go in the first wave.
- ``--rollout SELECTOR`` (repeatable, in order) stages the whole run by CLUSTER labels instead
  (it replaces the ApplicationSets' strategies for that run); ``--max-update`` batches a step by
  clusters: all Applications of one cluster go in the same batch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from fleet import argo, errors, results
from fleet.clusters import selectors
from fleet.status import Reason

Key = tuple[str, str]  # (cluster, Application)

ROLLING_SYNC = "RollingSync"
ALL_AT_ONCE = "AllAtOnce"
CLI_ROLLOUT = "--rollout"
_PERCENT = re.compile(r"^(\d+)%$")
_INT = re.compile(r"^\d+$")


class InvalidRolloutConfig(errors.InputError):
    """A rollout strategy that cannot be followed (Argo CD's InvalidRolloutConfig condition)."""


class Target(StrEnum):
    """Whose labels a rollout's steps select on."""

    APPLICATION = "application"  # the generated Application's labels (RollingSync)
    CLUSTER = "cluster"  # the destination cluster's labels (--rollout)


@dataclass(frozen=True)
class Candidate:
    """One Application of the run, as the rollout planner sees it."""

    cluster: str
    app: str
    appset: str = ""  # "" for a plain Application
    app_labels: Mapping[str, str] = field(default_factory=dict)
    cluster_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> Key:
        return (self.cluster, self.app)


MaxUpdate = int | str | None  # an int, a "N%" string, or None (every Application at once)


@dataclass(frozen=True)
class StepSpec:
    """One step as written: what selects its Applications, and how many go at once."""

    selector: selectors.Selector
    max_update: MaxUpdate = None

    @property
    def text(self) -> str:
        return str(self.selector) or "<everything>"


@dataclass(frozen=True)
class Strategy:
    """A rollout as written: an ApplicationSet's RollingSync steps, or the run's --rollout steps."""

    name: str  # the ApplicationSet's name, or "--rollout"
    kind: str  # ROLLING_SYNC or CLI_ROLLOUT
    target: Target
    steps: tuple[StepSpec, ...]


# --- parsing -----------------------------------------------------------------------------------


def parse_max_update(
    value: object, *, where: str, file: str | None = None, obj: str | None = None
) -> MaxUpdate:
    """``maxUpdate`` as Kubernetes' IntOrString: a non-negative int or a ``"N%"`` string."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidRolloutConfig(
            f"must be an integer or a percentage, not {value!r}", file=file, obj=obj, field=where
        )
    if isinstance(value, int):
        if value < 0:
            raise InvalidRolloutConfig(f"must not be negative (got {value})", file=file, obj=obj, field=where)
        return value
    if isinstance(value, str) and _PERCENT.match(value.strip()):
        return value.strip()
    raise InvalidRolloutConfig(
        f"must be an integer or a percentage like '25%' (got {value!r})", file=file, obj=obj, field=where
    )


def max_update_count(value: MaxUpdate, total: int) -> int:
    """How many of a step's ``total`` Applications go at once (Argo CD's rounding, §11)."""
    if value is None:
        return total
    if isinstance(value, int):
        return min(value, total)
    percent = int(_PERCENT.match(value).group(1))  # type: ignore[union-attr]
    count = total * percent // 100  # rounds down ...
    if percent > 0 and count == 0 and total > 0:
        count = 1  # ... but a non-zero percentage always lets one through
    return min(count, total)


def parse_rolling_sync(appset: argo.ApplicationSet) -> Strategy | None:
    """An ApplicationSet's RollingSync strategy; None for AllAtOnce (or no strategy).

    Raises ``InvalidRolloutConfig`` naming the file, the ApplicationSet and the field.
    """
    strategy = appset.spec.strategy
    file, obj = appset.source or None, f"ApplicationSet {appset.name}"
    kind = (strategy.type if strategy else None) or ALL_AT_ONCE
    if kind == ALL_AT_ONCE:
        return None
    if kind != ROLLING_SYNC:
        raise InvalidRolloutConfig(
            f"{kind!r} is not a strategy: want {ALL_AT_ONCE} or {ROLLING_SYNC}",
            file=file,
            obj=obj,
            field="spec.strategy.type",
        )
    rolling = (strategy.rolling_sync if strategy else None) or {}
    raw_steps = rolling.get("steps") if isinstance(rolling, Mapping) else None
    if not raw_steps or not isinstance(raw_steps, list):
        raise InvalidRolloutConfig(
            "RollingSync needs at least one step", file=file, obj=obj, field="spec.strategy.rollingSync.steps"
        )
    steps = []
    for i, raw in enumerate(raw_steps):
        where = f"spec.strategy.rollingSync.steps[{i}]"
        if not isinstance(raw, Mapping):
            raise InvalidRolloutConfig("must be a mapping", file=file, obj=obj, field=where)
        expressions = raw.get("matchExpressions") or []
        if not isinstance(expressions, list):
            raise InvalidRolloutConfig(
                "must be a list", file=file, obj=obj, field=f"{where}.matchExpressions"
            )
        requirements = []
        for j, expr in enumerate(expressions):
            here = f"{where}.matchExpressions[{j}]"
            if not isinstance(expr, Mapping) or not expr.get("key"):
                raise InvalidRolloutConfig("needs a 'key'", file=file, obj=obj, field=here)
            operator = expr.get("operator")
            if operator not in ("In", "NotIn"):
                raise InvalidRolloutConfig(
                    f"operator {operator!r} is not supported in a rollout step: only In and NotIn",
                    file=file,
                    obj=obj,
                    field=f"{here}.operator",
                )
            values = expr.get("values") or []
            if not isinstance(values, list):
                raise InvalidRolloutConfig("must be a list", file=file, obj=obj, field=f"{here}.values")
            requirements.append(
                selectors.Requirement(
                    str(expr["key"]),
                    selectors.Operator.IN if operator == "In" else selectors.Operator.NOT_IN,
                    tuple(str(v) for v in values),
                )
            )
        max_update = parse_max_update(raw.get("maxUpdate"), where=f"{where}.maxUpdate", file=file, obj=obj)
        steps.append(StepSpec(selectors.Selector(tuple(requirements)), max_update))
    return Strategy(appset.name, ROLLING_SYNC, Target.APPLICATION, tuple(steps))


def parse_cli(steps: Sequence[str], max_updates: Sequence[str] = ()) -> Strategy | None:
    """``--rollout SELECTOR`` (repeatable, in order) and ``--max-update N|P%`` (once for every
    step, or once per step). None when no ``--rollout`` is given."""
    if not steps:
        if max_updates:
            raise errors.InputError("needs --rollout steps to batch", field="--max-update")
        return None
    if len(max_updates) not in (0, 1, len(steps)):
        raise errors.InputError(
            f"give one value for every step or one per step ({len(steps)} --rollout steps, "
            f"{len(max_updates)} values)",
            field="--max-update",
        )
    specs = []
    for i, text in enumerate(steps):
        if not text.strip():
            raise errors.InputError(
                f"step {i + 1} is empty: give a cluster label selector", field="--rollout"
            )
        selector = selectors.parse(text, where=f"--rollout (step {i + 1})")
        raw = max_updates[i] if len(max_updates) == len(steps) else (max_updates[0] if max_updates else None)
        value: MaxUpdate = None
        if raw is not None:
            raw = raw.strip()
            if _INT.match(raw):
                value = int(raw)
            elif _PERCENT.match(raw):
                value = raw
            else:
                raise errors.InputError(
                    f"{raw!r}: want a number of clusters or a percentage like '25%'", field="--max-update"
                )
        specs.append(StepSpec(selector, value))
    return Strategy(CLI_ROLLOUT, CLI_ROLLOUT, Target.CLUSTER, tuple(specs))


# --- the schedule ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedStep:
    index: int  # 1-based
    selector: str
    max_update: str  # as written; "" = all at once
    keys: tuple[Key, ...]
    batches: tuple[tuple[Key, ...], ...]  # empty while keys is not: maxUpdate 0 (the step is paused)

    @property
    def paused(self) -> bool:
        return bool(self.keys) and not self.batches

    @property
    def clusters(self) -> tuple[str, ...]:
        return tuple(sorted({cluster for cluster, _ in self.keys}))


@dataclass(frozen=True)
class Rollout:
    name: str
    kind: str
    steps: tuple[PlannedStep, ...] = ()
    skipped: tuple[Key, ...] = ()  # no step selects them (or the strategy is invalid)
    manual: tuple[Key, ...] = ()  # no step selects them, but --app names them: synced at once
    error: str = ""  # InvalidRolloutConfig: nothing of this ApplicationSet is synced


@dataclass(frozen=True)
class Schedule:
    rollouts: tuple[Rollout, ...] = ()
    immediate: tuple[Key, ...] = ()  # outside every rollout (AllAtOnce, manual): the first wave

    @property
    def staged(self) -> bool:
        return bool(self.rollouts)


def _batches(step: StepSpec, keys: list[Key], target: Target) -> tuple[tuple[Key, ...], ...]:
    if target is Target.CLUSTER:
        # Batches of clusters: a cluster's Applications always go together.
        clusters = sorted({c for c, _ in keys})
        size = max_update_count(step.max_update, len(clusters))
        if size <= 0:
            return ()
        groups = [clusters[i : i + size] for i in range(0, len(clusters), size)]
        return tuple(tuple(k for k in keys if k[0] in group) for group in groups)
    size = max_update_count(step.max_update, len(keys))
    if size <= 0:
        return ()
    return tuple(tuple(keys[i : i + size]) for i in range(0, len(keys), size))


def _plan_one(strategy: Strategy, candidates: Sequence[Candidate], manual: bool) -> Rollout:
    members: list[list[Key]] = [[] for _ in strategy.steps]
    skipped: list[Key] = []
    for candidate in sorted(candidates, key=lambda c: (c.app, c.cluster)):
        labels = candidate.app_labels if strategy.target is Target.APPLICATION else candidate.cluster_labels
        for index, step in enumerate(strategy.steps):
            if step.selector.matches(labels):
                members[index].append(candidate.key)  # the first step that selects it
                break
        else:
            skipped.append(candidate.key)
    steps = []
    for index, (spec, keys) in enumerate(zip(strategy.steps, members, strict=True)):
        if strategy.target is Target.CLUSTER:
            keys = sorted(keys)
        steps.append(
            PlannedStep(
                index=index + 1,
                selector=spec.text,
                max_update="" if spec.max_update is None else str(spec.max_update),
                keys=tuple(keys),
                batches=_batches(spec, keys, strategy.target),
            )
        )
    if manual:
        return Rollout(strategy.name, strategy.kind, tuple(steps), manual=tuple(skipped))
    return Rollout(strategy.name, strategy.kind, tuple(steps), skipped=tuple(skipped))


def plan(
    candidates: Iterable[Candidate],
    *,
    strategies: Mapping[str, Strategy] | None = None,
    cli: Strategy | None = None,
    invalid: Mapping[str, str] | None = None,
    manual: bool = False,
) -> Schedule:
    """Order the run's Applications into rollouts.

    Parameters:
        candidates: every Application of the run (after selection).
        strategies: RollingSync strategies by ApplicationSet name (``parse_rolling_sync``).
        cli: the run's ``--rollout`` strategy; it replaces every ApplicationSet's.
        invalid: ApplicationSet name -> why its strategy is invalid; none of its Applications is
            synced (Argo CD selects none of them).
        manual: ``--app`` narrowed the run: Applications no step selects are synced anyway.
    """
    candidates = list(candidates)
    if cli is not None:
        rollout = _plan_one(cli, candidates, manual)
        return Schedule(rollouts=(rollout,), immediate=rollout.manual)
    strategies = strategies or {}
    invalid = invalid or {}
    rollouts: list[Rollout] = []
    immediate: list[Key] = []
    by_appset: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        if candidate.appset and (candidate.appset in strategies or candidate.appset in invalid):
            by_appset.setdefault(candidate.appset, []).append(candidate)
        else:
            immediate.append(candidate.key)
    for name in sorted(by_appset):
        members = by_appset[name]
        if name in invalid:
            keys = tuple(sorted(c.key for c in members))
            rollouts.append(Rollout(name, ROLLING_SYNC, skipped=keys, error=invalid[name]))
            continue
        rollout = _plan_one(strategies[name], members, manual)
        rollouts.append(rollout)
        immediate.extend(rollout.manual)
    return Schedule(rollouts=tuple(rollouts), immediate=tuple(sorted(immediate)))


# --- progress ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    rollout: str
    step: int  # 1-based
    batch: int  # 1-based
    steps: int
    batches: int

    def describe(self) -> str:
        batch = f", batch {self.batch}/{self.batches}" if self.batches > 1 else ""
        return f"{self.rollout} step {self.step}/{self.steps}{batch}"


@dataclass(frozen=True)
class Wave:
    """One fan-out: the Applications to run now, and which rollout steps they advance."""

    number: int  # 1-based
    keys: tuple[Key, ...]
    positions: tuple[Position, ...] = ()

    def describe(self) -> str:
        return "; ".join(p.describe() for p in self.positions)


@dataclass
class _StepRecord:
    state: results.StepState | None = None
    started_at: str = ""
    finished_at: str = ""
    message: str = ""


@dataclass
class _RolloutState:
    rollout: Rollout
    step: int = 0  # 0-based index of the current step
    batch: int = 0  # 0-based index of the current batch
    stopped_at: int = 0  # 1-based step the rollout stopped at
    message: str = ""
    records: list[_StepRecord] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return bool(self.stopped_at) or self.step >= len(self.rollout.steps) or bool(self.rollout.error)


class Progress:
    """The run's rollouts as they advance: ``next_wave`` says what to run, ``record`` what happened.

    With ``compare_only`` (dry run, diff) every Application goes in one wave and the steps are
    reported as planned: nothing changes, so there is nothing to wait for.
    """

    def __init__(
        self,
        schedule: Schedule,
        *,
        compare_only: bool = False,
        gate: Callable[[str, int], str | None] | None = None,
    ) -> None:
        self.schedule = schedule
        self.compare_only = compare_only
        # Asked before a step starts (rollout name, 1-based step): None lets it start, a message
        # holds the rollout there (fleet.gates: sync windows, abort, soak, approval, metric).
        self.gate = gate
        self._states = {
            r.name: _RolloutState(r, records=[_StepRecord() for _ in r.steps]) for r in schedule.rollouts
        }
        self._where: dict[Key, tuple[str, int, int]] = {}  # key -> (rollout, step, batch), 1-based
        self._skipped: dict[Key, str] = {}
        self._manual: dict[Key, str] = {}
        for r in schedule.rollouts:
            for step in r.steps:
                for key in step.keys:
                    batch = next((i + 1 for i, b in enumerate(step.batches) if key in b), 0)
                    self._where[key] = (r.name, step.index, batch)
            for key in r.skipped:
                self._skipped[key] = r.name
            for key in r.manual:
                self._manual[key] = r.name
        self._outcome: dict[Key, bool] = {}
        self._waves = 0

    # -- driving -------------------------------------------------------------------------------

    def next_wave(self, *, now: str = "") -> Wave | None:
        """The next Applications to run (None when every rollout finished or stopped)."""
        if self.compare_only:
            return self._compare_wave(now)
        keys: list[Key] = list(self.schedule.immediate) if self._waves == 0 else []
        positions: list[Position] = []
        for state in self._states.values():
            steps = state.rollout.steps
            while not state.done:
                step = steps[state.step]
                record = state.records[state.step]
                if not step.keys:
                    record.state, record.started_at, record.finished_at = (
                        results.StepState.COMPLETED,
                        now,
                        now,
                    )
                    record.message = "no Application selected"
                    state.step += 1
                    continue
                if step.paused:
                    record.state, record.started_at = results.StepState.PAUSED, now
                    record.message = (
                        f"maxUpdate is {step.max_update}: no Application of this step may be updated"
                    )
                    state.stopped_at = step.index
                    state.message = f"step {step.index} is paused: {record.message}"
                    break
                if state.batch == 0:
                    held = self.gate(state.rollout.name, step.index) if self.gate is not None else None
                    if held:
                        record.state, record.started_at = results.StepState.HELD, now
                        record.message = held
                        state.stopped_at = step.index
                        state.message = f"step {step.index} is held: {held}"
                        break
                    record.started_at = now
                keys.extend(step.batches[state.batch])
                positions.append(
                    Position(state.rollout.name, step.index, state.batch + 1, len(steps), len(step.batches))
                )
                break
        if not keys:
            return None
        self._waves += 1
        return Wave(self._waves, tuple(keys), tuple(positions))

    def _compare_wave(self, now: str) -> Wave | None:
        if self._waves:
            return None
        self._waves = 1
        keys = list(self.schedule.immediate)
        positions = []
        for state in self._states.values():
            for step, record in zip(state.rollout.steps, state.records, strict=True):
                keys.extend(step.keys)
                record.state, record.started_at = results.StepState.PLANNED, now
                record.message = "dry run: compared only" if step.keys else "no Application selected"
                for number in range(1, len(step.batches) + 1):
                    positions.append(
                        Position(
                            state.rollout.name,
                            step.index,
                            number,
                            len(state.rollout.steps),
                            len(step.batches),
                        )
                    )
        if not keys:
            return None
        return Wave(1, tuple(keys), tuple(positions))

    def record(
        self, wave: Wave, outcome: Mapping[Key, bool], *, now: str = "", why: Mapping[Key, str] | None = None
    ) -> None:
        """What the wave's Applications ended as (True: Synced and Healthy). A missing key failed."""
        why = why or {}
        for key in wave.keys:
            self._outcome[key] = bool(outcome.get(key, False))
        if self.compare_only:
            for state in self._states.values():
                for record in state.records:
                    record.finished_at = now
            return
        for position in wave.positions:
            state = self._states[position.rollout]
            step = state.rollout.steps[position.step - 1]
            record = state.records[position.step - 1]
            batch = step.batches[position.batch - 1]
            failed = [key for key in batch if not self._outcome.get(key, False)]
            if failed:
                shown = ", ".join(
                    f"{cluster}/{app}" + (f" ({why[(cluster, app)]})" if why.get((cluster, app)) else "")
                    for cluster, app in failed[:5]
                )
                more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
                batch_text = f" (batch {position.batch}/{len(step.batches)})" if len(step.batches) > 1 else ""
                record.state, record.finished_at = results.StepState.FAILED, now
                record.message = f"{len(failed)} of {len(batch)} Applications{batch_text} not Synced and Healthy: {shown}{more}"
                state.stopped_at = step.index
                state.message = f"step {step.index} failed: {record.message}"
            elif position.batch == len(step.batches):
                record.state, record.finished_at = results.StepState.COMPLETED, now
                record.message = f"{len(step.keys)} Applications Synced and Healthy"
                state.step += 1
                state.batch = 0
            else:
                state.batch += 1

    # -- reporting ---------------------------------------------------------------------------------

    def app_rollout(self, key: Key) -> results.AppRollout | None:
        """An Application's place in its rollout (None when it belongs to none)."""
        if key in self._skipped:
            state = self._states[self._skipped[key]]
            if state.rollout.error:
                message = (
                    f"not synced: the ApplicationSet's rollout strategy is invalid: {state.rollout.error}"
                )
            else:
                message = "no rollout step selects it: not synced by the rollout (sync it by name with --app)"
            return results.AppRollout(
                rollout=state.rollout.name,
                steps=len(state.rollout.steps),
                state=results.RolloutState.SKIPPED,
                message=message,
            )
        if key in self._manual:
            state = self._states[self._manual[key]]
            return results.AppRollout(
                rollout=state.rollout.name,
                steps=len(state.rollout.steps),
                state=self._ran_state(key),
                message="no rollout step selects it; synced because --app names it",
            )
        where = self._where.get(key)
        if where is None:
            return None
        name, step, batch = where
        state = self._states[name]
        common = {"rollout": name, "step": step, "steps": len(state.rollout.steps), "batch": batch}
        if self.compare_only:
            return results.AppRollout(
                **common, state=results.RolloutState.PLANNED, message="dry run: compared only"
            )
        if key in self._outcome:
            return results.AppRollout(**common, state=self._ran_state(key))
        stopped = state.records[state.stopped_at - 1].state if state.stopped_at else None
        if stopped is results.StepState.HELD:
            gate = state.records[state.stopped_at - 1].message
            start = f"step {step} did not start" if state.stopped_at < step else f"step {step} is held"
            return results.AppRollout(
                **common,
                state=results.RolloutState.HELD,
                message=f"{start}: step {state.stopped_at} is held: {gate}",
            )
        how = "is paused (maxUpdate 0)" if stopped is results.StepState.PAUSED else "failed"
        if state.stopped_at and state.stopped_at < step:
            message = f"step {step} did not start: step {state.stopped_at} {how}"
        elif state.stopped_at == step and stopped is results.StepState.PAUSED:
            message = f"not started: step {step} {how}"
        elif state.stopped_at == step:
            message = f"batch {batch} of step {step} did not start: an earlier batch failed"
        else:
            message = f"step {step} has not started"
        return results.AppRollout(**common, state=results.RolloutState.WAITING, message=message)

    def message(self, key: Key) -> str:
        found = self.app_rollout(key)
        return found.message if found else ""

    def not_run_reason(self, key: Key) -> Reason:
        """Why an Application that no wave ran did not sync."""
        if key in self._skipped:
            error = self._states[self._skipped[key]].rollout.error
            return Reason.INVALID_ROLLOUT_CONFIG if error else Reason.NOT_IN_ROLLOUT
        return Reason.ROLLOUT_WAITING

    def _ran_state(self, key: Key) -> results.RolloutState:
        if key not in self._outcome:
            return results.RolloutState.WAITING
        return results.RolloutState.HEALTHY if self._outcome[key] else results.RolloutState.FAILED

    def not_run(self) -> list[Key]:
        """Applications of the run that no wave ran (waiting, skipped)."""
        every = set(self.schedule.immediate) | set(self._where) | set(self._skipped) | set(self._manual)
        return sorted(k for k in every if k not in self._outcome)

    def results(self) -> tuple[results.RolloutResult, ...]:
        out = []
        for state in self._states.values():
            steps = []
            for planned, record in zip(state.rollout.steps, state.records, strict=True):
                message = record.message
                if record.state is None and state.stopped_at:
                    message = f"not started: step {state.stopped_at} did not complete"
                    if state.records[state.stopped_at - 1].state is results.StepState.HELD:
                        message = f"not started: step {state.stopped_at} is held"
                steps.append(
                    results.RolloutStep(
                        step=planned.index,
                        selector=planned.selector,
                        max_update=planned.max_update,
                        applications=len(planned.keys),
                        clusters=planned.clusters,
                        batches=len(planned.batches),
                        state=record.state or results.StepState.NOT_STARTED,
                        started_at=record.started_at,
                        finished_at=record.finished_at,
                        message=message,
                    )
                )
            out.append(
                results.RolloutResult(
                    name=state.rollout.name,
                    strategy=state.rollout.kind,
                    steps=tuple(steps),
                    skipped=len(state.rollout.skipped),
                    stopped_at=state.stopped_at,
                    message=state.message
                    or (f"invalid rollout strategy: {state.rollout.error}" if state.rollout.error else ""),
                )
            )
        return tuple(out)


__all__ = [
    "CLI_ROLLOUT",
    "ROLLING_SYNC",
    "Candidate",
    "InvalidRolloutConfig",
    "PlannedStep",
    "Progress",
    "Rollout",
    "Schedule",
    "StepSpec",
    "Strategy",
    "Target",
    "Wave",
    "max_update_count",
    "parse_cli",
    "parse_max_update",
    "parse_rolling_sync",
    "plan",
]
