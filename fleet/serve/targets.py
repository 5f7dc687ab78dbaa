"""Which Applications a Git push touched: the repository (normalised URL), the branch, and the
changed paths under each source's path.

Where it sits: between a verified webhook (``fleet.serve.webhooks.Push``) and the run it asks
for (a ``context.Selection``). The fleet's Applications and their sources come from the driver
adapter (``fleet.serve.adapter.sources``); everything here is a pure function of the two.

The rules, for each source of each Application (a multi-source Application is touched when any
source is):

1. the repository: the push's URLs and the source's ``repoURL`` compare as host and path, case,
   scheme, user, ``.git`` and a trailing ``/`` ignored (``https://github.com/org/repo`` is
   ``git@github.com:org/repo.git``);
2. the branch: ``targetRevision`` names the pushed branch (``main``, ``refs/heads/main``), or is
   ``HEAD``/empty and the push is to the repository's default branch (any branch when the
   provider does not say which is default). A commit, a tag or a semver range is pinned: a push
   changes nothing it reads;
3. the paths: a changed path is the source's ``path`` or under it (the Kustomize overlay or Helm
   chart folder, a plain directory); a source without a path (the repository root, a ``ref``
   source of values files) is touched by any change; unknown paths touch every source.

Helm chart sources from a Helm repository or an OCI registry are never touched by a push.

A push to the fleet's own repository and revision that changes a file the fleet is read from
(an ApplicationSet, an Application, an AppProject, fleet.yaml) may change what is generated:
that runs the whole fleet.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from fleet import gitsource
from fleet.serve import context, webhooks

FLEET_SETTINGS = ("fleet.yaml", "fleet.yml")  # read by the driver beside the ApplicationSets


@dataclass(frozen=True, kw_only=True)
class SourceRef:
    """One source of one generated Application on its cluster."""

    cluster: str
    app: str
    repo_url: str
    revision: str = "HEAD"
    path: str | None = None
    chart: bool = False  # from a Helm repository or an OCI registry, not from git


@dataclass(frozen=True, kw_only=True)
class FleetSources:
    """What a push is compared with: every selected Application's sources, and the fleet's own
    repository (its URLs, the revision the server reads, and the files it was read from)."""

    sources: tuple[SourceRef, ...]
    fleet_repos: tuple[str, ...] = ()
    fleet_revision: str = "HEAD"
    fleet_files: frozenset[str] = frozenset()
    fleet_prefix: str = ""  # the fleet's folder inside its repository ("" at the root)


@dataclass(frozen=True, kw_only=True)
class Touched:
    """The answer: the whole fleet, some Applications (as (cluster, app) pairs), or nothing."""

    whole_fleet: bool = False
    apps: frozenset[tuple[str, str]] = frozenset()
    why: str = ""

    @property
    def nothing(self) -> bool:
        return not self.whole_fleet and not self.apps

    def selection(self, reason: context.TriggerReason) -> context.Selection:
        if self.whole_fleet:
            return context.Selection(reason=reason)
        return context.Selection(
            clusters=tuple(sorted({c for c, _ in self.apps})),
            apps=tuple(sorted({_literal(a) for _, a in self.apps})),
            reason=reason,
        )


def _literal(name: str) -> str:
    """A name as an ``--app`` glob that matches only itself."""
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in name)


def repo_identity(url: str) -> str:
    """Host and path of a repository URL, for comparing a push's URLs with ``repoURL``s."""
    normal = gitsource.normalize_url(url)
    parts = urlsplit(normal)
    if parts.scheme in ("", "file"):
        return normal.lower()
    host = (parts.hostname or "").lower()
    if parts.port and parts.port not in (22, 80, 443):
        host += f":{parts.port}"
    return f"{host}{parts.path.lower()}".rstrip("/")


def branch_matches(revision: str, push: webhooks.Push) -> bool:
    if not push.branch:
        return False  # a tag push: a source that follows a tag name is pinned to it
    if revision in ("", "HEAD"):
        return not push.default_branch or push.branch == push.default_branch
    return revision.removeprefix("refs/heads/") == push.branch


def path_touched(path: str | None, changed: frozenset[str] | None) -> bool:
    if changed is None:
        return True
    prefix = (path or "").strip("/")
    if prefix in ("", "."):
        return bool(changed)
    return any(p == prefix or p.startswith(prefix + "/") for p in changed)


def touched(push: webhooks.Push, fleet: FleetSources) -> Touched:
    """Which of the fleet's Applications the push touched (see the module docstring)."""
    pushed = {repo_identity(u) for u in push.repo_urls}
    if pushed & {repo_identity(u) for u in fleet.fleet_repos} and branch_matches(fleet.fleet_revision, push):
        changed = _fleet_files_changed(push.paths, fleet)
        if changed:
            return Touched(whole_fleet=True, why=f"the push changed the fleet's own files ({changed})")
    found: set[tuple[str, str]] = set()
    for source in fleet.sources:
        if source.chart or repo_identity(source.repo_url) not in pushed:
            continue
        if branch_matches(source.revision, push) and path_touched(source.path, push.paths):
            found.add((source.cluster, source.app))
    if not found:
        return Touched(why="the push touched no selected Application")
    return Touched(apps=frozenset(found), why=f"the push touched {len(found)} Application(s)")


def _fleet_files_changed(paths: frozenset[str] | None, fleet: FleetSources) -> str:
    """The first changed file the fleet is read from ("" when none; "unknown paths" when the
    push does not say what it changed)."""
    if paths is None:
        return "unknown paths"
    prefix = fleet.fleet_prefix.strip("/")
    watched = {f"{prefix}/{f}" if prefix else f for f in (*fleet.fleet_files, *FLEET_SETTINGS)}
    for path in sorted(paths):
        if path in watched:
            return path
        # a new ApplicationSet file in the fleet's folder is read by the next run too
        inside = not prefix or path.startswith(prefix + "/")
        if inside and fnmatch.fnmatch(path, "*.y*ml") and not _under_any(path, fleet.sources):
            return path
    return ""


def _under_any(path: str, sources: Iterable[SourceRef]) -> bool:
    """Whether ``path`` is inside some Application's source folder (then it is that
    Application's file, not a fleet file)."""
    for source in sources:
        prefix = (source.path or "").strip("/")
        if prefix not in ("", ".") and (path == prefix or path.startswith(prefix + "/")):
            return True
    return False


__all__ = [
    "FleetSources",
    "SourceRef",
    "Touched",
    "branch_matches",
    "path_touched",
    "repo_identity",
    "touched",
]
