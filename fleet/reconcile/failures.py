"""How a failure in any phase of a cluster sync is reported: the ``Reason`` it means, a masked
one-line message, and the result of an Application or cluster that could not be reconciled.

Where it sits: at the bottom of ``fleet.reconcile``; every phase (``preparation``, ``sessions``,
``app_sync``, ``removal``, the entry point) ends a failed run through these, and the driver
(``fleet.driver``) uses ``did_not_run`` and ``failed_cluster`` for work that never reached a
worker (a render that failed, an Application its rollout held back, a cluster that timed out).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from fleet import errors, health, redact, results
from fleet.clusters import client
from fleet.reconcile import units
from fleet.status import OperationPhase, Reason, SyncStatus

MESSAGE_LIMIT = 2000  # characters of an error kept in a result (head and tail)


class DeadlineExceeded(errors.TemporaryError):
    """The cluster's time budget ran out before this step."""


def message(exc: BaseException) -> str:
    """The error as one masked line (never a secret value), short enough for a report. A long one
    keeps its beginning (the context) and its end (the root cause), eliding the middle."""
    text = str(exc) if isinstance(exc, errors.FleetError) else f"{type(exc).__name__}: {exc}"
    line = redact.mask(" ".join(text.split()))
    if len(line) <= MESSAGE_LIMIT:
        return line
    keep = (MESSAGE_LIMIT - 5) // 2
    return f"{line[:keep]} […] {line[-keep:]}"


def reason_for(exc: BaseException, default: Reason) -> Reason:
    """The Reason an error of the cluster API means, whatever phase it happened in: a server that
    took requests and did not answer in time is Timeout (as one past --cluster-timeout is); one
    that cannot be reached, or keeps answering 429/5xx, is ClusterUnreachable (issue 8, item 10)."""
    if isinstance(exc, client.ClusterTimeout | DeadlineExceeded):
        return Reason.TIMEOUT
    if isinstance(exc, client.ClusterUnreachable | client.TLSFailure):
        return Reason.CLUSTER_UNREACHABLE
    if isinstance(exc, client.Unauthorized | client.Forbidden):
        return Reason.PERMISSION_DENIED
    return default


@dataclasses.dataclass(frozen=True)
class Failure:
    """Why work failed before it reached a cluster (the driver's render of an Application): the
    ``Reason`` and a masked message."""

    reason: Reason
    message: str


class StepFailed(Exception):
    """A step of an Application's sync failed: ends its run with this reason and message."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def is_secret_error(exc: BaseException) -> bool:
    from fleet.secrets import refs

    return isinstance(exc, refs.SecretError)


def did_not_run(
    work: units.AppWork,
    *,
    cluster: str,
    reason: Reason,
    message: str,
    started_at: str | None = None,
    seconds: float = 0.0,
    attempts: int = 1,
) -> results.AppResult:
    """An Application that could not be compared at all (Unknown), and why: the one constructor
    for it, on the worker and on the driver. Its phase follows from the reason: NotStarted when
    the run held it back (``Reason.held_back``), Failed for a timeout or a refused apply, Error
    otherwise."""
    if reason.held_back():
        phase = OperationPhase.NOT_STARTED
    elif reason in (Reason.TIMEOUT, Reason.APPLY_FAILED):
        phase = OperationPhase.FAILED
    else:
        phase = OperationPhase.ERROR
    return results.AppResult(
        name=work.name,
        cluster=cluster,
        project=work.project,
        namespace=work.namespace,
        appset=work.appset,
        revision=work.revision,
        sync_status=SyncStatus.UNKNOWN,
        health=health.Health.UNKNOWN,
        phase=phase,
        reason=reason,
        message=redact.mask(message),
        started_at=started_at or results.now(),
        seconds=round(seconds, 3),
        attempts=attempts,
    )


def failed_cluster(
    work: units.ClusterWork,
    *,
    reason: Reason,
    message: str,
    seconds: float = 0.0,
    worker: str = "",
    requests: Mapping[str, int] | None = None,
    reachable: bool = False,
) -> results.ClusterResult:
    """A cluster that could not be reconciled at all: every Application Unknown, with the reason."""
    message = redact.mask(message)
    apps = tuple(
        did_not_run(app, cluster=work.cluster.name, reason=reason, message=message) for app in work.apps
    )
    return results.ClusterResult(
        cluster=work.cluster.name,
        server=work.cluster.server,
        reachable=reachable,
        reason=reason,
        message=message,
        apps=apps,
        requests=dict(requests or {}),
        seconds=round(seconds, 3),
        worker=worker,
    )
