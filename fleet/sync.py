"""The sync driver: from a fleet repository to a ``RunResult``, fanning one unit out per cluster.

Where it sits: ``fleet sync`` / ``fleet diff`` (and ``fleet demo``) call ``run``. The driver does
what is the same for every cluster once, and leaves what touches a cluster to the workers:

1. source: the fleet is a local directory (read as it is on disk) or a git URL at ``--revision``
   (mirrored by ``fleet.gitsource``); the resolved commit is recorded;
2. clusters: the registry the flags describe (kubeconfig, Argo CD cluster Secrets, ClusterLists);
   the fleet's ``fleet.yaml`` and the health flags give the run's Lua and CEL health checks;
3. generate: ApplicationSets (and plain Applications) become Applications (``fleet.appset``),
   reading Argo CD's namespace on the management cluster (``--argocd-context``) where a
   clusterDecisionResource or plugin generator needs it;
   each destination (server or name) must be a registered cluster, or that Application is a
   generation error naming it; ``--selector`` (cluster labels) and ``--app`` (globs) narrow them;
4. render: every distinct source once, on a few threads, with the render cache, and with SOPS
   files left encrypted (``decrypt=False``): only ciphertext travels to the workers, which decrypt
   in memory. A source that fails to render fails its Application (RenderFailed), nothing else;
   charts from Helm repositories and OCI registries are resolved and downloaded here
   (``fleet.render.helmrepo``, ``fleet.render.ocichart``), and every repository is read with the
   credentials of the Argo CD repository Secrets the flags name (``fleet.repocreds``);
5. fan out: one self-contained ``reconcile.ClusterWork`` per cluster (credentials still as
   references, manifests, sync policy, ignoreDifferences, settings) to the executor (Ray by
   default, or local threads), with a timeout per cluster; a cluster that fails, hangs or loses
   its worker is reported with its reason while every other cluster finishes;
6. Applications removed from Git: the fan-out only reported what each cluster would delete; the
   deletion guard judges the whole run (``finish_removals``), and a sync then deletes on the
   clusters concerned, or nothing anywhere when the guard stops it;
7. collect the ``ClusterResult`` values into a ``RunResult`` and record it in the status store.

Safety before any cluster is touched: a fleet that generates no Application is refused unless
``allow_empty`` (an empty directory would otherwise delete everything, issue 8), and every
inventory records the fleet's identity (``fleet_identity``), so one fleet never deletes another's
Applications.

Around those phases (``run``), the run is registered in the status store before the fleet is
read: the registry gives the run lock's scope (the fleet, and the clusters ``--selector``
selects), a sync waits for and then holds that lock (``fleet.store.lease``) while a heartbeat
renews it, and the result is recorded in one transaction that ends the lease.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleet import (
    appset,
    argo,
    errors,
    executor,
    gitsource,
    lifecycle,
    log,
    models,
    notify,
    projects,
    reconcile,
    redact,
    render,
    repocreds,
    results,
    rollout,
    store,
)
from fleet.clusters import management, registry, selectors
from fleet.health import Health
from fleet.health import config as health_config
from fleet.render import cache as render_cache
from fleet.render import helmrepo, ocichart
from fleet.secrets import resolver as secret_resolver
from fleet.status import OperationPhase, Reason, SyncStatus
from fleet.store import lease as store_lease
from fleet.store import model as store_model

_log = log.get_logger(__name__)

WORK_FUNCTION = "fleet.reconcile:sync_cluster"
RENDER_THREADS = 4


class ExecutorKind:
    """Names accepted by ``--executor``."""

    RAY = "ray"  # Ray actors: local by default, an existing cluster with --ray-address / RAY_ADDRESS
    LOCAL = "local"  # a thread pool in this process (tiny fleets, the benchmark baseline)


@dataclass(frozen=True, kw_only=True)
class SyncRequest:
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
    repo_map: Mapping[str, str] = field(default_factory=dict)
    in_cluster: bool = False
    argocd_namespace: str = appset.DEFAULT_NAMESPACE
    # The kubeconfig context of Argo CD's management cluster (``--argocd-context``): its cluster
    # Secrets join the registry, and the clusterDecisionResource and plugin generators read it.
    argocd_context: str | None = None
    executor: str = ExecutorKind.RAY
    ray_address: str | None = None
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
    git_cache: str | None = (
        None  # where git mirrors live (default $FLEET_CACHE_DIR/git or ~/.cache/fleet/git)
    )
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


Key = rollout.Key  # (cluster, Application)


@dataclass
class RunPlan:
    """What the driver prepared before the fan-out: every selected Application, rendered, and the
    order the rollouts give them."""

    source: str
    revision: str
    clusters: dict[str, models.Cluster]
    works: dict[Key, reconcile.AppWork]  # every selected Application
    driver_results: dict[Key, results.AppResult]  # Applications that failed before the fan-out
    errors: list[str]
    application_count: int
    settings: reconcile.WorkerSettings = field(default_factory=reconcile.WorkerSettings)
    resolver: secret_resolver.Resolver | None = None
    schedule: rollout.Schedule = field(default_factory=rollout.Schedule)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # notes logged as warnings (the deletion guard)
    removals: dict[str, lifecycle.Removal] = field(default_factory=dict)  # cluster -> what to delete
    cli_rollout: rollout.Strategy | None = None
    guard: lifecycle.DeletionGuard = field(default_factory=lifecycle.DeletionGuard)

    def units_for(
        self,
        keys: Sequence[Key],
        *,
        removal: Iterable[str] = (),
        execute: Mapping[str, frozenset[str]] | None = None,
    ) -> list[executor.WorkUnit]:
        """One unit per cluster holding these Applications (those that failed on the driver
        need no worker), and for the clusters in ``removal`` the Applications removed from Git:
        reported only, or with ``execute`` (cluster -> names) carried out for those names."""
        removal = {name for name in removal if name in self.removals}
        by_cluster: dict[str, list[reconcile.AppWork]] = {name: [] for name in removal}
        for key in keys:
            if key in self.driver_results or key not in self.works:
                continue
            by_cluster.setdefault(key[0], []).append(self.works[key])
        return [
            executor.WorkUnit(
                name,
                reconcile.ClusterWork(
                    cluster=self.clusters[name],
                    apps=tuple(sorted(apps, key=lambda w: w.name)),
                    settings=self.settings,
                    resolver=self.resolver,
                    removal=self._removal(name, removal, execute),
                ),
            )
            for name, apps in sorted(by_cluster.items())
        ]

    def _removal(
        self, cluster: str, removal: set[str], execute: Mapping[str, frozenset[str]] | None
    ) -> lifecycle.Removal | None:
        if cluster not in removal:
            return None
        if execute is None:
            return self.removals[cluster]
        return dataclasses.replace(self.removals[cluster], execute=execute.get(cluster, frozenset()))

    def removal_step(self, cluster: str) -> int | None:
        """For a cluster with no Application in the run: the --rollout step in whose wave its
        removed Applications are deleted (0: the first wave; None: no step selects the cluster)."""
        if self.cli_rollout is None:
            return 0
        labels = self.clusters[cluster].labels
        for index, spec in enumerate(self.cli_rollout.steps):
            if spec.selector.matches(labels):
                return index + 1
        return None

    @property
    def units(self) -> list[executor.WorkUnit]:
        return self.units_for(sorted(self.works))


# --- sources -------------------------------------------------------------------------------------


_SCP_URL = re.compile(r"^[^/]+@[^:/]+:")  # git@host:org/repo


def _looks_local(path: str) -> bool:
    return "://" not in path and not _SCP_URL.match(path)


def _is_local(path: str) -> bool:
    return _looks_local(path) and Path(path).exists()


def _git_head(path: Path) -> str | None:
    """The commit of a local git working tree (``<sha>+dirty`` with uncommitted changes)."""
    if not (path / ".git").exists():
        return None
    try:
        import git

        repo = git.Repo(path)
        sha = repo.head.commit.hexsha
        return f"{sha}+dirty" if repo.is_dirty(untracked_files=True) else sha
    except Exception:  # noqa: BLE001 - an unborn branch or a broken repository: no commit to record
        return None


class Checkouts:
    """Source checkouts on the driver: ``(repoURL, targetRevision) -> (directory, commit)``.

    A ``repo_map`` directory is used in place (revision ``working-tree``); any other repository
    is mirrored by ``fleet.gitsource`` and its commit copied once into a temporary directory.
    Charts from Helm repositories (``chart``) come from ``charts``, one fetcher per run: each
    index is read once per run, each chart version fetched once (``fleet.render.helmrepo``).
    """

    def __init__(
        self, repos: gitsource.RepoCache, *, tmp: Path, charts: helmrepo.ChartFetcher | None = None
    ) -> None:
        self.repos = repos
        self.tmp = tmp
        self.charts = charts if charts is not None else helmrepo.ChartFetcher()
        self._lock = threading.Lock()
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._done: dict[tuple[str, str], tuple[Path, str]] = {}

    def get(self, url: str, revision: str) -> tuple[Path, str]:
        key = (gitsource.normalize_url(url), revision or "HEAD")
        with self._lock:
            if key in self._done:
                return self._done[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key in self._done:
                return self._done[key]
            source = self.repos.open(url, revision or "HEAD")
            if isinstance(source, gitsource.WorkTreeSource):
                found = (source.checkout(), gitsource.WORKTREE)
            else:
                sha = source.resolve_revision()
                target = self.tmp / f"{hashlib.sha256(key[0].encode()).hexdigest()[:12]}-{sha[:12]}"
                if not target.exists():
                    source.materialize("", target)
                found = (target, sha)
            with self._lock:
                self._done[key] = found
            return found

    def chart(self, url: str, chart: str, revision: str, *, app: str, where: str) -> tuple[Path, str]:
        """A chart from a Helm repository or an OCI registry: (the unpacked chart directory, the
        revision: the chart version; for an ``oci://`` source without ``chart``, the manifest
        digest, as Argo CD shows an OCI source's revision)."""
        fetched = self.charts.fetch(url, chart, revision, app=app, where=where)
        if not chart and fetched.manifest_digest:
            return fetched.path, fetched.manifest_digest
        return fetched.path, fetched.version


def is_chart_source(source: Mapping[str, Any]) -> bool:
    """A source whose files come from a Helm repository or an OCI registry rather than git."""
    return bool(source.get("chart")) or ocichart.is_oci(str(source.get("repoURL") or ""), "")


def load_repo_credentials(request: SyncRequest) -> repocreds.RepoCredentials:
    """The run's repository credentials: ``repo_credentials``, or the repository Secrets, templates
    and ConfigMaps of Argo CD's namespace on the management cluster (``--argocd-context``), then
    of the ``--clusters`` and ``--repo-creds`` files, a later Secret of the same URL winning, as
    for clusters (bad input raises InputError)."""
    if request.repo_credentials is not None:
        return request.repo_credentials.with_resolver(request.repo_credentials.resolver or request.resolver)
    found = repocreds.RepoCredentials(resolver=request.resolver)
    if request.argocd_context:
        with management.open_context(
            request.argocd_context, kubeconfig_paths=request.kubeconfig, namespace=request.argocd_namespace
        ) as live:
            found = repocreds.read_live(live.api, namespace=request.argocd_namespace, resolver=request.resolver)
    files = [*request.cluster_files, *request.repo_creds_files]
    return found.merge(repocreds.load(files, namespace=request.argocd_namespace, resolver=request.resolver))


def open_fleet(request: SyncRequest, repos: gitsource.RepoCache) -> appset.Fleet:
    """The fleet's ApplicationSets, Applications and AppProjects, and the revision read."""
    where = request.fleet
    if _looks_local(where) and not Path(where).exists():
        raise errors.InputError("does not exist (give a directory or a git URL)", file=where)
    if _is_local(where) and request.revision is None:
        fleet = appset.load_fleet(where)
        head = _git_head(Path(where)) if Path(where).is_dir() else None
        if head:
            fleet = appset.Fleet(
                appsets=fleet.appsets,
                applications=fleet.applications,
                projects=fleet.projects,
                files=fleet.files,
                revision=head,
                source=fleet.source,
                ignored=fleet.ignored,
            )
        return fleet
    url = str(Path(where).resolve()) if _is_local(where) else where
    source = repos.open(url, request.revision or "HEAD")
    return appset.load_fleet(source)


def fleet_identity(request: SyncRequest) -> lifecycle.FleetIdentity:
    """Which fleet this run is: recorded in every inventory it writes, so that it only ever
    deletes Applications it synced itself (``fleet.lifecycle``)."""
    name = lifecycle.check_fleet_name(request.fleet_name)
    if not _is_local(request.fleet):
        return lifecycle.FleetIdentity(gitsource.normalize_url(redact.safe_url(request.fleet)), name)
    return lifecycle.FleetIdentity(_local_repository(Path(request.fleet).resolve()), name)


def _local_repository(path: Path) -> str:
    """A local fleet's repository: the ``origin`` remote of the git repository holding it (so a
    checkout and a run from the URL are one fleet), else the repository's own path, followed by
    ``//folder`` when the fleet is a folder inside it; ``file://PATH`` outside git."""
    try:
        import git

        with git.Repo(path, search_parent_directories=True) as repo:
            top = Path(repo.working_tree_dir or repo.git_dir).resolve()
            origin = next((remote.url for remote in repo.remotes if remote.name == "origin"), "")
    except Exception:  # noqa: BLE001 - not a git repository (or an unreadable one): its path is its identity
        return path.as_uri()
    base = gitsource.normalize_url(redact.safe_url(origin)) if origin else top.as_uri()
    inner = path.relative_to(top).as_posix() if path.is_relative_to(top) else "."
    return base if inner == "." else f"{base}//{inner}"


def refuse_empty_fleet(request: SyncRequest, fleet: appset.Fleet, generated: appset.GenerateResult) -> None:
    """A fleet that generates no Application at all is bad input unless it is meant to be empty
    (``allow_empty``): a run from the wrong directory would otherwise delete every Application it
    synced before (issue 8, item 1). Generation errors are reported as such instead."""
    if request.allow_empty or generated.errors or generated.invalid:
        return
    if any(result.applications for result in generated.results) or generated.standalone:
        return
    what = (
        f"its {len(fleet.appsets)} ApplicationSet(s) generate no Application for the registered clusters"
        if fleet.appsets
        else "holds no ApplicationSet and no Application"
    )
    raise errors.InputError(
        f"{what}: refused, since a sync of an empty fleet deletes every Application it synced before; "
        "pass --allow-empty if the fleet is meant to be empty",
        file=redact.safe_url(request.fleet),
    )


# --- generation and selection ----------------------------------------------------------------------


def build_registry(request: SyncRequest) -> registry.Registry:
    if request.clusters is not None:
        return registry.Registry(request.clusters)
    return registry.load(
        kubeconfig_paths=request.kubeconfig,
        contexts=list(request.contexts) or None,
        files=list(request.cluster_files),
        cluster_lists=list(request.cluster_lists),
        argocd_context=request.argocd_context,
        argocd_namespace=request.argocd_namespace,
    )


def fleet_key(request: SyncRequest) -> str:
    """The fleet a run lock is taken on: a git fleet's normalised URL (without credentials), or
    a local fleet directory's absolute path as a file:// URL."""
    if _is_local(request.fleet):
        return Path(request.fleet).resolve().as_uri()
    return gitsource.normalize_url(redact.safe_url(request.fleet))


def run_scope(request: SyncRequest, clusters: Sequence[models.Cluster]) -> store_model.Scope:
    """The run lock's scope: the fleet, and the names of the registered clusters that
    ``--selector`` selects (all of them without one). ``--app`` does not narrow it: a run
    narrowed to some Applications still holds their clusters."""
    selector = selectors.parse(request.selector, where="--selector") if request.selector else None
    names = frozenset(c.name for c in clusters if selector is None or selector.matches(c.labels))
    return store_model.Scope(fleet=fleet_key(request), clusters=names)


def destination_cluster(app: argo.Application, clusters: Sequence[models.Cluster]) -> models.Cluster | None:
    """The registered cluster an Application's destination names (server URL or name)."""
    dest = app.destination
    server = (dest.server or "").rstrip("/")
    name = dest.name or ""
    for cluster in clusters:
        if server and cluster.server.rstrip("/") == server:
            return cluster
        if not server and name and cluster.name == name:
            return cluster
    return None


# --- rendering ----------------------------------------------------------------------------------


@dataclass
class _Rendered:
    app: argo.Application
    appset: str
    cluster: models.Cluster
    manifests: list[dict[str, Any]] = field(default_factory=list)
    revision: str = ""
    failure: tuple[Reason, str] | None = None
    project_rules: projects.ProjectRules | None = None
    shipped: dict[str, bytes] = field(default_factory=dict)  # ref+sops:// files, encrypted, by digest


def _render_one(item: _Rendered, checkouts: Checkouts, cache: Any) -> None:
    spec = item.app.to_dict().get("spec") or {}
    sources = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    namespace = str((spec.get("destination") or {}).get("namespace") or "")
    if not sources:
        item.failure = (Reason.INVALID_SPEC, f"application {item.app.name} has no source (spec.source)")
        return
    try:
        dirs, revisions = [], []
        for index, source in enumerate(sources):
            if is_chart_source(source):
                # The unpacked chart is this source's directory, and its version the revision.
                path, version = checkouts.chart(
                    str(source.get("repoURL") or ""),
                    str(source.get("chart") or ""),
                    str(source.get("targetRevision") or ""),
                    app=item.app.name,
                    where=f"spec.sources[{index}]" if spec.get("sources") else "spec.source",
                )
                dirs.append(path)
                revisions.append(version)
                continue
            path, sha = checkouts.get(
                str(source.get("repoURL") or ""), str(source.get("targetRevision") or "HEAD")
            )
            dirs.append(path)
            revisions.append(sha)
    except gitsource.RepoEscapeError as exc:  # a symlink out of the repository: not retryable
        item.failure = (Reason.RENDER_FAILED, redact.mask(str(exc)))
        return
    except (gitsource.RepoError, helmrepo.ChartError) as exc:
        item.failure = (Reason.SOURCE_FAILED, redact.mask(str(exc)))
        return
    except errors.FleetError as exc:
        item.failure = (Reason.RENDER_FAILED, redact.mask(str(exc)))
        return
    # Argo CD shows a Helm repository chart's version as the revision: the first chart source's.
    item.revision = revisions[next((i for i, s in enumerate(sources) if is_chart_source(s)), 0)]
    try:
        if spec.get("sources"):
            item.manifests = render.render_sources(
                sources,
                source_dirs=dirs,
                app_name=item.app.name,
                namespace=namespace,
                revisions=revisions,
                cache=cache,
                decrypt=False,
            )
        else:
            item.manifests = render.render_source(
                sources[0],
                source_dir=dirs[0],
                app_name=item.app.name,
                namespace=namespace,
                revision=revisions[0],
                cache=cache,
                decrypt=False,
            )
    except errors.FleetError as exc:
        item.failure = (Reason.RENDER_FAILED, redact.mask(str(exc)))
        return
    except Exception as exc:  # noqa: BLE001 - a tool's crash fails this Application only
        item.failure = (
            Reason.RENDER_FAILED,
            redact.mask(f"application {item.app.name}: {type(exc).__name__}: {exc}"),
        )
        return
    # ref+sops:// paths are relative to the Application's source: ship those encrypted files with
    # the work, since a worker on another machine has no checkout.
    from fleet.secrets import refs as secret_refs
    from fleet.secrets.sops import provider as sops_provider

    index = next((i for i, source in enumerate(sources) if source.get("path")), 0)
    try:
        item.manifests, item.shipped = sops_provider.ship(
            item.manifests, base_dir=Path(dirs[index]) / str(sources[index].get("path") or "")
        )
    except secret_refs.SecretError as exc:
        item.failure = (Reason.SECRET_RESOLUTION_FAILED, redact.mask(f"application {item.app.name}: {exc}"))


def render_all(items: Sequence[_Rendered], checkouts: Checkouts, *, cache: Any) -> None:
    """Render every Application's sources; a source shared by many Applications renders once.

    The first Application of each distinct source renders first, so the others find its output
    in the cache instead of rendering it again on another thread at the same time.
    """
    first: dict[str, _Rendered] = {}
    rest: list[_Rendered] = []
    for item in items:
        spec = item.app.to_dict().get("spec") or {}
        key = json.dumps([spec.get("source"), spec.get("sources")], sort_keys=True, default=str)
        if key in first:
            rest.append(item)
        else:
            first[key] = item
    with (
        log.progress("rendering applications", total=len(items)) as bar,
        concurrent.futures.ThreadPoolExecutor(
            max_workers=RENDER_THREADS, thread_name_prefix="fleet-render"
        ) as pool,
    ):
        for batch in (list(first.values()), rest):
            futures = {pool.submit(_render_one, item, checkouts, cache): item for item in batch}
            for future in concurrent.futures.as_completed(futures):
                future.result()
                item = futures[future]
                bar.advance(item=item.app.name, status="failed" if item.failure else "ok")


# --- the plan of a run --------------------------------------------------------------------------


def settings_for(
    request: SyncRequest,
    started_at: float,
    *,
    health: health_config.HealthConfig | None = None,
    fleet: lifecycle.FleetIdentity | None = None,
) -> reconcile.WorkerSettings:
    return reconcile.WorkerSettings(
        kind=request.kind,
        prune=True if request.prune else None,
        app_concurrency=request.app_concurrency,
        qps=request.qps,
        burst=request.burst,
        request_timeout=request.request_timeout,
        health_timeout=request.health_timeout,
        cluster_timeout=request.cluster_timeout,
        started_at=int(started_at),
        resolver_key=request.resolver_key,
        secrets_generation=request.secrets_generation,
        health=health or health_config.HealthConfig(),
        fleet=fleet,
    )


def fleet_health(request: SyncRequest, repos: gitsource.RepoCache) -> health_config.HealthConfig:
    """The run's configured health checks: the flags' files over the fleet's ``fleet.yaml``."""
    flags = health_config.from_paths(
        resource_customizations=request.resource_customizations,
        argocd_cms=request.argocd_cms,
        health_exprs=request.health_exprs,
    )
    where = request.fleet
    if _is_local(where) and request.revision is None:
        if not Path(where).is_dir():
            return flags  # a single file of ApplicationSets has no fleet.yaml
        source: gitsource.Source = gitsource.WorkTreeSource(where, url=where)
    else:
        url = str(Path(where).resolve()) if _is_local(where) else where
        source = repos.open(url, request.revision or "HEAD")
    return flags.over(health_config.from_fleet(source))


def _kinds(works: Iterable[reconcile.AppWork]) -> set[tuple[str, str]]:
    """Every group/kind a run applies (what its health checks can be asked about)."""
    from fleet import health

    return {health.group_kind(obj) for work in works for obj in work.manifests}


def prepare_run(request: SyncRequest, *, tmp: Path, started_at: float | None = None) -> RunPlan:
    """Everything before the fan-out: source, clusters, generation, selection, rendering.

    Raises ``InputError`` for bad input (a flag, an unreadable file, an invalid object, a
    selection that matches nothing); nothing has touched a cluster then.
    """
    started_at = started_at or time.time()
    for field_name, value in (
        ("--cluster-timeout", request.cluster_timeout),
        ("--request-timeout", request.request_timeout),
        ("--health-timeout", request.health_timeout),
        ("--concurrency", request.concurrency),
    ):
        if value <= 0:
            raise errors.InputError(f"must be positive (got {value})", field=field_name)
    selector = selectors.parse(request.selector, where="--selector") if request.selector else None
    cli_rollout = rollout.parse_cli(request.rollout, request.max_update)
    guard = lifecycle.DeletionGuard.parse(request.max_delete, allow_mass=request.allow_mass_delete)
    identity = fleet_identity(request)
    root = Path(request.git_cache) if request.git_cache else gitsource.cache_root()
    credentials = load_repo_credentials(request)
    repos = gitsource.RepoCache(
        root, max_age=request.git_max_age, repo_map=request.repo_map, credentials=credentials
    )
    fleet = open_fleet(request, repos)
    checks = fleet_health(request, repos)
    reg = build_registry(request)
    every_cluster = reg.clusters()
    with contextlib.ExitStack() as stack:
        argocd = None
        if request.argocd_context:
            argocd = stack.enter_context(
                management.open_context(
                    request.argocd_context, kubeconfig_paths=request.kubeconfig, namespace=request.argocd_namespace
                )
            )
        generated = appset.expand_fleet(
            fleet,
            clusters=every_cluster,
            in_cluster=request.in_cluster,
            repos=repos,
            argocd_namespace=request.argocd_namespace,
            argocd=argocd,
        )
    refuse_empty_fleet(request, fleet, generated)
    # AppProject restrictions apply when the fleet defines AppProjects (then, as in Argo CD, an
    # Application of an undefined project is invalid, and `default` is permissive unless defined).
    project_rules = projects.rules_by_name(fleet.projects) if fleet.projects else None
    problems: list[str] = [redact.mask(str(e)) for e in generated.errors]
    problems.extend(redact.mask(str(i)) for i in generated.invalid)
    for warning in generated.warnings:
        _log.warning(warning)
    pairs: list[tuple[argo.Application, str]] = []
    for result in generated.results:
        pairs.extend((app, result.name) for app in result.applications)
    pairs.extend((app, "") for app in generated.standalone)

    selected: list[_Rendered] = []
    # Names whose destination is unsure this run: never deleted anywhere because of this run.
    uncertain: set[str] = {i.name for i in generated.invalid if i.name}
    seen: dict[tuple[str, str], str] = {}
    matched_any_app = False
    for app, appset_name in pairs:
        if request.apps and not any(fnmatch.fnmatchcase(app.name, pattern) for pattern in request.apps):
            continue
        matched_any_app = True
        cluster = destination_cluster(app, every_cluster)
        if cluster is None:
            dest = app.destination.server or app.destination.name or "<none>"
            problems.append(f"Application {app.name}: destination {dest!r} is not a registered cluster")
            uncertain.add(app.name)
            continue
        if selector is not None and not selector.matches(cluster.labels):
            continue
        rules = project_rules.get(app.project) if project_rules is not None else None
        if project_rules is not None:
            refused = (
                projects.check_application(
                    rules,
                    repo_urls=[s.repo_url for s in app.sources_list()],
                    server=cluster.server,
                    name=cluster.name,
                    namespace=app.destination.namespace or "",
                )
                if rules is not None
                else [f"project {app.project} does not exist"]
            )
            if refused:
                problems.append(f"Application {app.name} (project {app.project}): {'; '.join(refused)}")
                uncertain.add(app.name)
                continue
        key = (cluster.name, app.name)
        if key in seen:
            uncertain.add(app.name)
            problems.append(
                f"Application {app.name}: defined twice for cluster {cluster.name} "
                f"(ApplicationSets {seen[key] or '-'} and {appset_name or '-'})"
            )
            continue
        seen[key] = appset_name
        selected.append(_Rendered(app=app, appset=appset_name, cluster=cluster, project_rules=rules))
    if request.apps and not matched_any_app:
        raise errors.InputError(f"no Application matches {', '.join(request.apps)}", field="--app")
    if selector is not None and not any(selector.matches(c.labels) for c in every_cluster):
        raise errors.InputError(f"no registered cluster matches {request.selector!r}", field="--selector")

    # Working trees can change under the same "revision": they get a cache of their own per run.
    cache = render_cache.MemoryCache() if (request.repo_map or _is_local(request.fleet)) else None
    checkouts = Checkouts(repos, tmp=tmp, charts=helmrepo.ChartFetcher(credentials=credentials))
    render_all(selected, checkouts, cache=cache)

    policies = {
        r.name: lifecycle.AppSetPolicy(
            r.appset.applications_sync.value, r.appset.preserve_resources_on_deletion
        )
        for r in generated.results
    }
    works: dict[Key, reconcile.AppWork] = {}
    driver_results: dict[Key, results.AppResult] = {}
    clusters: dict[str, models.Cluster] = {}
    candidates: list[rollout.Candidate] = []
    for item in sorted(selected, key=lambda i: (i.cluster.name, i.app.name)):
        spec = item.app.to_dict().get("spec") or {}
        key = (item.cluster.name, item.app.name)
        clusters[item.cluster.name] = item.cluster
        work = reconcile.AppWork(
            name=item.app.name,
            namespace=str((spec.get("destination") or {}).get("namespace") or ""),
            manifests=tuple(item.manifests),
            project=item.app.project,
            appset=item.appset,
            revision=item.revision,
            sync_policy=spec.get("syncPolicy"),
            ignore_differences=tuple(spec.get("ignoreDifferences") or ()),
            applications_sync=policies[item.appset].applications_sync if item.appset in policies else "sync",
            cascade=lifecycle.has_resources_finalizer(item.app.metadata.finalizers),
            project_rules=item.project_rules,
            shipped_files=item.shipped,
        )
        works[key] = work
        if item.failure is not None:
            reason, message = item.failure
            driver_results[key] = reconcile.failed_app(
                work, cluster=item.cluster.name, reason=reason, message=message
            )
        candidates.append(
            rollout.Candidate(
                cluster=item.cluster.name,
                app=item.app.name,
                appset=item.appset,
                app_labels=dict(item.app.metadata.labels),
                cluster_labels=dict(item.cluster.labels),
            )
        )
    # Only the checks that can match a kind of this run travel to the workers.
    settings = settings_for(
        request, started_at, health=checks.for_kinds(_kinds(works.values())), fleet=identity
    )
    schedule, notes = _schedule(
        generated, candidates, cli=cli_rollout, manual=bool(request.apps), problems=problems
    )
    # Applications removed from Git are deleted only by a run that sees the whole fleet: a run
    # narrowed by --app or --selector cannot tell "removed" from "not selected".
    removals: dict[str, lifecycle.Removal] = {}
    if request.apps or selector is not None:
        flags = " and ".join(f for f, given in (("--app", request.apps), ("--selector", selector)) if given)
        notes.append(
            f"Applications removed from Git are neither deleted nor reported in a run narrowed by {flags}: "
            "run without them to delete them"
        )
    else:
        failed_appsets = frozenset(r.name for r in generated.results if r.error is not None)
        for cluster in every_cluster:
            clusters.setdefault(cluster.name, cluster)
            removals[cluster.name] = lifecycle.Removal(
                keep=frozenset({app for c, app in works if c == cluster.name} | uncertain),
                failed_appsets=failed_appsets,
                appsets=policies,
                fleet=identity,
                adopt=request.adopt_inventories,
            )
    return RunPlan(
        source=fleet.source,
        revision=fleet.revision,
        clusters=clusters,
        works=works,
        driver_results=driver_results,
        errors=problems,
        application_count=len(selected),
        settings=settings,
        resolver=request.resolver,
        schedule=schedule,
        notes=notes,
        removals=removals,
        cli_rollout=cli_rollout,
        guard=guard,
    )


def _schedule(
    generated: appset.GenerateResult,
    candidates: Sequence[rollout.Candidate],
    *,
    cli: rollout.Strategy | None,
    manual: bool,
    problems: list[str],
) -> tuple[rollout.Schedule, list[str]]:
    """The run's rollouts: ``--rollout`` when given, else each ApplicationSet's RollingSync
    strategy (an invalid one is an error of that ApplicationSet; none of its Applications syncs)."""
    used = {c.appset for c in candidates if c.appset}
    strategies: dict[str, rollout.Strategy] = {}
    invalid: dict[str, str] = {}
    notes: list[str] = []
    for result in generated.results:
        if result.name not in used:
            continue
        try:
            strategy = rollout.parse_rolling_sync(result.appset)
        except rollout.InvalidRolloutConfig as exc:
            invalid[result.name] = redact.mask(str(exc))
            continue
        if strategy is not None:
            strategies[result.name] = strategy
    if cli is not None:
        if strategies or invalid:
            notes.append(
                "--rollout replaces the RollingSync strategy of ApplicationSet(s) "
                f"{', '.join(sorted({*strategies, *invalid}))} for this run"
            )
        return rollout.plan(candidates, cli=cli, manual=manual), notes
    problems.extend(f"InvalidRolloutConfig: {message}" for _, message in sorted(invalid.items()))
    return rollout.plan(candidates, strategies=strategies, invalid=invalid, manual=manual), notes


# --- executors ----------------------------------------------------------------------------------


def project_root() -> Path | None:
    """The source checkout fleet runs from (where pyproject.toml is), if it runs from one."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


_WHEEL_SOURCES = ("pyproject.toml", "setup.py", "fleet", "generators", "secrets", "clusters")


def build_wheel(dest: Path) -> Path:
    """A wheel of this checkout in ``dest``: what a remote Ray cluster's workers import
    (``runtime_env.py_modules``), so they need nothing from the driver's disk.

    The sources are copied first, so the build never writes into the checkout (and setuptools'
    ``build/`` directory cannot carry stale modules into the wheel).
    """
    root = project_root()
    if root is None:
        raise errors.PermanentError(
            "fleet does not run from a source checkout; install the same fleet version "
            "on the Ray cluster instead of shipping a wheel"
        )
    source = dest / "src"
    for name in _WHEEL_SOURCES:
        if (root / name).is_dir():
            shutil.copytree(root / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif (root / name).is_file():
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, source / name)
    # An isolated build: pip installs what pyproject.toml's build-system asks for, as for any wheel.
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dest), str(source)],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise errors.PermanentError(
            f"building the fleet wheel failed: {detail.decode(errors='replace')[-400:]}"
        ) from exc
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise errors.PermanentError(f"pip wheel produced no wheel in {dest}")
    return wheels[-1]


def make_executor(request: SyncRequest, *, tmp: Path | None = None) -> executor.Executor:
    """The executor ``--executor`` asks for. Without ``--ray-address`` or ``RAY_ADDRESS``, a Ray
    private to this run (never a cluster the host happens to know about); a named Ray cluster must
    answer within ``executor.RAY_CONNECT_TIMEOUT`` (``errors.ExecutorUnavailable``, exit 4) and
    gets fleet as a wheel in ``runtime_env.py_modules``."""
    if request.executor == ExecutorKind.LOCAL:
        return executor.LocalExecutor(max_workers=request.concurrency)
    if request.executor != ExecutorKind.RAY:
        raise errors.InputError(f"{request.executor!r}: want ray or local", field="--executor")
    address = request.ray_address or os.environ.get("RAY_ADDRESS") or None
    runtime_env = None
    if address and address != executor.PRIVATE_RAY:
        executor.probe_ray_address(address)  # before building a wheel for a cluster that is not there
        wheel_dir = Path(tempfile.mkdtemp(prefix="fleet-wheel-", dir=tmp))
        runtime_env = {"py_modules": [str(build_wheel(wheel_dir))]}
        _log.info(
            "shipping fleet to the Ray cluster as a wheel",
            extra={"fields": {"address": redact.safe_url(address)}},
        )
    return executor.RayExecutor(address=address, slots=request.concurrency, runtime_env=runtime_env)


# --- the run -----------------------------------------------------------------------------------


def _outcome_result(
    outcome: executor.UnitOutcome, unit: executor.WorkUnit, timeout: float
) -> results.ClusterResult:
    work: reconcile.ClusterWork = unit.payload
    if outcome.state is executor.UnitState.DONE:
        value: results.ClusterResult = outcome.value
        return value.model_copy(update={"worker": outcome.worker or value.worker})
    if outcome.state is executor.UnitState.TIMEOUT:
        return reconcile.failed_cluster(
            work,
            reason=Reason.TIMEOUT,
            seconds=outcome.seconds,
            worker=outcome.worker,
            message=f"cluster {work.cluster.name}: no result within {timeout:g}s "
            "(--cluster-timeout); it may be hanging",
        )
    if outcome.state is executor.UnitState.WORKER_DIED:
        return reconcile.failed_cluster(
            work,
            reason=Reason.WORKER_LOST,
            seconds=outcome.seconds,
            worker=outcome.worker,
            message=f"cluster {work.cluster.name}: {outcome.error}",
        )
    # The work function itself raised: a bug, not the cluster's doing; the worker gave no result.
    return reconcile.failed_cluster(
        work,
        reason=Reason.WORKER_LOST,
        seconds=outcome.seconds,
        worker=outcome.worker,
        message=f"cluster {work.cluster.name}: the worker failed: {outcome.error}",
    )


def fan_out(
    run_plan: RunPlan,
    ex: executor.Executor | None,
    *,
    timeout: float,
    kind: results.RunKind,
    keys: Sequence[Key] | None = None,
    removal: Iterable[str] = (),
    execute: Mapping[str, frozenset[str]] | None = None,
    label: str = "",
) -> list[results.ClusterResult]:
    """Run these Applications (default: all), one unit per cluster (and the Applications removed
    from Git on the clusters in ``removal``: reported, or deleted as ``execute`` says); merge in
    the Applications that failed on the driver (``ex`` may be None only when there is no unit)."""
    keys = sorted(run_plan.works) if keys is None else list(keys)
    units = run_plan.units_for(keys, removal=removal, execute=execute)
    by_key = {unit.key: unit for unit in units}
    collected: dict[str, results.ClusterResult] = {}
    verb = {
        results.RunKind.SYNC: "syncing",
        results.RunKind.DRY_RUN: "dry-running",
        results.RunKind.DIFF: "comparing",
    }[kind]
    if by_key:
        if ex is None:
            raise ValueError("an executor is needed to run work units")
        title = f"{verb} clusters" + (f" ({label})" if label else "")
        with log.progress(title, total=len(by_key)) as bar:
            for outcome in ex.run(WORK_FUNCTION, units, timeout=timeout):
                unit = by_key[outcome.key]
                result = _outcome_result(outcome, unit, timeout)
                collected[outcome.key] = result
                status = "ok" if result.ok else (result.reason.value if result.reason else "attention")
                bar.advance(item=outcome.key, status=status)
                if result.reason is not None:
                    _log.warning(
                        f"cluster {result.cluster} failed: {result.reason.value}",
                        extra={
                            "fields": {
                                "cluster": result.cluster,
                                "reason": result.reason.value,
                                "error": redact.mask(result.message),
                            }
                        },
                    )
                _log.debug(
                    "cluster finished",
                    extra={
                        "fields": {
                            "cluster": result.cluster,
                            "ok": result.ok,
                            "requests": result.request_total,
                            "seconds": result.seconds,
                            "reason": result.reason.value if result.reason else "",
                        }
                    },
                )
    extra: dict[str, list[results.AppResult]] = {}
    for key in keys:
        if key in run_plan.driver_results:
            extra.setdefault(key[0], []).append(run_plan.driver_results[key])
    for apps in extra.values():
        for app in apps:
            log_failures(app)
    for cluster_result in collected.values():
        log_failures(cluster_result)
    out = []
    for name in sorted(set(collected) | set(extra)):
        cluster = run_plan.clusters[name]
        result = collected.get(name) or results.ClusterResult(cluster=name, server=cluster.server)
        if name in extra:
            result = result.model_copy(
                update={"apps": tuple(sorted((*result.apps, *extra[name]), key=lambda a: a.name))}
            )
        out.append(result)
    return out


def log_failures(found: results.AppResult | results.ClusterResult) -> None:
    """Log the full (masked) message of every Application that failed, once: tables show only
    its root cause (``results.root_cause``). A cluster that failed as a whole was logged already."""
    if isinstance(found, results.ClusterResult):
        if found.reason is None:
            for app in found.apps:
                log_failures(app)
        return
    if not found.reason.is_failure() or not found.message:
        return
    _log.warning(
        f"application {found.name} on cluster {found.cluster}: {found.reason.value}",
        extra={
            "fields": {
                "cluster": found.cluster,
                "app": found.name,
                "reason": found.reason.value,
                "error": redact.mask(found.message),
            }
        },
    )


def merge_cluster_results(
    first: results.ClusterResult | None, second: results.ClusterResult
) -> results.ClusterResult:
    """One cluster's results of two waves of a rollout, as one."""
    if first is None:
        return second
    requests = dict(first.requests)
    for verb, count in second.requests.items():
        requests[verb] = requests.get(verb, 0) + count
    return first.model_copy(
        update={
            "reachable": first.reachable and second.reachable,
            "reason": first.reason or second.reason,
            "message": first.message or second.message,
            "apps": tuple(sorted((*first.apps, *second.apps), key=lambda a: a.name)),
            "requests": requests,
            "seconds": round(first.seconds + second.seconds, 3),
            "worker": second.worker or first.worker,
        }
    )


def not_started_app(
    work: reconcile.AppWork, *, cluster: str, reason: Reason, message: str
) -> results.AppResult:
    """An Application this run did not reach (its rollout step did not start, or no step selects it)."""
    return results.AppResult(
        name=work.name,
        cluster=cluster,
        project=work.project,
        namespace=work.namespace,
        appset=work.appset,
        revision=work.revision,
        sync_status=SyncStatus.UNKNOWN,
        health=Health.UNKNOWN,
        phase=OperationPhase.NOT_STARTED,
        reason=reason,
        message=redact.mask(message),
    )


# --- Applications removed from Git: the deletion guard, then the deletions -------------------------

_PLANNED = (results.Deletion.WOULD_DELETE, results.Deletion.WOULD_PRESERVE)


def finish_removals(
    run_plan: RunPlan,
    merged: Mapping[str, results.ClusterResult],
    get_executor: Callable[[], executor.Executor],
    *,
    timeout: float,
    kind: results.RunKind,
) -> dict[str, results.ClusterResult]:
    """Judge and carry out the deletions the fan-out reported (``lifecycle.Removal``, two passes).

    1. what every cluster would delete or preserve, from the first pass;
    2. the deletion guard, over the whole run: when a cluster goes past it, nothing is deleted
       anywhere and every planned removal is reported as DeleteBlocked, with a note naming the
       flags (a dry run or a diff says the same of what a sync would do);
    3. a sync then deletes, on the clusters concerned only, exactly what the first pass planned.
    """
    planned = {
        name: frozenset(a.name for a in result.apps if a.deletion in _PLANNED)
        for name, result in merged.items()
    }
    planned = {name: names for name, names in planned.items() if names}
    if not planned:
        return dict(merged)
    stops = deletion_guard_stops(run_plan, merged)
    if stops:
        note = guard_note(stops, run_plan.guard, kind=kind)
        run_plan.warnings.append(note)
        return {name: block_removals(result, note, kind=kind) for name, result in merged.items()}
    if kind is not results.RunKind.SYNC:
        return dict(merged)
    second = fan_out(
        run_plan,
        get_executor(),
        timeout=timeout,
        kind=kind,
        keys=(),
        removal=set(planned),
        execute=planned,
        label="deleting Applications removed from Git",
    )
    out = dict(merged)
    for result in second:
        out[result.cluster] = with_deletions(out[result.cluster], result, planned[result.cluster])
    return out


def deletion_guard_stops(
    run_plan: RunPlan, merged: Mapping[str, results.ClusterResult]
) -> dict[str, lifecycle.GuardStop]:
    """Cluster -> why the deletion guard stops the run there (empty: it allows every deletion).
    Only cascade deletes count; what the fleet still generates for the cluster is what stays."""
    generated = Counter(cluster for cluster, _ in run_plan.works)
    stops: dict[str, lifecycle.GuardStop] = {}
    for name, result in sorted(merged.items()):
        deleting = sum(1 for a in result.apps if a.deletion is results.Deletion.WOULD_DELETE)
        stop = run_plan.guard.check(deleting, remaining=generated[name])
        if stop is not None:
            stops[name] = stop
    return stops


def guard_note(
    stops: Mapping[str, lifecycle.GuardStop], guard: lifecycle.DeletionGuard, *, kind: results.RunKind
) -> str:
    """The run's note when the deletion guard stops it: where, why, and the flags that allow it."""
    where = "; ".join(f"on cluster {name}, {stop.why}" for name, stop in sorted(stops.items()))
    done = (
        "nothing removed from Git was deleted"
        if kind is results.RunKind.SYNC
        else "a sync would delete nothing removed from Git"
    )
    allow = (
        "--allow-mass-delete"
        if any(stop.whole_cluster for stop in stops.values())
        else f"--allow-mass-delete or a --max-delete above {guard.text}"
    )
    return f"deletion guard: {done}, because {where}. If that is intended, run again with {allow}"


def block_removals(
    result: results.ClusterResult, note: str, *, kind: results.RunKind
) -> results.ClusterResult:
    """The cluster's result with every planned removal reported as stopped by the deletion guard."""
    verb = "not deleted" if kind is results.RunKind.SYNC else "a sync would not delete it"
    apps = tuple(
        app.model_copy(
            update={
                "deletion": results.Deletion.BLOCKED,
                "reason": Reason.DELETION_BLOCKED,
                "phase": OperationPhase.FAILED,
                "message": redact.mask(f"{app.message}; {verb}: {note}"),
            }
        )
        if app.deletion in _PLANNED
        else app
        for app in result.apps
    )
    return result.model_copy(update={"apps": apps})


def with_deletions(
    first: results.ClusterResult, second: results.ClusterResult, planned: frozenset[str]
) -> results.ClusterResult:
    """A cluster's first-pass result with the planned removals replaced by what the second pass
    did; one the second pass did not report (its cluster failed) is a failed deletion."""
    done = {app.name: app for app in second.apps}
    apps = []
    for app in first.apps:
        if app.name not in planned:
            apps.append(app)
        elif app.name in done:
            apps.append(done.pop(app.name))
        else:
            apps.append(
                app.model_copy(
                    update={
                        "deletion": results.Deletion.FAILED,
                        "reason": second.reason or Reason.PRUNE_FAILED,
                        "phase": OperationPhase.ERROR,
                        "message": redact.mask(
                            f"not deleted: {second.message or 'the cluster did not report it'}"
                        ),
                    }
                )
            )
    apps.extend(done.values())
    merged = merge_cluster_results(
        first.model_copy(update={"apps": ()}), second.model_copy(update={"apps": ()})
    )
    return merged.model_copy(update={"apps": tuple(sorted(apps, key=lambda a: a.name))})


def execute(
    run_plan: RunPlan,
    get_executor: Callable[[], executor.Executor],
    *,
    timeout: float,
    kind: results.RunKind,
) -> tuple[list[results.ClusterResult], tuple[results.RolloutResult, ...]]:
    """Fan out wave after wave, as the rollouts allow (one wave when nothing is staged), and
    collect every cluster's results, with each Application's rollout step."""
    compare_only = kind is not results.RunKind.SYNC
    progress = rollout.Progress(run_plan.schedule, compare_only=compare_only)
    merged: dict[str, results.ClusterResult] = {}
    # Removed Applications are deleted from a cluster in the first wave that touches it; a cluster
    # with no Application left is visited in the first wave (with --rollout: in its step's wave).
    pending = set(run_plan.removals)
    has_keys = {cluster for cluster, _ in run_plan.works}

    def removal_for(wave: rollout.Wave | None, first: bool) -> set[str]:
        due = {cluster for cluster, _ in (wave.keys if wave else ())} & pending
        for cluster in pending - has_keys:
            step = 0 if compare_only else run_plan.removal_step(cluster)
            if (step == 0 and first) or (
                step and wave is not None and any(p.step == step for p in wave.positions)
            ):
                due.add(cluster)
        pending.difference_update(due)
        return due

    first = True
    while True:
        wave = progress.next_wave(now=results.now())
        removal = removal_for(wave, first)
        if wave is None and not removal:
            break
        first = False
        label = wave.describe() if wave else ""
        keys = wave.keys if wave else ()
        if wave is not None and label:
            _log.info(
                f"rollout: starting {label}",
                extra={"fields": {"wave": wave.number, "applications": len(keys), "steps": label}},
            )
        needs_executor = bool(removal) or any(key not in run_plan.driver_results for key in keys)
        got = fan_out(
            run_plan,
            get_executor() if needs_executor else None,
            timeout=timeout,
            kind=kind,
            keys=keys,
            removal=removal,
            label=label,
        )
        outcome: dict[Key, bool] = {}
        why: dict[Key, str] = {}
        for cluster_result in got:
            for app in cluster_result.apps:
                key = (cluster_result.cluster, app.name)
                outcome[key] = app.ok
                if not app.ok:
                    why[key] = f"{app.sync_status.value}/{app.health.value}, {app.reason.value}"
            merged[cluster_result.cluster] = merge_cluster_results(
                merged.get(cluster_result.cluster), cluster_result
            )
        if wave is None:
            break  # a wave of deletions only: nothing staged is left
        progress.record(wave, outcome, now=results.now(), why=why)
        if label:
            for state in progress.results():
                if state.stopped_at and any(
                    p.rollout == state.name and p.step == state.stopped_at for p in wave.positions
                ):
                    _log.warning(
                        f"rollout {state.name} stopped: {state.message}",
                        extra={"fields": {"rollout": state.name, "step": state.stopped_at}},
                    )
    merged = finish_removals(run_plan, merged, get_executor, timeout=timeout, kind=kind)
    for key in progress.not_run():
        cluster = run_plan.clusters[key[0]]
        app = run_plan.driver_results.get(key) or not_started_app(
            run_plan.works[key],
            cluster=key[0],
            reason=progress.not_run_reason(key),
            message=progress.message(key),
        )
        base = merged.get(key[0]) or results.ClusterResult(cluster=key[0], server=cluster.server)
        merged[key[0]] = base.model_copy(
            update={"apps": tuple(sorted((*base.apps, app), key=lambda a: a.name))}
        )
    out = []
    for name in sorted(merged):
        cluster_result = merged[name]
        apps = tuple(
            app
            if app.rollout is not None
            else app.model_copy(update={"rollout": progress.app_rollout((name, app.name))})
            for app in cluster_result.apps
        )
        out.append(cluster_result.model_copy(update={"apps": apps}))
    return out, progress.results()


def new_run_id(started: float | None = None) -> str:
    started = time.time() if started is None else started
    return f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(started))}-{uuid.uuid4().hex[:6]}"


def run(request: SyncRequest, *, executor_: executor.Executor | None = None) -> results.RunResult:
    """One run (sync, dry run or diff) over the selected fleet, registered in the status store
    when it starts and recorded there when it ends (unless ``request.record`` is off).

    Pass ``executor_`` to reuse one (e.g. a RayExecutor across runs); otherwise one is made from
    the request when a cluster needs work, and closed at the end.

    Raises ``errors.RunLocked`` (exit 3) when another sync holds the run lock of some of the
    selected clusters past ``request.lock_wait``; nothing was read or changed then.
    """
    run_id = new_run_id()
    db = store.open(request.store, state_dir=request.state_dir)
    if not request.record:
        result = execute_run(request, run_id=run_id, started_at=results.now(), executor_=executor_)
        if request.notify is not None:
            notify.after_run(result, request.notify, db=db, resolver=request.resolver)
        return result
    # 1. scope: the registry says which clusters the selection names (bad input ends it here)
    clusters = build_registry(request).clusters()
    request = dataclasses.replace(request, clusters=tuple(clusters))
    registration = store_model.Registration(
        run_id=run_id,
        kind=request.kind,
        scope=run_scope(request, clusters),
        source=redact.safe_url(request.fleet),
        selector=request.selector or "",
    )
    # 2. register (a sync waits for the run lock, then holds it), 3. run, 4. record in one transaction
    with store_lease.held(db, registration, wait=request.lock_wait, ttl=request.lock_lease) as lease:
        result = lease.finish(
            execute_run(request, run_id=run_id, started_at=lease.started_at, executor_=executor_)
        )
    # 5. notify, once the run is recorded
    if request.notify is not None:
        notify.after_run(result, request.notify, db=db, resolver=request.resolver)
    return result


def execute_run(
    request: SyncRequest, *, run_id: str, started_at: str, executor_: executor.Executor | None = None
) -> results.RunResult:
    """The run itself: prepare, fan out, merge; its result (recorded by the caller)."""
    started = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="fleet-run-"))
    holder: dict[str, executor.Executor] = {}
    if executor_ is not None:
        holder["ex"] = executor_

    def get_executor() -> executor.Executor:
        if "ex" not in holder:
            holder["ex"] = make_executor(request, tmp=tmp)
            holder["own"] = holder["ex"]
        return holder["ex"]

    try:
        run_plan = prepare_run(request, tmp=tmp, started_at=started)
        try:
            clusters, rollouts = execute(
                run_plan, get_executor, timeout=request.cluster_timeout, kind=request.kind
            )
        finally:
            if "own" in holder:
                holder["own"].close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for warning in run_plan.warnings:
        _log.warning(warning)
    for note in run_plan.notes:
        _log.info(note)
    ex = holder.get("ex")
    result = results.RunResult(
        run_id=run_id,
        kind=request.kind,
        started_at=started_at,
        finished_at=results.now(),
        source=redact.mask(run_plan.source),
        revision=run_plan.revision,
        executor=(ex.name if ex is not None else request.executor),
        selector=request.selector or "",
        clusters=tuple(clusters),
        errors=tuple(run_plan.errors),
        rollouts=rollouts,
        notes=tuple(redact.mask(n) for n in (*run_plan.warnings, *run_plan.notes)),
    )
    summary = result.summary()
    _log.info(
        f"{request.kind.value} finished",
        extra={
            "fields": {"run": run_id, "ok": result.ok, "seconds": round(time.time() - started, 2), **summary}
        },
    )
    return result


__all__ = [
    "Checkouts",
    "ExecutorKind",
    "RunPlan",
    "SyncRequest",
    "build_wheel",
    "destination_cluster",
    "execute",
    "execute_run",
    "fleet_key",
    "is_chart_source",
    "load_repo_credentials",
    "make_executor",
    "new_run_id",
    "prepare_run",
    "run",
    "run_scope",
]
