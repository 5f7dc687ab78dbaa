"""``fleet plan``: what merging a pull request does to every cluster, from Git alone.

Where it sits: above the driver (``fleet.driver``), beside the other ways of running it; the CLI
(``fleet plan``) calls ``preview``. The driver's own phases do the reading and rendering, once
per side, so a plan sees exactly what a sync of that revision would:

1. check out: base (and head, when ``--head`` names one) into temporary directories; without
   ``--head`` the working tree is the head (``fleet.preview.checkout``);
2. prepare both sides with the driver (``driver.plan_run``, phases 1 to 5: open the sources, generate, select
   and check AppProjects, render each distinct source once per side with the render cache), with
   one cluster registry and one set of repository credentials for both; no cluster is contacted
   (the registry's own sources excepted: a kubeconfig, or Argo CD's management cluster with
   ``--argocd-context``, as ``fleet generate`` reads them);
3. compare every Application of either side, per cluster (``fleet.preview.compare``), with its
   rollout step at head;
4. group identical changes (``fleet.preview.grouping``);
5. with ``--live`` only: fan the head out as ``fleet diff`` does (``fanout.run_waves``, kind diff) and
   group how each cluster differs from it.

Nothing is recorded in the status store and no run lock is taken: a plan changes nothing.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fleet import driver, errors, executor, gitsource, log, models, redact, results, rollout
from fleet.driver import fanout, merge, schedule, sources
from fleet.driver import request as run_request
from fleet.preview import checkout, compare, grouping, model
from fleet.status import SyncStatus

_log = log.get_logger(__name__)
_SCP_URL = re.compile(r"^[^/]+@[^:/]+:")  # git@host:org/repo, a URL as the driver reads one

Key = run_request.Key


@dataclass(frozen=True, kw_only=True)
class PreviewRequest:
    """A plan, as the CLI flags say it.

    Parameters:
        run: the fleet, the registry and selection flags, ``--repo-map``, ``--prune`` and (for
            ``--live``) the executor, as for ``fleet diff``; its ``revision`` is not used.
        base: the revision the pull request starts from (``--base``).
        head: the revision it ends at (``--head``); None: the working tree.
        live: also compare the head with the clusters (``--live``).
    """

    run: driver.RunRequest
    base: str
    head: str | None = None
    live: bool = False


@dataclass(frozen=True)
class _Side:
    """One side, prepared by the driver (``plan`` None: the selection matched nothing there)."""

    revision: checkout.Side
    plan: schedule.RunPlan | None

    @property
    def works(self) -> Mapping[Key, object]:
        return self.plan.works if self.plan is not None else {}


def _sides(
    request: PreviewRequest, tmp: Path, repos: gitsource.RepoCache
) -> tuple[checkout.Side, checkout.Side]:
    fleet = request.run.fleet
    repo_map = dict(request.run.repo_map)
    if "://" not in fleet and not _SCP_URL.match(fleet):
        if not Path(fleet).exists():
            raise errors.InputError(
                "does not exist (give a directory in a git repository, or a git URL)", file=fleet
            )
        return checkout.local_sides(
            Path(fleet), base=request.base, head=request.head, repo_map=repo_map, tmp=tmp
        )
    return checkout.url_sides(
        fleet, base=request.base, head=request.head, repo_map=repo_map, repos=repos, tmp=tmp
    )


def _prepare(request: driver.RunRequest, side: checkout.Side, tmp: Path) -> _Side:
    """The driver's phases up to rendering, for one side (an ``--app`` that matches nothing on
    this side leaves it empty: it may match Applications the other side adds or removes)."""
    side_request = dataclasses.replace(request, fleet=side.fleet, revision=None, repo_map=dict(side.repo_map))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        prepared = driver.plan_run(side_request, tmp=tmp)
    except errors.InputError as exc:
        if exc.field == "--app":
            return _Side(side, None)
        raise
    return _Side(side, prepared)


def _with_cluster(base: _Side, head: _Side) -> dict[str, models.Cluster]:
    clusters: dict[str, models.Cluster] = {}
    for side in (base, head):
        if side.plan is not None:
            clusters.update(
                {
                    name: c
                    for name, c in side.plan.clusters.items()
                    if any(k[0] == name for k in side.plan.works)
                }
            )
    return clusters


def _failure(side: _Side, key: Key) -> str:
    if side.plan is None or key not in side.plan.driver_results:
        return ""
    found = side.plan.driver_results[key]
    return f"{found.reason.value}: {found.message}"


def _compare(
    request: PreviewRequest, base: _Side, head: _Side
) -> list[tuple[model.AppChange, compare.Compared]]:
    comparer = compare.Comparer()
    progress = rollout.Progress(head.plan.schedule, compare_only=True) if head.plan is not None else None
    clusters = {**(base.plan.clusters if base.plan else {}), **(head.plan.clusters if head.plan else {})}
    refused = head.plan.refused if head.plan is not None else {}
    unsure = head.plan.unsure if head.plan is not None else frozenset()
    out = []
    keys = sorted(set(base.works) | set(head.works))
    with log.progress("comparing applications", total=len(keys)) as bar:
        for key in keys:
            before = base.plan.works.get(key) if base.plan is not None else None
            after = head.plan.works.get(key) if head.plan is not None else None
            compared = comparer.compare(
                before,
                after,
                cluster=clusters[key[0]],
                head_failure=_failure(head, key),
                refusal=refused.get(key, ""),
                unsure_at_head=key[1] in unsure,
                prune=request.run.prune,
            )
            work = after or before
            assert work is not None  # the key is on one side at least
            out.append(
                (
                    model.AppChange(
                        cluster=key[0],
                        app=key[1],
                        appset=work.appset,
                        project=work.project,
                        change=compared.change,
                        group=compared.digest() if compared.change.is_change() else "",
                        rollout=progress.app_rollout(key)
                        if progress is not None and after is not None
                        else None,
                    ),
                    compared,
                )
            )
            bar.advance(item=f"{key[0]}/{key[1]}", status=compared.change.value)
    return out


_NARROWED_NOTE = "Applications removed from Git are neither deleted nor reported"
_DESIRED_HASH = re.compile(r"(fleet\.gitops\.io/desired-hash: )[0-9a-f]+")


def _bookkeeping(text: str, app: str) -> str:
    """A live diff with fleet's own per-Application annotations as placeholders (the desired
    hash, the Application's name in the tracking id): how a cluster differs from the head is then
    the same text on every cluster where it differs the same way, and groups."""
    text = _DESIRED_HASH.sub(r"\1<hash>", text)
    return text.replace(f"fleet.gitops.io/tracking-id: {app}:", "fleet.gitops.io/tracking-id: <app>:")


def _live(
    request: PreviewRequest, head: _Side, tmp: Path
) -> tuple[dict[Key, model.LiveState], int, list[str]]:
    """``--live``: the head against every cluster, by the driver's diff fan-out; each
    Application's state, the clusters that could not be compared, and the run's notes."""
    if head.plan is None:
        return {}, 0, []
    holder: dict[str, executor.Executor] = {}

    def get_executor() -> executor.Executor:
        if "ex" not in holder:
            holder["ex"] = executor.make_executor(
                request.run.executor,
                concurrency=request.run.concurrency,
                address=request.run.ray_address,
                runtime_env=request.run.ray_runtime_env,
                placement=request.run.ray_placement,
            )
        return holder["ex"]

    try:
        fanned = fanout.run_waves(
            head.plan, get_executor, timeout=request.run.cluster_timeout, kind=results.RunKind.DIFF
        )
    finally:
        if "ex" in holder:
            holder["ex"].close()
    found, _ = merge.clusters_and_rollouts(head.plan, fanned.clusters, fanned.progress)
    states: dict[Key, model.LiveState] = {}
    failed = 0
    for cluster in found:
        if cluster.reason is not None:
            failed += 1
        for app in cluster.apps:
            text = _bookkeeping("".join(r.diff for r in app.resources if r.diff), app.name)
            differs = app.sync_status is not SyncStatus.SYNCED or bool(text)
            kept = app.deletion is results.Deletion.KEPT
            digest = ""
            if differs and not kept:
                digest = compare.Compared(
                    model.ChangeKind.CHANGED,
                    (model.ObjectChange(ref="live", change=model.ObjectChangeKind.CHANGED, diff=text),),
                    message=f"{app.sync_status.value}: {app.reason.value}",
                    deletion=app.deletion,
                ).digest()
            states[(cluster.cluster, app.name)] = model.LiveState(
                sync_status=app.sync_status.value,
                health=app.health.value,
                reason=app.reason.value,
                message=redact.mask(app.message),
                diff=redact.mask(text),
                group=digest,
                deletion=app.deletion,
            )
    notes = [redact.mask(n) for n in fanned.warnings]
    return states, failed, notes


def _totals(
    entries: Iterable[tuple[model.AppChange, compare.Compared]],
    base: _Side,
    head: _Side,
    clusters: Mapping[str, models.Cluster],
    groups: int,
) -> model.Totals:
    entries = list(entries)
    kinds = [app.change for app, _ in entries]
    objects = [o for _, c in entries if c.change is not model.ChangeKind.REMOVED for o in c.objects]
    return model.Totals(
        clusters=len(clusters),
        base=len(base.works),
        head=len(head.works),
        added=kinds.count(model.ChangeKind.ADDED),
        removed=kinds.count(model.ChangeKind.REMOVED),
        changed=kinds.count(model.ChangeKind.CHANGED),
        failed=kinds.count(model.ChangeKind.FAILED),
        unchanged=kinds.count(model.ChangeKind.UNCHANGED),
        groups=groups,
        violations=sum(1 for _, c in entries if c.violations),
        pruned=sum(1 for o in objects if o.prune is model.PruneAction.PRUNE),
        requires_pruning=sum(1 for o in objects if o.prune is model.PruneAction.REQUIRES_PRUNING),
    )


def preview(request: PreviewRequest) -> model.PlanResult:
    """The plan of a pull request (see the module docstring for its phases).

    Raises ``errors.InputError`` (exit 2) for bad input: a revision that does not exist (naming
    ``--base`` or ``--head``), a fleet outside git, a flag or file the driver refuses.
    """
    tmp = Path(tempfile.mkdtemp(prefix="fleet-plan-"))
    try:
        # One registry and one set of repository credentials for both sides.
        credentials = sources.load_repo_credentials(request.run)
        base_request = dataclasses.replace(
            request.run,
            clusters=tuple(sources.build_registry(request.run).clusters()),
            repo_credentials=credentials,
            kind=results.RunKind.DIFF,
            allow_empty=True,  # a fleet may start or end empty: every Application added or removed
            record=False,
        )
        root = Path(request.run.git_cache) if request.run.git_cache else gitsource.cache_root()
        repos = gitsource.RepoCache(
            root, max_age=request.run.git_max_age, repo_map=request.run.repo_map, credentials=credentials
        )
        # 1. check out base and head
        base_side, head_side = _sides(request, tmp / "checkouts", repos)
        # 2. the driver's phases for each side
        base = _prepare(base_request, base_side, tmp / "base")
        head = _prepare(base_request, head_side, tmp / "head")
        if base.plan is None and head.plan is None:
            raise errors.InputError(
                f"no Application matches {', '.join(request.run.apps)} at base or at head", field="--app"
            )
        # 3. compare, 4. group
        entries = _compare(request, base, head)
        clusters = _with_cluster(base, head)
        groups = grouping.group(entries, clusters)
        # 5. --live: the head against the clusters
        live: dict[Key, model.LiveState] = {}
        live_failed = 0
        notes: list[str] = []
        if request.live:
            live, live_failed, notes = _live(request, head, tmp)
        apps = tuple(
            app.model_copy(update={"live": live.get((app.cluster, app.app))}) if live else app
            for app, _ in entries
        )
        totals = _totals(entries, base, head, clusters, len(groups))
        if request.live:
            totals = totals.model_copy(
                update={
                    "live_out_of_sync": sum(1 for a in apps if a.live is not None and a.live.group),
                    "live_failed_clusters": live_failed,
                }
            )
        base_errors = list(base.plan.errors) if base.plan is not None else []
        head_errors = list(head.plan.errors) if head.plan is not None else []
        for side in (head, base):
            if side.plan is not None:
                # A plan reports removed Applications by comparing the two sides, narrowed or not:
                # the driver's note that a narrowed run neither deletes nor reports them is a sync's.
                notes.extend(n for n in side.plan.notes if not n.startswith(_NARROWED_NOTE))
        return model.PlanResult(
            fleet=redact.safe_url(request.run.fleet),
            base=model.Revision(flag="--base", revision=base_side.revision, commit=base_side.commit),
            head=model.Revision(flag="--head", revision=head_side.revision, commit=head_side.commit),
            live=request.live,
            totals=totals,
            groups=groups,
            applications=apps,
            live_groups=grouping.group_live(apps, clusters) if request.live else (),
            errors=model.Errors(
                head=tuple(head_errors),
                new=tuple(e for e in head_errors if e not in base_errors),
                fixed=tuple(e for e in base_errors if e not in head_errors),
            ),
            notes=tuple(dict.fromkeys(redact.mask(n) for n in notes)),
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["PreviewRequest", "preview"]
