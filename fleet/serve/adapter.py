"""The driver, as ``fleet serve`` sees it: the one module of ``fleet.serve`` that imports it.

Where it sits: the server builds a ``RunRequest`` from its flags (as ``fleet sync`` does),
runs it through ``fleet.loop.Runner`` (which calls ``fleet.driver.run_recorded``), narrows it to
a ``context.Selection`` here, and reads the fleet's Applications and their sources here (the
driver's phases 1 and 2) to match webhook pushes (``fleet.serve.targets``). When the driver
changes, only this module follows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

import git

from fleet import driver, errors, redact
from fleet.clusters import selectors
from fleet.driver import generation, recording
from fleet.driver import selection as driver_selection
from fleet.driver import sources as driver_sources
from fleet.serve import context, targets

RunRequest = driver.RunRequest
T = TypeVar("T")


# --- the files a long-running server reads again and again -----------------------------------------
#
# Every run (and every webhook, to match its push) reads the cluster registry and the repository
# credentials from the same files. A server keeps what it parsed while those files are unchanged
# (same size and modification time), for at most REREAD seconds: parsing a registry of a few
# hundred cluster Secrets costs seconds, and a push touching one Application should not pay it
# twice, but a kubeconfig's tokenFile (a projected service account token, rotated in place) is
# read with it and must be read again well before it expires.

REREAD = 60.0  # seconds a parsed registry is reused at most
_memo: dict[str, tuple[object, object, float]] = {}
_memo_lock = threading.Lock()


def _files_key(request: driver.RunRequest) -> tuple[object, ...] | None:
    """What the registry and credentials are read from, with each file's size and mtime; None
    when they come from somewhere a file's stat cannot vouch for (a live management cluster,
    the default kubeconfig)."""
    if request.argocd_context or request.clusters is not None:
        return None
    paths = [*request.cluster_files, *request.cluster_lists, *request.repo_creds_files]
    if request.kubeconfig:
        paths.extend(request.kubeconfig.split(os.pathsep))
    if not paths:
        return None  # the default kubeconfig (KUBECONFIG or ~/.kube/config): read every time
    stats: list[object] = [request.kubeconfig, request.contexts, request.argocd_namespace]
    for path in paths:
        try:
            found = os.stat(path)
        except OSError:
            return None  # the run reports the missing file
        stats.append((path, found.st_mtime_ns, found.st_size))
    return tuple(stats)


def _remembered(name: str, key: tuple[object, ...] | None, read: Callable[[], T]) -> T:
    if key is None:
        return read()
    now = time.monotonic()
    with _memo_lock:
        found = _memo.get(name)
        if found is not None and found[0] == key and now - found[2] < REREAD:
            return cast(T, found[1])
    value = read()
    with _memo_lock:
        _memo[name] = (key, value, now)
    return value


def prepared(request: driver.RunRequest) -> driver.RunRequest:
    """The request with its registered clusters and repository credentials read (or taken from
    what this process read while their files did not change), so a run reads neither again."""
    key = _files_key(request)
    if key is None:
        return request
    clusters = _remembered("clusters", key, lambda: tuple(driver_sources.build_registry(request).clusters()))
    credentials = request.repo_credentials or _remembered(
        "credentials", (*key, id(request.resolver)), lambda: driver_sources.load_repo_credentials(request)
    )
    return dataclasses.replace(request, clusters=clusters, repo_credentials=credentials)


def narrow(request: driver.RunRequest, selection: context.Selection) -> driver.RunRequest:
    """The request prepared (``prepared``) and limited to a selection's clusters (by name,
    within the request's own registry and selector) and Applications (globs, within the
    request's own ``--app``)."""
    request = prepared(request)
    if selection.whole_fleet:
        return request
    if selection.clusters:
        wanted = set(selection.clusters)
        clusters = tuple(c for c in driver_sources.build_registry(request).clusters() if c.name in wanted)
        if not clusters:
            raise errors.InputError(
                f"no registered cluster is named {', '.join(sorted(wanted))}", field="clusters"
            )
        request = dataclasses.replace(request, clusters=clusters)
    if selection.apps:
        if request.apps:
            # Both must match: the server's own --app limits what any trigger may reach.
            kept = tuple(a for a in selection.apps if any(fnmatch.fnmatchcase(a, p) for p in request.apps))
            if not kept:
                raise errors.InputError(
                    f"no Application of this server's --app selection matches {', '.join(selection.apps)}",
                    field="apps",
                )
            request = dataclasses.replace(request, apps=kept)
        else:
            request = dataclasses.replace(request, apps=tuple(selection.apps))
    return request


def registered_clusters(request: driver.RunRequest) -> list[str]:
    return [c.name for c in driver_sources.build_registry(request).clusters()]


def fleet_key(request: driver.RunRequest) -> str:
    """The key the run lock of this fleet is taken on (the store's ``runs.fleet``)."""
    return recording.fleet_key(request)


def sources(request: driver.RunRequest) -> targets.FleetSources:
    """The fleet's Applications as the driver would generate them now (the server's selection
    applied), each with its sources, and the fleet's own repository: what a push is matched
    against. Reads Git (the fleet repository) and the cluster registry; renders nothing."""
    request = prepared(request)
    opened = driver_sources.open_sources(request)
    generated = generation.generate(request, opened)
    every_cluster = opened.clusters
    fleet = opened.fleet
    selector = selectors.parse(request.selector, where="--selector") if request.selector else None
    refs: list[targets.SourceRef] = []
    for app in generated.applications:
        if request.apps and not any(fnmatch.fnmatchcase(app.name, p) for p in request.apps):
            continue
        cluster = driver_selection.destination_cluster(app, every_cluster)
        if cluster is None or (selector is not None and not selector.matches(cluster.labels)):
            continue
        for source in app.sources_list():
            refs.append(
                targets.SourceRef(
                    cluster=cluster.name,
                    app=app.name,
                    repo_url=source.repo_url,
                    revision=source.revision,
                    path=source.path,
                    chart=driver_sources.is_chart_source(source.to_dict()),
                )
            )
    repos_, prefix = _fleet_repositories(request)
    return targets.FleetSources(
        sources=tuple(refs),
        fleet_repos=repos_,
        fleet_revision=request.revision or "HEAD",
        fleet_files=frozenset(fleet.files),
        fleet_prefix=prefix,
    )


def _fleet_repositories(request: driver.RunRequest) -> tuple[tuple[str, ...], str]:
    """The URLs the fleet's own repository is known by, and the fleet's folder inside it: a git
    fleet's URL; for a directory, the ``--repo-map`` URLs that map to it (or to a folder above
    it) and its git remotes."""
    where = request.fleet
    if ("://" in where and not where.startswith("file://")) or "@" in where.split("/")[0]:
        return (redact.safe_url(where),), ""
    directory = Path(where.removeprefix("file://")).resolve()
    urls: list[str] = [directory.as_uri()]
    prefix = ""
    for url, mapped in request.repo_map.items():
        mapped_dir = Path(mapped).resolve()
        if directory == mapped_dir or mapped_dir in directory.parents:
            urls.append(url)
            prefix = directory.relative_to(mapped_dir).as_posix().strip(".")
    with contextlib.suppress(git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        with git.Repo(directory, search_parent_directories=True) as repo:
            urls.extend(redact.safe_url(u) for remote in repo.remotes for u in remote.urls)
            if repo.working_tree_dir is not None and not prefix:
                prefix = directory.relative_to(Path(repo.working_tree_dir).resolve()).as_posix().strip(".")
    return tuple(dict.fromkeys(urls)), prefix


__all__ = ["RunRequest", "fleet_key", "narrow", "prepared", "registered_clusters", "sources"]
