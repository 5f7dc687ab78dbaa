"""What a sync or diff run found and did: per object, per Application, per cluster, per run.

These models are the end of the data flow: workers build ``ClusterResult`` values, the driver
collects them into a ``RunResult``, the status store keeps them as history, and every report and
metric is computed from them. They are frozen (they cross the Ray boundary) and hold no secret
values: diffs are masked before they get here, and ``RunResult.to_json`` masks once more.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fleet import redact
from fleet.errors import ExitCode  # by name: the field RunResult.errors shadows the module there
from fleet.health import Health
from fleet.status import OperationPhase, Reason, ResultCode, SyncStatus


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


ROOT_CAUSE_WIDTH = 160  # what a table's MESSAGE column shows of an error
_ROOT_CAUSE_MIN = 60  # a tail shorter than this ("no such file or directory") says too little alone
_QUOTES = "\"' "  # what wrapping leaves around the parts of a message


def root_cause(message: str, *, width: int = ROOT_CAUSE_WIDTH) -> str:
    """The last, most specific part of an error message, for a table (issue 8, item 7).

    Errors read outermost first, each layer adding its context with ": " (Go's wrapping, which
    kubectl, kustomize and Helm use, and fleet's own messages), so the root cause is at the end,
    where cutting a long message to its first ``width`` characters loses it. Whole ": "-separated
    parts are taken from the end until they say enough, then cut from the left to ``width``.
    Written by hand: it is string handling specific to these messages, not a parsing problem.
    """
    text = " ".join(message.split()).rstrip(_QUOTES)
    if len(text) <= width:
        return text
    parts = text.split(": ")
    tail = parts.pop().strip(_QUOTES)
    while parts and len(tail) < _ROOT_CAUSE_MIN:
        tail = f"{parts.pop().strip(_QUOTES)}: {tail}"
    if len(tail) > width - 2:
        tail = tail[-(width - 2) :]
    return f"… {tail}"


class Action(StrEnum):
    """What happened to one object during this run."""

    CREATED = "created"  # it did not exist and was applied
    CONFIGURED = "configured"  # it existed, differed, and was applied
    UNCHANGED = "unchanged"  # it matched Git; nothing was sent
    PRUNED = "pruned"  # it left Git and was deleted
    PRUNE_SKIPPED = "prune-skipped"  # it left Git but was kept (pruning off, Prune=false, not ours)
    HOOK = "hook"  # a hook that ran (and may have been deleted by its policy)
    FAILED = "failed"  # the apply, delete or hook failed
    WOULD_CREATE = "would-create"  # dry run / diff: would be created
    WOULD_CONFIGURE = "would-configure"  # dry run / diff: would be applied
    WOULD_PRUNE = "would-prune"  # dry run / diff: would be deleted
    DRIFTED = "drifted"  # changed by hand; reported, not healed (selfHeal is off)
    SKIPPED = "skipped"  # not attempted: an earlier step failed or ran out of time, or another Application keeps it (SharedResourceWarning)


class ObjectEvent(BaseModel):
    """A recent Warning Event about an unhealthy object (or the Pods, ReplicaSets and Jobs it made),
    as the cluster recorded it; the message is masked."""

    model_config = ConfigDict(frozen=True)

    type: str = "Warning"
    reason: str
    message: str
    count: int = 1
    last_seen: str = ""
    object: str = ""  # Kind/name of what the event is about


class ResourceResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    group: str = ""
    version: str = ""
    kind: str
    namespace: str = ""
    name: str
    action: Action
    status: SyncStatus = SyncStatus.SYNCED
    health: Health | None = None
    health_message: str = ""
    result: ResultCode | None = None
    message: str = ""
    diff: str = ""  # masked unified diff of what differs (empty when in sync)
    drift: bool = False  # differs from Git although Git did not change since the last sync
    wave: int = 0
    hook: str = ""  # the hook phase(s) for hook objects
    events: tuple[ObjectEvent, ...] = ()  # recent Warning events, for Degraded and Progressing objects

    @property
    def ref(self) -> str:
        group = f"{self.group}/" if self.group else ""
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{group}{self.kind}:{ns}{self.name}"


class RolloutState(StrEnum):
    """Where one Application stands in a progressive rollout (Argo CD's per-Application step status)."""

    HEALTHY = "Healthy"  # its step (and batch) ran and it is Synced and Healthy
    FAILED = "Failed"  # its step ran and it is not Synced and Healthy: the rollout stopped at this step
    WAITING = "Waiting"  # its step (or batch) did not start: an earlier one failed, or maxUpdate is 0
    PLANNED = "Planned"  # dry run / diff: compared only; a sync would put it in this step
    SKIPPED = "Skipped"  # no step selects it: a rollout never syncs it (sync it by name with --app)
    HELD = "Held"  # its step (or an earlier one) is held by a gate: a sync window, an approval, a soak time or a metric; the next run continues there
    ROLLED_BACK = (
        "RolledBack"  # its step failed and it was synced back to its last Synced and Healthy revision
    )


class AppRollout(BaseModel):
    """An Application's place in a progressive rollout."""

    model_config = ConfigDict(frozen=True)

    rollout: str  # the ApplicationSet whose RollingSync strategy it follows, or "--rollout"
    step: int = 0  # 1-based step; 0 when no step selects it
    steps: int = 0  # how many steps the rollout has
    batch: int = 0  # 1-based batch of its step (maxUpdate / --max-update); 0 when it has none
    state: RolloutState
    message: str = ""


class StepState(StrEnum):
    """How one step of a progressive rollout ended."""

    COMPLETED = "Completed"  # every Application of the step ended Synced and Healthy
    FAILED = "Failed"  # an Application of the step did not: the rollout stopped here
    PAUSED = "Paused"  # maxUpdate is 0: no Application of the step may be updated; the rollout waits here
    NOT_STARTED = "NotStarted"  # an earlier step failed or paused
    PLANNED = "Planned"  # dry run / diff: compared only, nothing was rolled out
    HELD = "Held"  # a gate holds it (sync window, approval, soak time, metric): not started; the next run continues here


class RolloutStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    step: int  # 1-based
    selector: str  # what selects the step's Applications, as text
    max_update: str = ""  # as written ("" = every Application of the step at once)
    applications: int = 0
    clusters: tuple[str, ...] = ()
    batches: int = 0
    state: StepState
    started_at: str = ""
    finished_at: str = ""
    message: str = ""


class RolloutPosition(BaseModel):
    """Where a rollout stands after a run, kept in the status store for the next run."""

    model_config = ConfigDict(frozen=True)

    fleet: str  # the fleet (its run-lock key)
    fingerprint: str  # what it rolls out (its Applications' rendered state): a change starts it over
    passed: int = 0  # the highest step whose gate passed (it may start without waiting again)
    completed: dict[int, float] = Field(default_factory=dict)  # step -> when it first completed (epoch)
    held_at: int = 0  # the step a gate holds (0: none)
    gate: str = ""  # what holds it
    steps: int = 0


class Rollback(BaseModel):
    """One Application synced back to its last Synced and Healthy revision after its step failed
    (or left alone, and why)."""

    model_config = ConfigDict(frozen=True)

    cluster: str
    app: str
    step: int
    from_revision: str = ""
    to_revision: str = ""  # "" when nothing was rolled back
    ok: bool = False  # synced back and Synced and Healthy again
    message: str = ""


class RolloutResult(BaseModel):
    """One rollout of a run: an ApplicationSet's RollingSync strategy, or the run's --rollout steps."""

    model_config = ConfigDict(frozen=True)

    name: str  # the ApplicationSet, or "--rollout"
    strategy: str  # "RollingSync" or "--rollout"
    steps: tuple[RolloutStep, ...] = ()
    skipped: int = 0  # Applications that no step selects
    stopped_at: int = 0  # the step the rollout stopped at (0: it did not stop)
    message: str = ""  # why it stopped
    position: RolloutPosition | None = None  # where it stands, for the next run (syncs only)
    rollbacks: tuple[Rollback, ...] = ()  # what automatic rollback did after a failed step

    @property
    def held(self) -> bool:
        """Stopped by a gate, not by a failure: the next run continues at ``stopped_at``."""
        return any(s.state is StepState.HELD for s in self.steps)

    @property
    def completed(self) -> bool:
        return all(s.state is StepState.COMPLETED for s in self.steps)


class Deletion(StrEnum):
    """What a run did with an Application that is no longer generated from Git but still has
    its inventory on the cluster (fleet synced it before)."""

    DELETED = (
        "Deleted"  # cascade: PreDelete hooks, its resources (reverse waves), PostDelete hooks, its inventory
    )
    PRESERVED = "Preserved"  # no cascade (preserveResourcesOnDeletion): inventory dropped, resources kept
    KEPT = "Kept"  # its ApplicationSet's policy never deletes (create-only, create-update): untouched
    WOULD_DELETE = "WouldDelete"  # dry run / diff: would be deleted with its resources
    WOULD_PRESERVE = "WouldPreserve"  # dry run / diff: its inventory would be dropped, its resources kept
    FAILED = (
        "DeleteFailed"  # a delete or a hook failed: what is left stays in the inventory, for the next run
    )
    BLOCKED = "DeleteBlocked"  # the deletion guard stopped the run's deletions (--max-delete, --allow-mass-delete): untouched

    def ok(self) -> bool:
        return self in (Deletion.DELETED, Deletion.PRESERVED, Deletion.KEPT)

    def gone(self) -> bool:
        """The Application no longer exists for fleet (nothing of it to show in `fleet status`)."""
        return self in (Deletion.DELETED, Deletion.PRESERVED)


class AppResult(BaseModel):
    """One Application on one cluster."""

    model_config = ConfigDict(frozen=True)

    name: str
    cluster: str
    project: str = "default"
    namespace: str = ""
    appset: str = ""
    revision: str = ""
    sync_status: SyncStatus
    health: Health
    phase: OperationPhase
    reason: Reason
    message: str = ""
    resources: tuple[ResourceResult, ...] = ()
    started_at: str = Field(default_factory=now)
    seconds: float = 0.0
    attempts: int = 1
    rollout: AppRollout | None = None  # its step when a progressive rollout ordered the run
    deletion: Deletion | None = None  # set when it was removed from Git (what the run did about it)

    @property
    def ok(self) -> bool:
        if self.deletion is not None:
            return self.deletion.ok()
        if self.reason is Reason.ROLLED_BACK:
            return False  # back where it was, but what the run was to roll out failed
        return self.sync_status is SyncStatus.SYNCED and self.health in (Health.HEALTHY, Health.SUSPENDED)

    @property
    def skipped(self) -> bool:
        """Left out on purpose (no rollout step selects it, a sync window blocks it, a gate holds
        its step): neither ok nor a failure of the run."""
        if self.reason is Reason.SYNC_WINDOW_CLOSED:
            return True
        return self.rollout is not None and self.rollout.state in (RolloutState.SKIPPED, RolloutState.HELD)

    @property
    def observed(self) -> bool:
        """Whether this run looked at the Application on its cluster (not the case for an
        Application whose rollout step did not start, or that no step selects)."""
        return self.phase is not OperationPhase.NOT_STARTED and self.deletion is not Deletion.KEPT

    def count(self) -> dict[str, int]:
        return dict(Counter(r.action.value for r in self.resources))


class ClusterResult(BaseModel):
    """Everything one worker reports for one cluster."""

    model_config = ConfigDict(frozen=True)

    cluster: str
    server: str = ""
    reachable: bool = True
    reason: Reason | None = None  # set when the whole cluster failed (unreachable, worker lost)
    message: str = ""
    apps: tuple[AppResult, ...] = ()
    requests: dict[str, int] = Field(default_factory=dict)  # API requests by verb
    seconds: float = 0.0
    worker: str = ""
    # The cluster's labels as the registry had them for the run (its Argo CD cluster Secret's):
    # what the matrix of the report and the web UI groups and filters clusters by.
    labels: dict[str, str] = Field(default_factory=dict)
    # The Ray node that reconciled the cluster, as ray.get_runtime_context().get_node_id() names
    # it (for a failed cluster: the node its worker was placed on); "" off Ray (issue 12).
    ray_node: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None and all(app.ok or app.skipped for app in self.apps)

    @property
    def request_total(self) -> int:
        return sum(self.requests.values())


class RunKind(StrEnum):
    """What kind of run produced a result."""

    SYNC = "sync"  # reconcile: apply, prune, heal
    DRY_RUN = "dry-run"  # sync with --dry-run: everything but the writes
    DIFF = "diff"  # compare only


class RunState(StrEnum):
    """Where a run stands in the status store (``fleet.store``): registered when it starts,
    finished in one transaction with its result."""

    RUNNING = (
        "running"  # registered, and its process renews its lease (it holds the run lock if it is a sync)
    )
    FINISHED = "finished"  # recorded with its result, in one transaction
    ABORTED = (
        "aborted"  # ended without a result and said why (an error after it started, a second stop signal)
    )
    INTERRUPTED = (
        "interrupted"  # its lease expired unrenewed (killed, crashed, host lost): what it did is not recorded
    )

    def ended(self) -> bool:
        return self is not RunState.RUNNING


class RunResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    kind: RunKind
    started_at: str
    finished_at: str = ""
    source: str = ""  # fleet repository URL or path
    revision: str = ""  # resolved commit
    executor: str = ""
    selector: str = ""
    clusters: tuple[ClusterResult, ...] = ()
    errors: tuple[str, ...] = ()  # ApplicationSet / generation errors (no cluster involved)
    rollouts: tuple[RolloutResult, ...] = ()  # progressive rollouts: steps in order, and where they stopped
    notes: tuple[str, ...] = ()  # what the run deliberately did not do, and why
    # Set by the status store: a result read back from it may be of a run that did not finish.
    state: RunState = RunState.FINISHED
    host: str = ""  # the host and process that made the run (as registered in the store)
    pid: int = 0

    def apps(self) -> Iterable[AppResult]:
        for cluster in self.clusters:
            yield from cluster.apps

    def summary(self) -> dict[str, Any]:
        apps = list(self.apps())
        return {
            "clusters": len(self.clusters),
            "clusters_failed": sum(1 for c in self.clusters if c.reason is not None),
            "applications": len(apps),
            "synced": sum(1 for a in apps if a.sync_status is SyncStatus.SYNCED),
            "out_of_sync": sum(1 for a in apps if a.sync_status is SyncStatus.OUT_OF_SYNC),
            "unknown": sum(1 for a in apps if a.sync_status is SyncStatus.UNKNOWN),
            "healthy": sum(1 for a in apps if a.health is Health.HEALTHY),
            "degraded": sum(1 for a in apps if a.health is Health.DEGRADED),
            "progressing": sum(1 for a in apps if a.health is Health.PROGRESSING),
            "objects": sum(len(a.resources) for a in apps),
            "changed": sum(
                1
                for a in apps
                for r in a.resources
                if r.action in (Action.CREATED, Action.CONFIGURED, Action.PRUNED)
            ),
            "drifted": sum(1 for a in apps for r in a.resources if r.drift),
            "requests": sum(c.request_total for c in self.clusters),
            "generation_errors": len(self.errors),
            "rollout_waiting": sum(
                1 for a in apps if a.rollout is not None and a.rollout.state is RolloutState.WAITING
            ),
            "rollout_skipped": sum(1 for a in apps if a.skipped),
            "deleted": sum(1 for a in apps if a.deletion is not None and a.deletion.gone()),
            "would_delete": sum(
                1 for a in apps if a.deletion in (Deletion.WOULD_DELETE, Deletion.WOULD_PRESERVE)
            ),
            "delete_blocked": sum(1 for a in apps if a.deletion is Deletion.BLOCKED),
        }

    @property
    def ok(self) -> bool:
        return self.state is RunState.FINISHED and not self.errors and all(c.ok for c in self.clusters)

    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.ok else ExitCode.FAILED

    def to_json(self, **kwargs: Any) -> str:
        """JSON with every registered secret value masked (defence in depth: diffs and messages
        are masked where they are made)."""
        return redact.mask(self.model_dump_json(**kwargs))
