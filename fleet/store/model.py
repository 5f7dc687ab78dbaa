"""The store's own records: a run's registration and lock scope, who holds a lock, a run as the
store knows it, and the last revision that was Synced and Healthy.

Frozen values with no behaviour beyond small predicates; ``fleet.store`` reads and writes them,
``fleet.store.lease`` drives the registration, and callers (the CLI, rollback, ``fleet serve``)
read them.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from fleet import results


@dataclass(frozen=True)
class Scope:
    """What a run may change: one fleet, and the clusters it selected.

    ``fleet`` is the fleet repository's key (a normalised URL, or the local directory's path);
    ``clusters`` are the names of the registered clusters the run's ``--selector`` matches (all
    of them without one). Two runs overlap when their fleets are equal and their clusters
    intersect; a sync holds its scope exclusively, so overlapping syncs never run at once, while
    syncs on disjoint clusters of one fleet do.
    """

    fleet: str
    clusters: frozenset[str]

    def overlap(self, other_fleet: str, other_clusters: frozenset[str]) -> frozenset[str]:
        if other_fleet != self.fleet:
            return frozenset()
        return self.clusters & other_clusters


@dataclass(frozen=True, kw_only=True)
class Registration:
    """A run as it registers when it starts."""

    run_id: str
    kind: results.RunKind
    scope: Scope
    source: str = ""  # masked, without credentials
    selector: str = ""
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)

    @property
    def holds_lock(self) -> bool:
        """A sync holds the run lock on its scope; a dry run or a diff changes nothing and takes none."""
        return self.kind is results.RunKind.SYNC


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """A run as the store knows it: its registration, its state and its lease."""

    run_id: str
    kind: results.RunKind
    state: results.RunState
    started_at: str
    finished_at: str = ""
    fleet: str = ""
    clusters: tuple[str, ...] = ()
    holds_lock: bool = False
    host: str = ""
    pid: int = 0
    source: str = ""
    selector: str = ""
    revision: str = ""
    ok: bool = False
    heartbeat_at: float | None = None
    lease_expires_at: float | None = None
    message: str = ""

    def to_dict(self) -> dict[str, object]:
        from fleet.store import clock

        return {
            "run_id": self.run_id,
            "kind": self.kind.value,
            "state": self.state.value,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "host": self.host,
            "pid": self.pid,
            "fleet": self.fleet,
            "clusters": list(self.clusters),
            "holds_lock": self.holds_lock,
            "revision": self.revision,
            "ok": self.ok,
            "lease_expires_at": clock.iso(self.lease_expires_at) if self.lease_expires_at else "",
            "message": self.message,
        }


@dataclass(frozen=True)
class Holder:
    """A run that holds the run lock on some of the clusters another run asked for."""

    run_id: str
    kind: str
    host: str
    pid: int
    started_at: str
    lease_expires_at: float
    clusters: frozenset[str]  # the clusters both runs want


@dataclass(frozen=True)
class Registered:
    """What registering a run did: registered it (``holders`` empty) or found the lock held."""

    started_at: str = ""
    holders: tuple[Holder, ...] = ()
    interrupted: tuple[RunRecord, ...] = ()  # runs of the fleet whose expired lease this call recorded

    @property
    def ok(self) -> bool:
        return not self.holders


@dataclass(frozen=True)
class LastGood:
    """The last revision of an Application that a sync left Synced and Healthy on a cluster
    (what rollback returns to, and "which version runs where")."""

    cluster: str
    app: str
    revision: str
    run_id: str
    synced_at: str

    def to_dict(self) -> dict[str, str]:
        return {"revision": self.revision, "run_id": self.run_id, "synced_at": self.synced_at}


@dataclass(frozen=True)
class RolloutRecord:
    """Where a rollout of a fleet stands (what its last sync left) and what people decided about
    it (``fleet rollout approve|abort``): read by the next run's gates and by ``fleet rollout status``."""

    fleet: str
    rollout: str
    position: results.RolloutPosition
    run_id: str = ""
    updated_at: str = ""
    approved: int = 0  # the step whose manual gate is approved (0: none)
    approved_by: str = ""
    approved_at: str = ""
    aborted_by: str = ""
    aborted_at: str = ""
    abort_message: str = ""

    @property
    def aborted(self) -> bool:
        return bool(self.aborted_at)

    def to_dict(self) -> dict[str, object]:
        return {
            "fleet": self.fleet,
            "rollout": self.rollout,
            "steps": self.position.steps,
            "passed": self.position.passed,
            "completed": sorted(self.position.completed),
            "held_at": self.position.held_at,
            "gate": self.position.gate,
            "fingerprint": self.position.fingerprint,
            "run_id": self.run_id,
            "updated_at": self.updated_at,
            "approved": self.approved,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at,
            "aborted": self.aborted,
            "aborted_by": self.aborted_by,
            "aborted_at": self.aborted_at,
            "abort_message": self.abort_message,
        }


__all__ = ["Holder", "LastGood", "Registered", "Registration", "RolloutRecord", "RunRecord", "Scope"]
