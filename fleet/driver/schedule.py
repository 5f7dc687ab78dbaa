"""Phase 5, plan the run: what each cluster's worker gets, in which order the rollouts let it
run, and which Applications removed from Git each cluster should look for.

Where it sits: after rendering, before the fan-out; pure functions over data. The result is a
frozen ``RunPlan``: the work per Application (``reconcile.AppWork``), the Applications that failed
on the driver already (their results), the worker settings, the rollout schedule (``--rollout``,
or each ApplicationSet's RollingSync strategy; ``fleet.rollout``) and the removals per cluster
with the run's deletion guard (``fleet.lifecycle``).

This is where the schedule holds Applications back, and why (issue 13):

- a rollout step that has not started (``fleet.rollout``);
- a sync window of its AppProject that blocks it now (``fleet.windows``, at the time the caller
  reads from ``fleet.clocks``): outside any rollout step it is not synced (``SyncWindowClosed``);
  inside one, the step holds (the fan-out's gate, ``control``);
- a dependency (``fleet.gitops.io/depends-on``, ``fleet.dependencies``) that no Application of
  its cluster has, or a cycle: a generation error naming them, and the Applications involved are
  left out of the run (and never deleted because of it). The order among the Applications that
  remain is the worker's (``fleet.reconcile``).

It also gives each rollout its gates (``fleet.gates``: the ApplicationSet's annotations under the
run's flags) and a fingerprint of what it rolls out (a change starts the rollout over), and keeps
what automatic rollback needs to render an Application again (its render and the checkouts).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence

from fleet import appset, dependencies, executor, lifecycle, models, reconcile, redact, results, rollout
from fleet import gates as step_gates  # modules named apart from RunPlan's fields `gates`/`windows`
from fleet import windows as sync_windows
from fleet.driver import rendering, selection, sources
from fleet.driver import request as run_request
from fleet.health import config as health_config
from fleet.reconcile import failures, livecache
from fleet.secrets import resolver as secret_resolver

Key = run_request.Key


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What the driver prepared before the fan-out: every selected Application, rendered, and the
    order the rollouts give them."""

    source: str
    revision: str
    clusters: Mapping[str, models.Cluster]
    works: Mapping[Key, reconcile.AppWork]  # every selected Application
    driver_results: Mapping[Key, results.AppResult]  # Applications that failed before the fan-out
    errors: tuple[str, ...]
    application_count: int
    settings: reconcile.WorkerSettings = dataclasses.field(default_factory=reconcile.WorkerSettings)
    resolver: secret_resolver.Resolver | None = None
    schedule: rollout.Schedule = dataclasses.field(default_factory=rollout.Schedule)
    notes: tuple[str, ...] = ()
    removals: Mapping[str, lifecycle.Removal] = dataclasses.field(
        default_factory=dict
    )  # cluster -> what to delete
    cli_rollout: rollout.Strategy | None = None
    guard: lifecycle.DeletionGuard = dataclasses.field(default_factory=lifecycle.DeletionGuard)
    # Applications generated but left out of ``works``, by (cluster, Application): their AppProject
    # refuses their sources or destination (the message). ``fleet plan`` reports them as violations.
    refused: Mapping[Key, str] = dataclasses.field(default_factory=dict)
    # Names whose destination is unsure this run (invalid, refused, duplicated, unknown destination,
    # left out for their dependencies): absent from ``works`` without being removed from Git.
    unsure: frozenset[str] = frozenset()
    # Change control: the Applications a sync window blocks now (key -> why), those of them in no
    # rollout step (reported SyncWindowClosed), every verdict, the windows per AppProject, each
    # rollout's gates and fingerprint.
    blocked: Mapping[Key, str] = dataclasses.field(default_factory=dict)
    held_back: tuple[Key, ...] = ()
    window_verdicts: Mapping[Key, sync_windows.Verdict] = dataclasses.field(default_factory=dict)
    windows: Mapping[str, tuple[sync_windows.Window, ...]] = dataclasses.field(default_factory=dict)
    gate_specs: Mapping[str, step_gates.GateSpec] = dataclasses.field(default_factory=dict)
    fingerprints: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # What automatic rollback needs to render an Application again at its last good revision
    # (phase 4's ``rendering.render_one``): each Application's render, and the run's checkouts.
    rendered: Mapping[Key, rendering.Rendered] = dataclasses.field(default_factory=dict)
    checkouts: sources.Checkouts | None = None
    # cluster -> its Applications that ended Synced and Healthy in an earlier wave of this run
    # (their dependants' dependencies are met); set by the fan-out wave by wave.
    ready: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)

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
                labels=tuple(sorted(self.clusters[name].labels.items())),  # for --ray-placement
                payload=reconcile.ClusterWork(
                    cluster=self.clusters[name],
                    apps=tuple(sorted(apps, key=lambda w: w.name)),
                    settings=self.settings,
                    resolver=self.resolver,
                    removal=self._removal(name, removal, execute),
                    ready=self.ready.get(name, frozenset()),
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


def plan(
    request: run_request.RunRequest,
    flags: run_request.Flags,
    *,
    fleet: appset.Fleet,
    generated: appset.GenerateResult,
    chosen: selection.Selection,
    rendered: Sequence[rendering.Rendered],
    every_cluster: Sequence[models.Cluster],
    identity: lifecycle.FleetIdentity,
    health: health_config.HealthConfig,
    started_at: float,
    now: dt.datetime,
    checkouts: sources.Checkouts | None = None,
) -> RunPlan:
    """The run's plan from what the earlier phases found: work per Application, the results of
    those that failed on the driver, the rollout schedule, what sync windows block at ``now``,
    the rollouts' gates and the removals per cluster.

    Raises ``InputError`` for a bad sync window (naming the file, AppProject and field)."""
    # Dependencies that no Application of the cluster has, and cycles: generation errors; the
    # Applications involved are left out (and never deleted because of it).
    left_out = refuse_bad_dependencies(generated, chosen.selected, every_cluster)
    rendered = [r for r in rendered if (r.selected.cluster.name, r.selected.app.name) not in left_out.keys]
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
    for item in sorted(rendered, key=lambda r: (r.selected.cluster.name, r.selected.app.name)):
        app, cluster = item.selected.app, item.selected.cluster
        spec = app.to_dict().get("spec") or {}
        key = (cluster.name, app.name)
        clusters[cluster.name] = cluster
        appset_name = item.selected.appset
        work = reconcile.AppWork(
            name=app.name,
            namespace=str((spec.get("destination") or {}).get("namespace") or ""),
            manifests=item.manifests,
            project=app.project,
            appset=appset_name,
            revision=item.revision,
            sync_policy=spec.get("syncPolicy"),
            ignore_differences=tuple(spec.get("ignoreDifferences") or ()),
            applications_sync=policies[appset_name].applications_sync if appset_name in policies else "sync",
            cascade=lifecycle.has_resources_finalizer(app.metadata.finalizers),
            project_rules=item.selected.project_rules,
            shipped_files=dict(item.shipped),
            depends_on=dependencies.parse(app.metadata.annotations),
        )
        works[key] = work
        if item.failure is not None:
            driver_results[key] = failures.did_not_run(
                work, cluster=cluster.name, reason=item.failure.reason, message=item.failure.message
            )
        candidates.append(
            rollout.Candidate(
                cluster=cluster.name,
                app=app.name,
                appset=appset_name,
                app_labels=dict(app.metadata.labels),
                cluster_labels=dict(cluster.labels),
            )
        )
    # Only the checks that can match a kind of this run travel to the workers.
    settings = settings_for(
        request, started_at, health=health.for_kinds(_kinds(works.values())), fleet=identity
    )
    problems = [*chosen.problems, *left_out.problems]
    uncertain = chosen.uncertain | left_out.uncertain
    schedule, notes = rollout_schedule(
        generated, candidates, cli=flags.rollout, manual=bool(request.apps), problems=problems
    )
    # Sync windows: what a window blocks now is not synced; a rollout holds at the step that
    # holds it (the fan-out's gate). Bad windows are bad input, whatever the run.
    found_windows = sync_windows.from_projects(fleet.projects)
    verdicts = window_verdicts(request, found_windows, works, clusters, now=now)
    blocked = {key: v.message for key, v in verdicts.items() if not v.allowed}
    for key, verdict in sorted(verdicts.items()):
        if verdict.overridden:
            notes.append(f"--ignore-windows: {key[1]} on {key[0]} syncs although {verdict.message}")
    held_back = tuple(k for k in schedule.immediate if k in blocked)
    schedule = dataclasses.replace(
        schedule, immediate=tuple(k for k in schedule.immediate if k not in blocked)
    )
    # Applications removed from Git are deleted only by a run that sees the whole fleet: a run
    # narrowed by --app or --selector cannot tell "removed" from "not selected".
    removals: dict[str, lifecycle.Removal] = {}
    if request.apps or flags.selector is not None:
        narrowed = (("--app", bool(request.apps)), ("--selector", flags.selector is not None))
        given = " and ".join(flag for flag, on in narrowed if on)
        notes.append(
            f"Applications removed from Git are neither deleted nor reported in a run narrowed by {given}: "
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
        errors=tuple(problems),
        application_count=len(rendered),
        settings=settings,
        resolver=request.resolver,
        schedule=schedule,
        notes=tuple(notes),
        removals=removals,
        cli_rollout=flags.rollout,
        guard=flags.guard,
        refused=dict(chosen.refused),
        unsure=uncertain,
        blocked=blocked,
        held_back=held_back,
        window_verdicts=verdicts,
        windows=found_windows,
        gate_specs=gate_specs(flags.gates, generated, schedule),
        fingerprints=fingerprints(schedule, works),
        rendered={(r.selected.cluster.name, r.selected.app.name): r for r in rendered},
        checkouts=checkouts,
    )


def settings_for(
    request: run_request.RunRequest,
    started_at: float,
    *,
    health: health_config.HealthConfig | None = None,
    fleet: lifecycle.FleetIdentity | None = None,
) -> reconcile.WorkerSettings:
    """What every cluster's worker is told about the run (kind, limits, health checks, identity)."""
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
        live_cache_dir=livecache.disk_root(),  # the worker keeps long-running runs' copies in memory
    )


def _kinds(works: Iterable[reconcile.AppWork]) -> set[tuple[str, str]]:
    """Every group/kind a run applies (what its health checks can be asked about)."""
    from fleet import health

    return {health.group_kind(obj) for work in works for obj in work.manifests}


def rollout_schedule(
    generated: appset.GenerateResult,
    candidates: Sequence[rollout.Candidate],
    *,
    cli: rollout.Strategy | None,
    manual: bool,
    problems: list[str],
) -> tuple[rollout.Schedule, list[str]]:
    """The run's rollouts: ``--rollout`` when given, else each ApplicationSet's RollingSync
    strategy (an invalid one is an error of that ApplicationSet, added to ``problems``; none of
    its Applications syncs). Returns the schedule and the run's notes about it."""
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


# --- change control: dependencies, sync windows, gates -------------------------------------------


@dataclasses.dataclass(frozen=True)
class Refused:
    """Applications left out of the run for their dependencies: which, the generation errors
    naming them, and their names (never deleted because of it)."""

    keys: frozenset[Key] = frozenset()
    problems: tuple[str, ...] = ()
    uncertain: frozenset[str] = frozenset()


def refuse_bad_dependencies(
    generated: appset.GenerateResult,
    selected: Sequence[selection.Selected],
    every_cluster: Sequence[models.Cluster],
) -> Refused:
    """Dependencies (``fleet.gitops.io/depends-on``) that no Application of the cluster has
    (generated for it, selected or not), and cycles, are generation errors naming them; the
    Applications involved are not synced."""
    known: dict[str, set[str]] = {}
    generated_apps = [*(a for r in generated.results for a in r.applications), *generated.standalone]
    for app in generated_apps:
        destination = selection.destination_cluster(app, every_cluster)
        if destination is not None:
            known.setdefault(destination.name, set()).add(app.name)
    by_cluster: dict[str, dict[str, tuple[str, ...]]] = {}
    for item in selected:
        by_cluster.setdefault(item.cluster.name, {})[item.app.name] = dependencies.parse(
            item.app.metadata.annotations
        )
    keys: set[Key] = set()
    problems: list[str] = []
    uncertain: set[str] = set()
    for cluster, depends in sorted(by_cluster.items()):
        if not any(depends.values()):
            continue
        for problem in dependencies.check(cluster, depends, known=known.get(cluster, ())):
            problems.append(problem.message)
            keys.update((cluster, name) for name in problem.apps)
            uncertain.update(problem.apps)
    return Refused(keys=frozenset(keys), problems=tuple(problems), uncertain=frozenset(uncertain))


def window_verdicts(
    request: run_request.RunRequest,
    found: Mapping[str, Sequence[sync_windows.Window]],
    works: Mapping[Key, reconcile.AppWork],
    clusters: Mapping[str, models.Cluster],
    *,
    now: dt.datetime,
) -> dict[Key, sync_windows.Verdict]:
    """What the AppProjects' sync windows say of each Application at ``now`` (a sync only: a dry
    run or a diff changes nothing and is never blocked)."""
    if not found or request.kind is not results.RunKind.SYNC:
        return {}
    out = {}
    for key, work in works.items():
        cluster = clusters[key[0]]
        target = sync_windows.Target(
            app=work.name,
            project=work.project,
            cluster=cluster.name,
            server=cluster.server,
            namespace=work.namespace,
        )
        out[key] = sync_windows.verdict(found, target, now, manual=request.ignore_windows)
    return out


def gate_specs(
    flags: step_gates.GateSpec, generated: appset.GenerateResult, schedule: rollout.Schedule
) -> dict[str, step_gates.GateSpec]:
    """Each rollout's gates: its ApplicationSet's annotations, under the run's flags (``--rollout``
    is no ApplicationSet: the flags alone)."""
    appsets = {r.name: r.appset for r in generated.results}
    out = {}
    for found in schedule.rollouts:
        own = step_gates.parse_appset(appsets[found.name]) if found.name in appsets else step_gates.GateSpec()
        out[found.name] = own.merged(flags)
    return out


def fingerprints(schedule: rollout.Schedule, works: Mapping[Key, reconcile.AppWork]) -> dict[str, str]:
    """What each rollout rolls out, as a digest of its Applications' rendered manifests: a change
    starts the rollout over (its passed gates, approvals and abort no longer count)."""
    out = {}
    for found in schedule.rollouts:
        digest = hashlib.sha256()
        for key in sorted(k for step in found.steps for k in step.keys):
            work = works[key]
            digest.update(
                json.dumps([key, work.revision, work.manifests], sort_keys=True, default=str).encode()
            )
        out[found.name] = digest.hexdigest()[:16]
    return out


__all__ = [
    "Key",
    "Refused",
    "RunPlan",
    "fingerprints",
    "gate_specs",
    "plan",
    "refuse_bad_dependencies",
    "rollout_schedule",
    "settings_for",
    "window_verdicts",
]
