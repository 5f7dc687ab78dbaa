"""AppProject restrictions: which sources, destinations and kinds of object a project permits.

Where it sits: the driver (``fleet.driver.selection``) builds ``ProjectRules`` from the AppProjects of the
fleet repository (``fleet.appset.Fleet.projects``) and refuses, before rendering, an Application
whose source repository or destination its project does not permit (a generation error naming
the Application and the project). The rules travel with each Application to the worker, which
refuses (``Reason.PROJECT_DENIED``, before any write) an Application that renders an object of a
group/kind the project does not permit, or a namespaced object in a namespace outside the
project's destinations. All functions here are pure.

Argo CD's rules (``docs/user-guide/projects.md`` and ``AppProject`` in
``pkg/apis/application/v1alpha1``), which the tests check case by case:

- ``sourceRepos``: URLs are normalised as Argo CD's ``git.NormalizeGitURL`` does (lower case,
  no ``.git``, scp-style SSH as ``git@host/path``); globs with ``/`` as separator (``*`` stays
  within one path segment, ``**`` crosses them); a ``!`` pattern denies. A source is permitted
  when some pattern matches it and no deny pattern rejects it (a deny pattern that does not
  reject counts as a match, as in Argo CD's code).
- ``destinations``: ``server``, ``name`` and ``namespace`` globs without separators (``*``
  matches anything), each may be negated with ``!``; an entry matches when the server OR the
  name matches, AND the namespace matches; permitted when some entry matches and no deny part
  of any entry rejects.
- kinds: ``group``/``kind`` globs (Go's ``filepath.Match``). A namespaced object needs the
  ``namespaceResourceWhitelist`` to be unset or to list it, and no ``namespaceResourceBlacklist``
  entry; a cluster-scoped one must be in ``clusterResourceWhitelist`` (an empty or missing list
  permits none) and in no ``clusterResourceBlacklist`` entry.
- ``default``: unless the fleet defines it, the permissive project Argo CD creates (any source,
  any destination, every kind). ``!*`` is an invalid rule (Argo CD refuses the project).

Not checked: ``sourceNamespaces``, sync windows, roles, signature keys,
``permitOnlyProjectScopedClusters``; the namespace ``CreateNamespace`` creates (it is not one of
the rendered objects).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fleet import argo, errors, inventory

GroupKind = tuple[str, str]


# --- matching ----------------------------------------------------------------------------------


def normalize_git_url(url: str) -> str:
    """Argo CD's ``git.NormalizeGitURL``: the form in which sourceRepos patterns and URLs compare."""
    repo = url.strip().lower()
    if not repo.startswith("ssh://") and re.match(r"^[\w.-]+@[\w.-]+:", repo):
        repo = "ssh://" + repo.replace(":", "/", 1)  # git@host:org/repo -> ssh://git@host/org/repo
    return repo.removesuffix(".git").removeprefix("ssh://")


def _glob_regex(pattern: str, separator: str | None) -> re.Pattern[str]:
    """gobwas/glob's syntax (what Argo CD's util/glob compiles) as a regular expression.

    Written by hand: no maintained Python package implements gobwas/glob's separator rules
    (``*`` within a segment, ``**`` across segments, ``{a,b}``, ``[!x]``).
    """
    one = "." if separator is None else f"[^{re.escape(separator)}]"
    out, i, depth = [], 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append(f"{one}*")
        elif ch == "?":
            out.append(one)
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end]
                negate = body.startswith("!")
                body = body[1:] if negate else body
                out.append(f"[{'^' if negate else ''}{body.replace(chr(92), chr(92) * 2)}]")
                i = end
        elif ch == "{":
            out.append("(?:")
            depth += 1
        elif ch == "}" and depth:
            out.append(")")
            depth -= 1
        elif ch == "," and depth:
            out.append("|")
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + ")" * depth)


def glob_match(pattern: str, value: str, *, separator: str | None = None, negation: bool = True) -> bool:
    """Argo CD's ``globMatch``: ``!pattern`` is true when the pattern does NOT match."""
    if negation and pattern.startswith("!"):
        return not glob_match(pattern[1:], value, separator=separator, negation=False)
    if pattern == "*":
        return True
    try:
        return _glob_regex(pattern, separator).fullmatch(value) is not None
    except re.error:
        return False  # a pattern that does not compile matches nothing (Argo CD logs and denies)


def _is_deny(pattern: str) -> bool:
    return pattern.startswith("!")


def _kind_match(pattern: str, value: str) -> bool:
    # Go's filepath.Match; group and kind names hold no '/', so fnmatch's rules are the same.
    return fnmatch.fnmatchcase(value, pattern)


# --- rules -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    server: str = ""
    name: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class ProjectRules:
    """One AppProject's restrictions, as plain data (travels to the worker with each Application)."""

    name: str
    source_repos: tuple[str, ...] = ()
    destinations: tuple[Destination, ...] = ()
    namespace_whitelist: tuple[GroupKind, ...] | None = None  # None: not set (everything allowed)
    namespace_blacklist: tuple[GroupKind, ...] = ()
    cluster_whitelist: tuple[GroupKind, ...] = ()
    cluster_blacklist: tuple[GroupKind, ...] = ()

    @classmethod
    def permissive(cls, name: str = argo.DEFAULT_PROJECT) -> ProjectRules:
        """Argo CD's ``default`` project as created: any source, destination and kind."""
        return cls(name, ("*",), (Destination("*", "", "*"),), None, (), (("*", "*"),), ())

    @classmethod
    def from_project(cls, project: argo.AppProject) -> ProjectRules:
        """The rules of an AppProject; ``!*`` rules are bad input naming the project and field."""
        spec = (project.to_dict().get("spec") or {}) if project.spec else {}
        obj = f"AppProject {project.name}"
        repos = tuple(str(r) for r in spec.get("sourceRepos") or ())
        for i, repo in enumerate(repos):
            if repo == "!*":
                raise errors.InputError(
                    "'!*' is invalid: it would deny every source", obj=obj, field=f"spec.sourceRepos[{i}]"
                )
        destinations = []
        for i, raw in enumerate(spec.get("destinations") or ()):
            dest = Destination(
                str(raw.get("server") or ""), str(raw.get("name") or ""), str(raw.get("namespace") or "")
            )
            for part in ("server", "name", "namespace"):
                if getattr(dest, part) == "!*":
                    raise errors.InputError(
                        "'!*' is invalid: it would deny every destination",
                        obj=obj,
                        field=f"spec.destinations[{i}].{part}",
                    )
            destinations.append(dest)

        def kinds(field: str) -> tuple[GroupKind, ...]:
            out = []
            for i, item in enumerate(spec.get(field) or ()):
                if not isinstance(item, Mapping) or "kind" not in item:
                    raise errors.InputError("needs 'group' and 'kind'", obj=obj, field=f"spec.{field}[{i}]")
                out.append((str(item.get("group") or ""), str(item["kind"])))
            return tuple(out)

        return cls(
            name=project.name,
            source_repos=repos,
            destinations=tuple(destinations),
            namespace_whitelist=kinds("namespaceResourceWhitelist")
            if "namespaceResourceWhitelist" in spec
            else None,
            namespace_blacklist=kinds("namespaceResourceBlacklist"),
            cluster_whitelist=kinds("clusterResourceWhitelist"),
            cluster_blacklist=kinds("clusterResourceBlacklist"),
        )


def rules_by_name(projects: Iterable[argo.AppProject]) -> dict[str, ProjectRules]:
    """Every project of the fleet by name, with Argo CD's permissive ``default`` unless defined."""
    out = {project.name: ProjectRules.from_project(project) for project in projects}
    out.setdefault(argo.DEFAULT_PROJECT, ProjectRules.permissive())
    return out


def source_permitted(rules: ProjectRules, repo_url: str) -> bool:
    """Whether the project permits a source repository (Argo CD's IsSourcePermitted)."""
    source = normalize_git_url(repo_url)
    matched = False
    for pattern in rules.source_repos:
        normalized = "!" + normalize_git_url(pattern[1:]) if _is_deny(pattern) else normalize_git_url(pattern)
        if glob_match(normalized, source, separator="/"):
            matched = True
        elif _is_deny(normalized):
            return False
    return matched


def destination_permitted(rules: ProjectRules, *, server: str, name: str, namespace: str) -> bool:
    """Whether the project permits a destination (Argo CD's isDestinationMatched)."""
    matched, denied = False, False
    for item in rules.destinations:
        name_ok = bool(name) and glob_match(item.name, name)
        server_ok = bool(server) and glob_match(item.server, server)
        namespace_ok = glob_match(item.namespace, namespace)
        if (server_ok or name_ok) and namespace_ok:
            matched = True
        elif (
            (not name_ok and _is_deny(item.name))
            or (not server_ok and _is_deny(item.server))
            or (not namespace_ok and _is_deny(item.namespace))
        ):
            denied = True
    return matched and not denied


def _listed(group: str, kind: str, items: Sequence[GroupKind]) -> bool:
    return any(_kind_match(k, kind) and _kind_match(g, group) for g, k in items)


def group_kind_permitted(rules: ProjectRules, group: str, kind: str, *, namespaced: bool) -> bool:
    """Whether the project permits objects of this group/kind (Argo CD's IsGroupKindPermitted)."""
    if namespaced:
        allowed = rules.namespace_whitelist is None or _listed(group, kind, rules.namespace_whitelist)
        return allowed and not _listed(group, kind, rules.namespace_blacklist)
    return _listed(group, kind, rules.cluster_whitelist) and not _listed(group, kind, rules.cluster_blacklist)


# --- checks ------------------------------------------------------------------------------------


def check_application(
    rules: ProjectRules, *, repo_urls: Sequence[str], server: str, name: str, namespace: str
) -> list[str]:
    """Why the project refuses an Application's sources or destination (empty: permitted)."""
    problems = [
        f"source repository {url} is not permitted in project {rules.name}"
        for url in repo_urls
        if not source_permitted(rules, url)
    ]
    if not destination_permitted(rules, server=server, name=name, namespace=namespace):
        problems.append(
            f"destination cluster {name or server} namespace {namespace or '(none)'} "
            f"is not permitted in project {rules.name}"
        )
    return problems


def denied_objects(
    rules: ProjectRules,
    objects: Iterable[Mapping[str, Any]],
    *,
    cluster_scoped: frozenset[GroupKind] | set[GroupKind],
    server: str,
    name: str,
) -> list[str]:
    """The objects the project refuses (Argo CD's IsResourcePermitted): their kind, or (for a
    namespaced object) their namespace outside the project's destinations."""
    out = []
    for obj in objects:
        ref = inventory.ObjectRef.from_object(obj)
        namespaced = (ref.group, ref.kind) not in cluster_scoped
        group = ref.group or "''"
        if not group_kind_permitted(rules, ref.group, ref.kind, namespaced=namespaced):
            scope = "namespaced" if namespaced else "cluster-scoped"
            out.append(f"{ref}: {scope} resource {group}/{ref.kind} is not permitted in project {rules.name}")
        elif (
            namespaced
            and ref.namespace
            and not destination_permitted(rules, server=server, name=name, namespace=ref.namespace)
        ):
            out.append(
                f"{ref}: namespace {ref.namespace} is not a permitted destination of project {rules.name}"
            )
    return out


__all__ = [
    "Destination",
    "ProjectRules",
    "check_application",
    "denied_objects",
    "destination_permitted",
    "glob_match",
    "group_kind_permitted",
    "normalize_git_url",
    "rules_by_name",
    "source_permitted",
]
