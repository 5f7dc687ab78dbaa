"""Phase 3, select and check projects: which generated Applications this run takes, on which
registered cluster, under which AppProject's rules.

Where it sits: after generation, before rendering; pure functions over data. Each Application's
destination (server or name) must be a registered cluster, or that Application is a generation
error naming it; ``--selector`` (cluster labels) and ``--app`` (globs) narrow the run; when the
fleet defines AppProjects, an Application its project does not permit is an error of the run,
and an Application defined twice for one cluster too. Applications whose destination is unsure
this run (``uncertain``) are never deleted anywhere because of it.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Sequence

from fleet import appset, argo, errors, models, projects, redact
from fleet.clusters import selectors


@dataclasses.dataclass(frozen=True)
class Selected:
    """One Application this run takes: where it goes and the rules its AppProject sets."""

    app: argo.Application
    appset: str  # the ApplicationSet that generated it ("" for a plain Application)
    cluster: models.Cluster
    project_rules: projects.ProjectRules | None = None


@dataclasses.dataclass(frozen=True)
class Selection:
    """The Applications selected, the run's errors so far, and the names never to delete."""

    selected: tuple[Selected, ...]
    problems: tuple[str, ...]  # generation errors and refused Applications, masked
    uncertain: frozenset[str]  # Application names whose destination is unsure this run
    # (cluster, Application) -> why its AppProject refuses its sources or destination (``fleet plan``
    # reports these as violations of the head; a sync reports them in ``problems``).
    refused: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)


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


def select(
    generated: appset.GenerateResult,
    *,
    clusters: Sequence[models.Cluster],
    app_projects: Sequence[argo.AppProject],
    apps: Sequence[str] = (),
    selector: selectors.Selector | None = None,
    selector_text: str | None = None,
) -> Selection:
    """The generated Applications that ``apps`` (globs) and ``selector`` (cluster labels) select,
    each on its registered cluster and permitted by its AppProject.

    Raises ``InputError`` when ``apps`` matches no Application or ``selector`` no cluster.
    """
    # AppProject restrictions apply when the fleet defines AppProjects (then, as in Argo CD, an
    # Application of an undefined project is invalid, and `default` is permissive unless defined).
    project_rules = projects.rules_by_name(app_projects) if app_projects else None
    problems: list[str] = [redact.mask(str(e)) for e in generated.errors]
    problems.extend(redact.mask(str(i)) for i in generated.invalid)
    pairs: list[tuple[argo.Application, str]] = []
    for result in generated.results:
        pairs.extend((app, result.name) for app in result.applications)
    pairs.extend((app, "") for app in generated.standalone)

    selected: list[Selected] = []
    uncertain: set[str] = {i.name for i in generated.invalid if i.name}
    seen: dict[tuple[str, str], str] = {}
    refusals: dict[tuple[str, str], str] = {}
    matched_any_app = False
    for app, appset_name in pairs:
        if apps and not any(fnmatch.fnmatchcase(app.name, pattern) for pattern in apps):
            continue
        matched_any_app = True
        cluster = destination_cluster(app, clusters)
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
                refusals[(cluster.name, app.name)] = f"project {app.project}: {'; '.join(refused)}"
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
        selected.append(Selected(app=app, appset=appset_name, cluster=cluster, project_rules=rules))
    if apps and not matched_any_app:
        raise errors.InputError(f"no Application matches {', '.join(apps)}", field="--app")
    if selector is not None and not any(selector.matches(c.labels) for c in clusters):
        raise errors.InputError(f"no registered cluster matches {selector_text!r}", field="--selector")
    return Selection(
        selected=tuple(selected), problems=tuple(problems), uncertain=frozenset(uncertain), refused=refusals
    )


__all__ = ["Selected", "Selection", "destination_cluster", "select"]
