"""Phase 1, open the sources: the fleet's repository, the clusters it may deploy to, the
credentials of the repositories its Applications read, and its health checks.

Where it sits: first in a run (``fleet.driver.plan_run``), after the request's flags are checked.
The fleet is a local directory (read as it is on disk) or a git URL at ``--revision`` (mirrored by
``fleet.gitsource``); the resolved commit is recorded. The cluster registry comes from the flags
(kubeconfig, Argo CD cluster Secrets, ClusterLists); the fleet's ``fleet.yaml`` and the health
flags give the run's Lua and CEL health checks. Every inventory the run writes records the
fleet's identity (``fleet_identity``), so one fleet never deletes another's Applications.

Rendering (phase 4) reads Applications' sources through ``Checkouts``: git repositories copied
once per commit, charts from Helm repositories and OCI registries fetched once per run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleet import appset, errors, gitsource, lifecycle, models, redact, repocreds
from fleet.clusters import management, registry
from fleet.driver import request as run_request
from fleet.health import config as health_config
from fleet.render import helmrepo, ocichart


@dataclasses.dataclass(frozen=True)
class Sources:
    """What phase 1 opened: the fleet as read, where its repositories are mirrored, with which
    credentials, the registered clusters, the fleet's identity and its health checks."""

    fleet: appset.Fleet
    repos: gitsource.RepoCache
    credentials: repocreds.RepoCredentials
    clusters: tuple[models.Cluster, ...]
    identity: lifecycle.FleetIdentity
    health: health_config.HealthConfig


def open_sources(request: run_request.RunRequest) -> Sources:
    """The fleet, its repositories' credentials and mirrors, its health checks and the clusters
    (bad input raises ``InputError``; nothing has touched a cluster then)."""
    identity = fleet_identity(request)
    root = Path(request.git_cache) if request.git_cache else gitsource.cache_root()
    credentials = load_repo_credentials(request)
    repos = gitsource.RepoCache(
        root, max_age=request.git_max_age, repo_map=request.repo_map, credentials=credentials
    )
    fleet = open_fleet(request, repos)
    checks = fleet_health(request, repos)
    clusters = tuple(build_registry(request).clusters())
    return Sources(
        fleet=fleet,
        repos=repos,
        credentials=credentials,
        clusters=clusters,
        identity=identity,
        health=checks,
    )


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
            found: tuple[Path, str]
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


def checkouts_for(opened: Sources, *, tmp: Path) -> Checkouts:
    """The run's checkouts of Applications' sources, in ``tmp``, with the run's credentials."""
    return Checkouts(opened.repos, tmp=tmp, charts=helmrepo.ChartFetcher(credentials=opened.credentials))


def is_chart_source(source: Mapping[str, Any]) -> bool:
    """A source whose files come from a Helm repository or an OCI registry rather than git."""
    return bool(source.get("chart")) or ocichart.is_oci(str(source.get("repoURL") or ""), "")


def load_repo_credentials(request: run_request.RunRequest) -> repocreds.RepoCredentials:
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
            found = repocreds.read_live(
                live.api, namespace=request.argocd_namespace, resolver=request.resolver
            )
    files = [*request.cluster_files, *request.repo_creds_files]
    return found.merge(repocreds.load(files, namespace=request.argocd_namespace, resolver=request.resolver))


def open_fleet(request: run_request.RunRequest, repos: gitsource.RepoCache) -> appset.Fleet:
    """The fleet's ApplicationSets, Applications and AppProjects, and the revision read."""
    where = request.fleet
    if run_request.looks_local(where) and not Path(where).exists():
        raise errors.InputError("does not exist (give a directory or a git URL)", file=where)
    if run_request.is_local(where) and request.revision is None:
        fleet = appset.load_fleet(where)
        head = _git_head(Path(where)) if Path(where).is_dir() else None
        if head:
            fleet = dataclasses.replace(fleet, revision=head)
        return fleet
    url = str(Path(where).resolve()) if run_request.is_local(where) else where
    source = repos.open(url, request.revision or "HEAD")
    return appset.load_fleet(source)


def fleet_identity(request: run_request.RunRequest) -> lifecycle.FleetIdentity:
    """Which fleet this run is: recorded in every inventory it writes, so that it only ever
    deletes Applications it synced itself (``fleet.lifecycle``)."""
    name = lifecycle.check_fleet_name(request.fleet_name)
    if not run_request.is_local(request.fleet):
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


def fleet_health(request: run_request.RunRequest, repos: gitsource.RepoCache) -> health_config.HealthConfig:
    """The run's configured health checks: the flags' files over the fleet's ``fleet.yaml``."""
    flags = health_config.from_paths(
        resource_customizations=request.resource_customizations,
        argocd_cms=request.argocd_cms,
        health_exprs=request.health_exprs,
    )
    where = request.fleet
    if run_request.is_local(where) and request.revision is None:
        if not Path(where).is_dir():
            return flags  # a single file of ApplicationSets has no fleet.yaml
        source: gitsource.Source = gitsource.WorkTreeSource(where, url=where)
    else:
        url = str(Path(where).resolve()) if run_request.is_local(where) else where
        source = repos.open(url, request.revision or "HEAD")
    return flags.over(health_config.from_fleet(source))


def build_registry(request: run_request.RunRequest) -> registry.Registry:
    """The registered clusters the flags describe (``request.clusters`` replaces them all)."""
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


__all__ = [
    "Checkouts",
    "Sources",
    "build_registry",
    "checkouts_for",
    "fleet_health",
    "fleet_identity",
    "is_chart_source",
    "load_repo_credentials",
    "open_fleet",
    "open_sources",
]
