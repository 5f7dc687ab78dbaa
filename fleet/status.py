"""The closed vocabularies of a sync result: sync status, per-object result codes, failure reasons.

Sits at the end of a cluster sync: each phase of the orchestrator (render, resolve secrets, diff,
apply, prune, health) ends a failed run with its own ``Reason``, the way Flux's kustomize-controller
marks Ready=False with ``BuildFailed`` or ``PruneFailed``. These enums import nothing from fleet so
the models, the status store and reports can all use them; the lead may move them into models.
"""

from __future__ import annotations

from enum import StrEnum


class SyncStatus(StrEnum):
    """Whether the live state of an object (or Application) matches Git."""

    SYNCED = "Synced"  # live equals desired after normalisation and ignoreDifferences
    OUT_OF_SYNC = "OutOfSync"  # something differs: missing, changed, or live but gone from Git
    UNKNOWN = "Unknown"  # the comparison could not be made (render failed, cluster unreachable)


class ResultCode(StrEnum):
    """What a sync did to one object (Argo CD's resource result codes)."""

    SYNCED = "Synced"  # applied (created, configured or unchanged)
    SYNC_FAILED = "SyncFailed"  # the API server refused the apply, or the hook failed
    PRUNED = "Pruned"  # deleted because it left Git
    PRUNE_SKIPPED = "PruneSkipped"  # left Git, but pruning is off, Prune=false, or not ours

    def is_failure(self) -> bool:
        return self is ResultCode.SYNC_FAILED


class OperationPhase(StrEnum):
    """Where a sync operation on one Application stands."""

    RUNNING = "Running"  # steps are still being executed or waited on
    SUCCEEDED = "Succeeded"  # every step finished and every object is healthy
    FAILED = "Failed"  # a step failed (apply refused, hook failed, health degraded)
    ERROR = "Error"  # fleet itself could not proceed (render, secrets, unreachable cluster)
    TERMINATING = "Terminating"  # stopping: running hooks are being cleaned up
    NOT_STARTED = "NotStarted"  # no operation ran: a progressive rollout did not reach (or never selects) it

    def completed(self) -> bool:
        """True once the operation will not change any more."""
        return self in (OperationPhase.SUCCEEDED, OperationPhase.FAILED, OperationPhase.ERROR)

    def successful(self) -> bool:
        return self is OperationPhase.SUCCEEDED


class Reason(StrEnum):
    """Why a sync of one Application on one cluster ended the way it did (a closed vocabulary)."""

    SUCCEEDED = "Succeeded"  # represents the fact that every step ran and every object is healthy
    PROGRESSING = "Progressing"  # represents the fact that the sync is still running
    SOURCE_FAILED = "SourceFailed"  # represents the fact that the git source could not be fetched
    RENDER_FAILED = "RenderFailed"  # represents the fact that the manifests could not be rendered
    SECRET_RESOLUTION_FAILED = (
        "SecretResolutionFailed"  # represents the fact that a secret reference did not resolve
    )
    INVALID_SPEC = "InvalidSpec"  # represents the fact that the Application or a manifest is invalid
    DIFF_FAILED = "DiffFailed"  # represents the fact that desired and live state could not be compared
    SHARED_RESOURCE = "SharedResource"  # represents the fact that an object (or the Application's inventory) belongs to another Application (or fleet): not applied (SharedResourceWarning), or the whole sync refused (FailOnSharedResource)
    APPLY_FAILED = "ApplyFailed"  # represents the fact that the API server refused an apply
    HOOK_FAILED = "HookFailed"  # represents the fact that a PreSync, Sync or PostSync hook failed
    PRUNE_FAILED = "PruneFailed"  # represents the fact that deleting a stale object failed
    HEALTH_CHECK_FAILED = "HealthCheckFailed"  # represents the fact that an object became Degraded
    TIMEOUT = "Timeout"  # represents the fact that waves or hooks did not finish within the deadline
    CLUSTER_UNREACHABLE = (
        "ClusterUnreachable"  # represents the fact that the cluster's API server did not answer
    )
    PERMISSION_DENIED = (
        "PermissionDenied"  # represents the fact that the cluster refused fleet's credentials or RBAC
    )
    WORKER_LOST = "WorkerLost"  # represents the fact that the worker running this cluster died
    EMPTY_PRUNE_REFUSED = "EmptyPruneRefused"  # represents the fact that pruning everything was refused (automated without allowEmpty)
    ROLLOUT_WAITING = "RolloutWaiting"  # represents the fact that its rollout step did not start (an earlier step failed or is paused)
    NOT_IN_ROLLOUT = (
        "NotInRollout"  # represents the fact that no rollout step selects it (manual sync only: --app)
    )
    PROJECT_DENIED = "ProjectDenied"  # represents the fact that its AppProject does not permit an object's kind or namespace (nothing was written)
    INVALID_ROLLOUT_CONFIG = (
        "InvalidRolloutConfig"  # represents the fact that its ApplicationSet's rollout strategy is invalid
    )
    SYNC_WINDOW_CLOSED = "SyncWindowClosed"  # represents the fact that a sync window of its AppProject blocks syncs now (nothing was touched; --ignore-windows passes windows with manualSync: true)
    DEPENDENCY_NOT_READY = "DependencyNotReady"  # represents the fact that an Application it depends on (fleet.gitops.io/depends-on) did not become Synced and Healthy in this run (nothing was touched)
    ROLLED_BACK = "RolledBack"  # represents the fact that its rollout step failed and it was synced back to its last Synced and Healthy revision
    DELETION_BLOCKED = "DeletionBlocked"  # represents the fact that the deletion guard stopped the run's deletions of Applications removed from Git (--max-delete, --allow-mass-delete)

    def is_failure(self) -> bool:
        return self not in (
            Reason.SUCCEEDED,
            Reason.PROGRESSING,
            Reason.NOT_IN_ROLLOUT,
            Reason.SYNC_WINDOW_CLOSED,
        )

    def held_back(self) -> bool:
        """Whether the run held the Application back before any operation (its phase is
        NotStarted): its rollout step did not start (or a gate holds it), no rollout step selects
        it, a sync window blocks it, or an Application it depends on did not become ready."""
        return self in (
            Reason.ROLLOUT_WAITING,
            Reason.NOT_IN_ROLLOUT,
            Reason.INVALID_ROLLOUT_CONFIG,
            Reason.SYNC_WINDOW_CLOSED,
            Reason.DEPENDENCY_NOT_READY,
        )

    def is_retryable(self) -> bool:
        """Whether a retry (syncPolicy.retry) may help: transient cluster or worker trouble and failed steps."""
        return self in (
            Reason.APPLY_FAILED,
            Reason.HOOK_FAILED,
            Reason.PRUNE_FAILED,
            Reason.HEALTH_CHECK_FAILED,
            Reason.TIMEOUT,
            Reason.CLUSTER_UNREACHABLE,
            Reason.WORKER_LOST,
            Reason.SECRET_RESOLUTION_FAILED,
            Reason.SOURCE_FAILED,
        )
