"""The unit of work of a cluster sync: built by the driver, pickled to the worker.

Where it sits: ``fleet.driver`` builds one ``ClusterWork`` per cluster (with its ``AppWork``s and the
run's ``WorkerSettings``) and hands it to the executor; ``fleet.reconcile.sync_cluster`` receives it,
maybe in another process or on another machine. Everything here is frozen, plain data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleet import lifecycle, models, projects, results
from fleet.health import config as health_config
from fleet.secrets import resolver as secret_resolver


@dataclass(frozen=True)
class WorkerSettings:
    """How to reconcile, the same for every cluster of a run."""

    kind: results.RunKind = results.RunKind.SYNC
    prune: bool | None = None  # True: prune whatever the policy says (``--prune``); None: per syncPolicy
    app_concurrency: int = 4  # Applications reconciled at once on one cluster
    qps: float = 50.0  # client-side rate limit per cluster
    burst: int = 100
    request_timeout: float = 30.0  # seconds to wait for one API answer
    health_timeout: float = 120.0  # seconds a wave may take to become healthy
    cluster_timeout: float | None = None  # the driver's per-cluster deadline, from dispatch
    poll_interval: float = 0.25  # first wait between two health polls (doubles up to 1 s)
    started_at: int = 0  # unix seconds of the run start (names of generateName hooks)
    retry: bool = True  # honour syncPolicy.retry
    # Long-running mode: the worker keeps the resolver under this key across runs (its TTL cache
    # survives in a Ray actor), and drops its cache when the refresh generation changes.
    resolver_key: str = ""
    secrets_generation: int = 0
    # The run's Lua and CEL health checks (scripts and expressions as text, only those for kinds
    # the run applies): every wave's health and every verdict use them.
    health: health_config.HealthConfig = field(default_factory=health_config.HealthConfig)
    # The fleet this run belongs to: recorded in every inventory it writes; an Application whose
    # inventory another fleet wrote is not synced over (None: library use without an identity).
    fleet: lifecycle.FleetIdentity | None = None
    # Where the worker keeps the live copies of a one-shot run's clusters between processes
    # (``livecache.disk_root()`` on the driver; '' none). Long-running runs ignore it: their
    # watches keep the copies current in memory (``sessions.Session``).
    live_cache_dir: str = ""

    @property
    def long_running(self) -> bool:
        """A run of a long-running loop (``--every``, ``fleet serve``: they set ``resolver_key``):
        the worker keeps watches on the cluster's LISTs between runs (``livecache``)."""
        return bool(self.resolver_key)

    @property
    def writes(self) -> bool:
        return self.kind is results.RunKind.SYNC


@dataclass(frozen=True)
class AppWork:
    """One Application on one cluster, rendered: everything the worker needs to reconcile it.

    ``manifests`` are as rendered on the driver: SOPS-encrypted objects still encrypted, secret
    references unresolved (plain JSON-able dicts).
    """

    name: str
    namespace: str  # the destination namespace
    manifests: tuple[Mapping[str, Any], ...]
    project: str = "default"
    appset: str = ""
    revision: str = ""
    sync_policy: Mapping[str, Any] | None = None
    ignore_differences: tuple[Mapping[str, Any], ...] = ()
    # Recorded with the inventory, to decide its deletion once it is no longer generated:
    applications_sync: str = "sync"  # its ApplicationSet's spec.syncPolicy.applicationsSync
    cascade: bool = True  # it carries the resources finalizer (deleting it deletes its resources)
    # Its AppProject's restrictions (None: the fleet defines no AppProjects): every object's
    # group/kind and namespace are checked before anything is written.
    project_rules: projects.ProjectRules | None = None
    # Encrypted files its ref+sops:// references read, by sha256 (shipped by the driver, see
    # fleet.secrets.sops.provider.ship): the worker needs no checkout of the source.
    shipped_files: Mapping[str, bytes] = field(default_factory=dict)
    # Applications of the same cluster it waits for (fleet.gitops.io/depends-on; fleet.dependencies).
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClusterWork:
    """One cluster's unit of work. Credentials stay as written (references unresolved).

    ``removal`` (only in a run that covers the whole fleet): also delete the Applications whose
    inventory is on the cluster but that are no longer generated (``fleet.lifecycle``).
    """

    cluster: models.Cluster
    apps: tuple[AppWork, ...]
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    # Travels as configuration only (its caches and live clients are not pickled); None: the
    # default providers. The worker opens one resolution per cluster from it.
    resolver: secret_resolver.Resolver | None = None
    removal: lifecycle.Removal | None = None
    # Applications of this cluster that ended Synced and Healthy in an earlier wave of this run:
    # dependencies already met.
    ready: frozenset[str] = frozenset()
    # Run again because the Ray node running it died mid-run (fleet.executor, issue 12): the lost
    # run may have applied objects and died while their wave waited for them, so this run waits
    # for such objects again (fleet.reconcile.app_sync) rather than taking them as done.
    resumed: bool = False

    def as_resumed(self) -> ClusterWork:
        """This work, to be run again after its first run was lost with its node (the executor's
        ``Resumable``)."""
        return dataclasses.replace(self, resumed=True)


# Ray pickles the work by class path: name the classes by the public path they have always had
# (``fleet.reconcile.ClusterWork``, where the driver imports them from), not by this module.
for _cls in (WorkerSettings, AppWork, ClusterWork):
    _cls.__module__ = "fleet.reconcile"
del _cls
