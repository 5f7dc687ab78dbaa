"""What one run is asked to do: ``RunRequest``, as the CLI flags (or a library caller) say it,
and the checks of its flags that come before anything is read.

Where it sits: at the bottom of ``fleet.driver``; every phase reads the request, none changes it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path

from fleet import (
    appset,
    errors,
    executor,
    executor_runtime_env,
    lifecycle,
    models,
    notify,
    raynodes,
    repocreds,
    results,
    rollout,
)
from fleet import gates as step_gates  # the module, named apart from the request's field `gates`
from fleet.clusters import selectors
from fleet.secrets import resolver as secret_resolver
from fleet.store import lease as store_lease

Key = rollout.Key  # (cluster, Application)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunRequest:
    """Everything one run needs, as the CLI flags say it (library callers build it directly).

    Parameters:
        fleet: a directory (read as it is) or a git URL; with ``revision`` a local git repository
            is read at that revision too.
        revision: branch, tag or commit of a git fleet (default HEAD).
        kubeconfig, contexts, cluster_files, cluster_lists: the cluster registry's sources
            (``fleet.clusters.registry.load``); ``clusters`` replaces them all.
        repo_creds_files: files of Argo CD repository Secrets, repo-creds templates and the
            ``argocd-ssh-known-hosts-cm`` / ``argocd-tls-certs-cm`` ConfigMaps; ``cluster_files``
            are read for them too (``fleet.repocreds``); ``repo_credentials`` replaces them all.
        selector: cluster label selector; apps: Application name globs.
        kind: sync, dry run or diff.
        prune: prune objects removed from Git even where ``automated.prune`` is off.
        repo_map: ``{repoURL: directory}`` read instead of cloning (a pull request's working tree).
        in_cluster: whether Argo CD's implicit in-cluster destination exists (off: fleet runs
            outside the clusters it manages).
        cluster_timeout: seconds per cluster, from dispatch to result.
        concurrency: clusters in flight (local: in total; ray: per worker process).
    """

    fleet: str = "."
    revision: str | None = None
    kubeconfig: str | None = None
    contexts: tuple[str, ...] = ()
    cluster_files: tuple[str, ...] = ()
    cluster_lists: tuple[str, ...] = ()
    clusters: tuple[models.Cluster, ...] | None = None
    repo_creds_files: tuple[str, ...] = ()
    repo_credentials: repocreds.RepoCredentials | None = None
    selector: str | None = None
    apps: tuple[str, ...] = ()
    kind: results.RunKind = results.RunKind.SYNC
    prune: bool = False
    repo_map: Mapping[str, str] = dataclasses.field(default_factory=dict)
    in_cluster: bool = False
    argocd_namespace: str = appset.DEFAULT_NAMESPACE
    # The kubeconfig context of Argo CD's management cluster (``--argocd-context``): its cluster
    # Secrets join the registry, and the clusterDecisionResource and plugin generators read it.
    argocd_context: str | None = None
    executor: str = executor.ExecutorKind.RAY
    ray_address: str | None = None
    # How fleet reaches a Ray cluster's workers (``--ray-runtime-env``; None: a wheel of this
    # checkout on a named cluster, nothing on the private local Ray) and which clusters are pinned
    # to nodes with a custom resource (``--ray-placement``, fleet.raynodes).
    ray_runtime_env: executor_runtime_env.RuntimeEnvMode | None = None
    ray_placement: tuple[raynodes.Pin, ...] = ()
    cluster_timeout: float = 300.0
    health_timeout: float = 120.0
    request_timeout: float = 30.0
    concurrency: int = 16
    app_concurrency: int = 4
    qps: float = 50.0
    burst: int = 100
    state_dir: str | None = None
    # The status store (``--store`` / ``FLEET_STORE``; None: the SQLite file in ``state_dir``), how
    # long a sync waits for the run lock of its clusters (``--lock-wait``) and how long its lease
    # lasts without a heartbeat (``--lock-lease``).
    store: str | None = None
    lock_wait: float = 0.0
    lock_lease: float = store_lease.DEFAULT_TTL
    # Where git mirrors live (default $FLEET_CACHE_DIR/git or ~/.cache/fleet/git).
    git_cache: str | None = None
    # A mirror fetched this recently is not fetched again: about once per run, and a commit pushed
    # just before a run is seen by it.
    git_max_age: float = 2.0
    record: bool = True
    resolver: secret_resolver.Resolver | None = None  # None: the default providers
    # Progressive rollout by cluster labels (``--rollout``, in order) and batch sizes per step
    # (``--max-update``: once for every step or once per step); replaces ApplicationSets' RollingSync.
    rollout: tuple[str, ...] = ()
    max_update: tuple[str, ...] = ()
    # Set by the long-running loop (fleet.loop): the key under which workers keep the resolver
    # across runs, and the secrets refresh generation read at the start of this run.
    resolver_key: str = ""
    secrets_generation: int = 0
    # Notifications after the run is recorded (``--notify-*``; None: none). Never changes the result.
    notify: notify.NotifySettings | None = None
    # Health checks from Argo CD and Flux (``--resource-customizations``, ``--argocd-cm``,
    # ``--health-exprs``): local paths, winning over the fleet's own fleet.yaml (fleet.health.config).
    resource_customizations: tuple[str, ...] = ()
    argocd_cms: tuple[str, ...] = ()
    health_exprs: tuple[str, ...] = ()
    # Deletion safety (fleet.lifecycle): the fleet's name in its identity (``--fleet-name``), a fleet
    # that generates nothing (``--allow-empty``), inventories without an identity
    # (``--adopt-inventories``) and the deletion guard (``--max-delete``, ``--allow-mass-delete``).
    fleet_name: str = ""
    allow_empty: bool = False
    adopt_inventories: bool = False
    max_delete: str | None = None
    allow_mass_delete: bool = False
    # Change control (fleet.windows, fleet.gates, fleet.rollback): pass sync windows that allow
    # manual syncs (``--ignore-windows``), the gates between rollout steps and automatic rollback
    # as the flags set them (they win over the ApplicationSets' annotations), and how long a run
    # waits at a soak or metric gate before it leaves the rollout held for the next run.
    ignore_windows: bool = False
    gates: step_gates.GateSpec = dataclasses.field(default_factory=step_gates.GateSpec)
    gate_wait: float = 0.0


@dataclasses.dataclass(frozen=True)
class Flags:
    """The request's flags that need parsing, parsed: what selects, orders and guards the run."""

    selector: selectors.Selector | None
    rollout: rollout.Strategy | None  # --rollout and --max-update
    guard: lifecycle.DeletionGuard  # --max-delete and --allow-mass-delete
    # --step-soak, --step-approval, --step-metric, --prometheus-url and --auto-rollback
    gates: step_gates.GateSpec


def check(request: RunRequest) -> Flags:
    """The request's flags, checked before anything is read: bad input raises ``InputError``
    naming the flag."""
    for field_name, value in (
        ("--cluster-timeout", request.cluster_timeout),
        ("--request-timeout", request.request_timeout),
        ("--health-timeout", request.health_timeout),
        ("--concurrency", request.concurrency),
    ):
        if value <= 0:
            raise errors.InputError(f"must be positive (got {value})", field=field_name)
    return Flags(
        selector=parse_selector(request),
        rollout=rollout.parse_cli(request.rollout, request.max_update),
        guard=lifecycle.DeletionGuard.parse(request.max_delete, allow_mass=request.allow_mass_delete),
        gates=request.gates.check(where="--step-metric"),
    )


def parse_selector(request: RunRequest) -> selectors.Selector | None:
    return selectors.parse(request.selector, where="--selector") if request.selector else None


_SCP_URL = re.compile(r"^[^/]+@[^:/]+:")  # git@host:org/repo


def looks_local(path: str) -> bool:
    """A path rather than a URL (``https://``, ``ssh://``, ``git@host:org/repo``)."""
    return "://" not in path and not _SCP_URL.match(path)


def is_local(path: str) -> bool:
    """A fleet read from this machine's disk: a path that exists."""
    return looks_local(path) and Path(path).exists()


__all__ = ["Flags", "Key", "RunRequest", "check", "is_local", "looks_local", "parse_selector"]
