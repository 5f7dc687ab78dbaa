"""CLI: ``fleet sync``, ``fleet diff``, ``fleet status``, ``fleet report`` and ``fleet demo``.

A thin shell over ``fleet.driver`` (runs), ``fleet.store`` (history), ``fleet.report`` (formats)
and ``fleet.demo``. Exit codes: 0 when every selected Application is Synced and Healthy (diff:
nothing differs), 1 when any is not or a cluster failed, 2 on bad input (nothing changed then;
this includes a fleet that generates no Application without --allow-empty), 3 when another sync
holds the run lock of the selected clusters, 4 when the Ray cluster named by --ray-address or
RAY_ADDRESS does not answer (nothing changed in either case).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import io
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fleet import errors, redact, report, results, store
from fleet.cli import common
from fleet.cli import health as health_cli
from fleet.report import text
from fleet.status import SyncStatus
from fleet.store import model

if TYPE_CHECKING:  # the driver is imported when a command runs, not with this module
    from fleet import driver

# --- shared options --------------------------------------------------------------------------------

FleetArg = Annotated[
    str, typer.Argument(metavar="[FLEET]", help="Fleet repository: a directory or a git URL.")
]
RevisionOpt = Annotated[
    str | None, typer.Option("--revision", help="Branch, tag or commit of a git fleet (default HEAD).")
]
KubeconfigOpt = Annotated[
    str | None, typer.Option("--kubeconfig", metavar="F", help="Kubeconfig file(s): one cluster per context.")
]
ContextsOpt = Annotated[
    str | None, typer.Option("--contexts", help="Only these kubeconfig contexts, comma-separated.")
]
ClustersOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--clusters", metavar="F", help="Argo CD cluster Secrets (or a kubeconfig / ClusterList); repeatable."
    ),
]
RepoCredsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--repo-creds",
        metavar="F",
        help="Argo CD repository Secrets, repo-creds templates, argocd-ssh-known-hosts-cm and "
        "argocd-tls-certs-cm for git, Helm and OCI repositories (--clusters files are read for them too); "
        "repeatable.",
    ),
]
ClusterListOpt = Annotated[
    list[str] | None, typer.Option("--cluster-list", metavar="F", help="fleet ClusterList file; repeatable.")
]
SelectorOpt = Annotated[
    str | None,
    typer.Option(
        "--selector",
        "-l",
        metavar="LABELS",
        help="Cluster label selector, e.g. 'env=prod,region in (eu,us)'.",
    ),
]
AppOpt = Annotated[
    list[str] | None, typer.Option("--app", metavar="NAME", help="Application name or glob; repeatable.")
]
PruneOpt = Annotated[
    bool, typer.Option("--prune", help="Prune objects removed from Git even where automated.prune is off.")
]
RayAddressOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="A",
        help="An existing Ray cluster (default: RAY_ADDRESS, else Ray starts locally).",
    ),
]
RayRuntimeEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--ray-runtime-env",
        metavar="wheel|none",
        help="How a Ray cluster's workers get fleet: wheel (ship this checkout, cached per content; "
        "default with --ray-address) or none (installed on the nodes).",
    ),
]
RayPlacementOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--ray-placement",
        metavar="SELECTOR:RESOURCE",
        help="Run the clusters matching the label selector only on Ray nodes with this custom "
        "resource, e.g. region=eu:region-eu; repeatable, first match wins. Others are spread over the nodes.",
    ),
]
ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        help="auto (default: ray for a named Ray cluster or 100 clusters and more, else local), ray, "
        "or local (threads in this process).",
    ),
]
ClusterTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--cluster-timeout", metavar="S", help="Seconds per cluster before it is reported as timed out."
    ),
]
RequestTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--request-timeout",
        metavar="S",
        help="Seconds to wait for one answer from a cluster's API server; a cluster that does not answer "
        "in time is reported as Timeout.",
    ),
]
HealthTimeoutOpt = Annotated[
    float,
    typer.Option("--health-timeout", metavar="S", help="Seconds a sync wave may take to become healthy."),
]
ConcurrencyOpt = Annotated[
    int,
    typer.Option(
        "--concurrency", metavar="N", help="Clusters in flight (local: in total; ray: per worker process)."
    ),
]
StateDirOpt = Annotated[
    str | None,
    typer.Option(
        "--state-dir", metavar="D", help="Status store directory (default FLEET_STATE_DIR or .fleet)."
    ),
]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        metavar="URL",
        help="Status store: sqlite:///PATH, a SQLite file, or postgresql://USER@HOST[:PORT]/DB "
        "(default FLEET_STORE, else status.db in the state directory).",
    ),
]
LockWaitOpt = Annotated[
    str,
    typer.Option(
        "--lock-wait",
        metavar="DURATION",
        help="How long to wait for the run lock when another sync of this fleet holds some of the selected "
        "clusters (e.g. 5m); 0: do not wait, exit 3 naming the holder.",
    ),
]
LockLeaseOpt = Annotated[
    str,
    typer.Option(
        "--lock-lease",
        metavar="DURATION",
        help="How long the run lock outlives its holder's last heartbeat (renewed every third of it): "
        "a holder that dies loses the lock this long after.",
    ),
]
RepoMapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--repo-map", metavar="URL=PATH", help="Read a repository URL from a local directory; repeatable."
    ),
]
InClusterOpt = Annotated[
    bool,
    typer.Option(
        "--in-cluster/--no-in-cluster", help="Argo CD's implicit in-cluster destination (off by default)."
    ),
]
OutputOpt = Annotated[common.ResultFormat, typer.Option("--output", "-o", help="table or json.")]


class RunOutput(StrEnum):
    """How ``fleet sync`` and ``fleet diff`` print their run (``-o``)."""

    TABLE = "table"  # aligned columns for people
    JSON = "json"  # the RunResult as one JSON document
    JUNIT = "junit"  # JUnit XML for CI systems: one test case per Application and cluster


RunOutputOpt = Annotated[RunOutput, typer.Option("--output", "-o", help="table, json or junit.")]
ArgocdContextOpt = Annotated[
    str | None,
    typer.Option(
        "--argocd-context",
        metavar="CTX",
        help="Kubeconfig context of Argo CD's management cluster: its cluster Secrets are read live, and "
        "the clusterDecisionResource and plugin generators read their ConfigMaps, Secrets and decision "
        "resources there.",
    ),
]
ArgocdNamespaceOpt = Annotated[
    str,
    typer.Option("--argocd-namespace", help="Argo CD's namespace (cluster Secrets, generator ConfigMaps)."),
]
RolloutOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--rollout",
        metavar="LABELS",
        help="A rollout step: a cluster label selector; repeat in order (e.g. env=dev, env=staging, "
        "env=prod). Each step starts when every Application of the steps before is Synced and Healthy. "
        "Replaces the ApplicationSets' RollingSync for this run.",
    ),
]
MaxUpdateOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--max-update",
        "--max-unavailable",
        metavar="N|P%",
        help="Clusters per batch within a --rollout step (a number or a percentage, rounded down, "
        "at least 1); once for every step, or once per step.",
    ),
]


FleetNameOpt = Annotated[
    str,
    typer.Option(
        "--fleet-name",
        metavar="NAME",
        envvar="FLEET_NAME",
        help="This fleet's name, recorded with its repository in every inventory it writes: a run only "
        "deletes Applications whose inventory its own fleet (same repository and name) wrote.",
    ),
]
AllowEmptyOpt = Annotated[
    bool,
    typer.Option(
        "--allow-empty",
        help="Accept a fleet that generates no Application (refused otherwise, exit 2: a run from the wrong "
        "directory would delete everything).",
    ),
]
AdoptOpt = Annotated[
    bool,
    typer.Option(
        "--adopt-inventories",
        help="Treat inventories that record no fleet (written before fleets had an identity) as this "
        "fleet's, so that those it no longer generates are deleted.",
    ),
]
MaxDeleteOpt = Annotated[
    str | None,
    typer.Option(
        "--max-delete",
        metavar="N|P%",
        help="Deletion guard: stop the run, deleting nothing, when it would delete more than N (or P% of "
        "the fleet's Applications on a cluster, at least 1) Applications removed from Git on one cluster "
        "[default: 10%].",
    ),
]
AllowMassDeleteOpt = Annotated[
    bool,
    typer.Option(
        "--allow-mass-delete",
        help="Lift the deletion guard: allow any number of deletions, including every Application of a cluster.",
    ),
]


NotifyWebhookOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--notify-webhook",
        metavar="URL",
        help="After the run, POST a JSON summary (schema fleet.notification/v1) to URL; repeatable. "
        "URL may be a secret reference (ref+vault://PATH#/url), resolved at send time; only its host is logged.",
    ),
]
NotifySlackOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--notify-slack",
        metavar="URL",
        help="After the run, post a summary to a Slack-compatible incoming webhook; repeatable (URL as for "
        "--notify-webhook).",
    ),
]
NotifyMarkdownOpt = Annotated[
    str | None,
    typer.Option(
        "--notify-markdown",
        metavar="FILE",
        help="After the run, write the Markdown report with what changed to FILE (atomic rename), "
        "e.g. $GITHUB_STEP_SUMMARY.",
    ),
]
NotifyOnOpt = Annotated[
    str | None,
    typer.Option(
        "--notify-on",
        metavar="always|change|failure",
        help="When to notify: every run, when something changed since the previous run of the same kind "
        "(default), or when the run is not ok and changed (or the previous one was ok).",
    ),
]
NotifyDiffsOpt = Annotated[
    bool,
    typer.Option("--notify-include-diffs", help="Put the (masked) diffs into notifications too."),
]


def _console(file: Any = None) -> Any:
    from rich.console import Console

    target = file or sys.stdout
    return Console(
        file=target, width=None if target.isatty() else 200, highlight=False, no_color=not target.isatty()
    )


def _print(renderable: Any) -> None:
    buffer = io.StringIO()
    _console(buffer).print(renderable)
    typer.echo(redact.mask("\n".join(line.rstrip() for line in buffer.getvalue().splitlines())))


def _print_errors(run: results.RunResult) -> None:
    for note in run.notes:
        typer.echo(f"note: {redact.mask(note)}", err=True)
    for problem in run.errors:
        typer.echo(f"error: {redact.mask(problem)}", err=True)
    for cluster in run.clusters:
        if cluster.reason is not None:
            typer.echo(
                f"error: cluster {cluster.cluster}: {cluster.reason.value}: {redact.mask(cluster.message)}",
                err=True,
            )


def _repo_map(entries: list[str] | None) -> dict[str, str]:
    from fleet.cli import generate

    return generate.parse_repo_map(entries)


def request_from_flags(
    kind: results.RunKind,
    *,
    fleet: str,
    revision: str | None,
    kubeconfig: str | None,
    contexts: str | None,
    clusters: list[str] | None,
    cluster_list: list[str] | None,
    repo_creds: list[str] | None,
    selector: str | None,
    apps: list[str] | None,
    prune: bool,
    repo_map: list[str] | None,
    in_cluster: bool,
    executor: str,
    ray_address: str | None,
    ray_runtime_env: str | None = None,
    ray_placement: list[str] | None = None,
    cluster_timeout: float,
    health_timeout: float,
    request_timeout: float,
    concurrency: int,
    state_dir: str | None,
    store_url: str | None,
    lock_wait: str,
    lock_lease: str,
    rollout: list[str] | None,
    max_update: list[str] | None,
    notify_webhook: list[str] | None,
    notify_slack: list[str] | None,
    notify_markdown: str | None,
    notify_on: str | None,
    notify_include_diffs: bool,
    argocd_context: str | None,
    argocd_namespace: str,
    resource_customizations: list[str] | None,
    argocd_cm: list[str] | None,
    health_exprs: list[str] | None,
    fleet_name: str,
    allow_empty: bool,
    adopt_inventories: bool,
    max_delete: str | None,
    allow_mass_delete: bool,
) -> driver.RunRequest:
    """The run the flags ask for; bad flags end the command (exit 2, naming the flag)."""
    from fleet import driver, executor_runtime_env, notify, raynodes, waves

    try:
        wait = waves.parse_duration(lock_wait, where="--lock-wait")
        if wait < 0:
            raise errors.InputError(f"must not be negative (got {lock_wait})", field="--lock-wait")
        lease = waves.parse_duration(lock_lease, where="--lock-lease")
        if lease <= 0:
            raise errors.InputError(f"must be above zero (got {lock_lease})", field="--lock-lease")
        return driver.RunRequest(
            fleet=fleet,
            revision=revision,
            kubeconfig=kubeconfig,
            contexts=tuple(c.strip() for c in (contexts or "").split(",") if c.strip()),
            cluster_files=tuple(clusters or ()),
            cluster_lists=tuple(cluster_list or ()),
            repo_creds_files=tuple(repo_creds or ()),
            selector=selector,
            apps=tuple(apps or ()),
            kind=kind,
            prune=prune,
            repo_map=_repo_map(repo_map),
            in_cluster=in_cluster,
            argocd_context=argocd_context,
            argocd_namespace=argocd_namespace or "argocd",
            executor=executor,
            ray_address=ray_address,
            ray_runtime_env=executor_runtime_env.parse_mode(ray_runtime_env) if ray_runtime_env else None,
            ray_placement=raynodes.parse_pins(ray_placement or ()),
            cluster_timeout=cluster_timeout,
            health_timeout=health_timeout,
            request_timeout=request_timeout,
            concurrency=concurrency,
            state_dir=state_dir,
            store=store_url,
            lock_wait=wait,
            lock_lease=lease,
            rollout=tuple(rollout or ()),
            max_update=tuple(max_update or ()),
            fleet_name=fleet_name,
            allow_empty=allow_empty,
            adopt_inventories=adopt_inventories,
            max_delete=max_delete,
            allow_mass_delete=allow_mass_delete,
            notify=notify.NotifySettings.from_options(
                webhooks=notify_webhook,
                slack=notify_slack,
                markdown=notify_markdown,
                on=notify_on,
                include_diffs=notify_include_diffs,
            ),
            resource_customizations=tuple(resource_customizations or ()),
            argocd_cms=tuple(argocd_cm or ()),
            health_exprs=tuple(health_exprs or ()),
        )
    except errors.FleetError as exc:
        raise common.fail(exc) from None


def _change_control(
    request: driver.RunRequest,
    *,
    ignore_windows: bool,
    step_soak: str | None,
    step_approval: bool,
    step_metric: str | None,
    prometheus_url: str | None,
    auto_rollback: bool,
    gate_wait: str,
) -> driver.RunRequest:
    """The sync windows, rollout gates and rollback flags on the request (bad values: exit 2)."""
    from fleet import gates, waves

    try:
        soak = waves.parse_duration(step_soak, where="--step-soak") if step_soak else 0.0
        wait = waves.parse_duration(gate_wait, where="--gate-wait")
        for flag, value in (("--step-soak", soak), ("--gate-wait", wait)):
            if value < 0:
                raise errors.InputError(f"must not be negative (got {value:g})", field=flag)
        spec = gates.GateSpec(
            soak=soak,
            approval=step_approval,
            metric=(step_metric or "").strip(),
            prometheus=(prometheus_url or "").strip(),
            auto_rollback=auto_rollback,
        )
    except errors.FleetError as exc:
        raise common.fail(exc) from None
    return dataclasses.replace(request, ignore_windows=ignore_windows, gates=spec, gate_wait=wait)


def _run(request: driver.RunRequest) -> results.RunResult:
    from fleet import driver
    from fleet.driver import recording

    try:
        # stdout carries only the result (a table, or JSON for machines): Ray's driver prints
        # its workers' error notices to stdout, so the run itself writes to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            db = recording.open_store(request)
            # register, run, record; then notify, once the run is recorded
            result = driver.run_recorded(request, db=db)
            recording.notify_after(result, request, db=db)
            return result
    except errors.FleetError as exc:
        raise common.fail(exc) from None


@dataclasses.dataclass(frozen=True)
class LoopOptions:
    """``fleet sync --every``: how often, how many runs (0: until a signal), how long secrets stay cached."""

    every: float
    runs: int
    secrets_ttl: float


def _loop_options(every: str, runs: int, secrets_ttl: str) -> LoopOptions:
    """The long-running flags, validated before anything else (exit 2 naming the flag)."""
    from fleet import loop, waves

    try:
        seconds = loop.parse_every(every)
        if runs < 0:
            raise errors.InputError(f"must not be negative (got {runs})", field="--runs")
        return LoopOptions(seconds, runs, waves.parse_duration(secrets_ttl, where="--secrets-ttl"))
    except errors.FleetError as exc:
        raise common.fail(exc) from None


def _loop(
    request: driver.RunRequest, options: LoopOptions, *, metrics_file: str | None, output: common.ResultFormat
) -> int:
    """``fleet sync --every``: run after run until a signal (or --runs); one line per run."""
    from fleet import loop

    def report_run(run: results.RunResult, _iteration: int) -> None:
        if output is common.ResultFormat.JSON:
            typer.echo(run.to_json())  # one JSON document per line
        else:
            for line in text.rollout_lines(run):
                typer.echo(line)
            typer.echo(text.summary_line(run))
        _print_errors(run)

    real_stdout = sys.stdout

    def on_run(run: results.RunResult, iteration: int) -> None:
        with contextlib.redirect_stdout(real_stdout):
            report_run(run, iteration)

    try:
        # As for one run: stdout carries only results; Ray's driver notices go to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            outcome = loop.run_loop(
                request,
                every=options.every,
                runs=options.runs,
                metrics_file=metrics_file,
                secrets_ttl=options.secrets_ttl,
                on_run=on_run,
            )
    except errors.FleetError as exc:
        raise common.fail(exc) from None
    if outcome.stopped_by:
        typer.echo(f"stopped by {outcome.stopped_by} after {outcome.runs} runs", err=True)
    return outcome.exit_code


STATUS_RUNS = 200  # how far back `fleet status` looks for runs in progress or interrupted


def unsettled_runs(records: list[model.RunRecord]) -> list[model.RunRecord]:
    """What `fleet status` says about runs (newest first): every run still running, and every
    run since the newest finished one that was interrupted or aborted (its clusters may hold
    changes that no finished run has seen since)."""
    first_finished = next(
        (i for i, r in enumerate(records) if r.state is results.RunState.FINISHED), len(records)
    )
    return [
        r
        for i, r in enumerate(records)
        if r.state is results.RunState.RUNNING
        or (i < first_finished and r.state is not results.RunState.FINISHED)
    ]


def run_lines(records: list[model.RunRecord]) -> list[str]:
    """One line per run in progress, interrupted or aborted."""
    lines = []
    for r in records:
        who = f"host {r.host}, pid {r.pid}"
        if r.state is results.RunState.RUNNING:
            held = f"; holds the run lock of {len(r.clusters)} clusters" if r.holds_lock else ""
            lines.append(f"run {r.run_id} ({r.kind.value}) is running on {who} since {r.started_at}{held}")
        else:
            lines.append(
                f"run {r.run_id} ({r.kind.value}, started {r.started_at} on {who}) was {r.state.value}: "
                f"{redact.mask(r.message)}"
            )
    return lines


def print_diffs(run: results.RunResult) -> int:
    """Every difference, per cluster and Application (diffs are masked); how many apps differ."""
    differing = 0
    for cluster in run.clusters:
        for app in cluster.apps:
            changed = [r for r in app.resources if r.status is SyncStatus.OUT_OF_SYNC or r.diff]
            if (app.sync_status is SyncStatus.SYNCED and not changed) or app.skipped:
                continue
            if app.deletion is results.Deletion.KEPT:
                continue
            differing += 1
            typer.echo(
                f"=== cluster {cluster.cluster} / application {app.name}: {app.sync_status.value}"
                + (
                    f" ({app.reason.value}: {redact.mask(app.message)})"
                    if app.sync_status is SyncStatus.UNKNOWN
                    else ""
                )
                + (f" [{app.deletion.value}: {redact.mask(app.message)}]" if app.deletion else "")
            )
            for resource in changed:
                note = f" [{resource.message}]" if resource.message else ""
                typer.echo(f"--- {resource.ref}: {resource.action.value}{note}")
                if resource.diff:
                    typer.echo(redact.mask(resource.diff.rstrip("\n")))
    return differing


# --- the commands --------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Add sync, diff, status, report and demo to the root app."""

    @app.command("sync")
    def sync_command(
        fleet: FleetArg = ".",
        revision: RevisionOpt = None,
        kubeconfig: KubeconfigOpt = None,
        contexts: ContextsOpt = None,
        clusters: ClustersOpt = None,
        cluster_list: ClusterListOpt = None,
        repo_creds: RepoCredsOpt = None,
        selector: SelectorOpt = None,
        app_: AppOpt = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Everything but the writes (server-side dry run).")
        ] = False,
        prune: PruneOpt = False,
        ray_address: RayAddressOpt = None,
        ray_runtime_env: RayRuntimeEnvOpt = None,
        ray_placement: RayPlacementOpt = None,
        executor: ExecutorOpt = "auto",
        cluster_timeout: ClusterTimeoutOpt = 300.0,
        request_timeout: RequestTimeoutOpt = 30.0,
        health_timeout: HealthTimeoutOpt = 120.0,
        concurrency: ConcurrencyOpt = 16,
        state_dir: StateDirOpt = None,
        store_url: StoreOpt = None,
        lock_wait: LockWaitOpt = "0",
        lock_lease: LockLeaseOpt = "30s",
        repo_map: RepoMapOpt = None,
        in_cluster: InClusterOpt = False,
        rollout: RolloutOpt = None,
        max_update: MaxUpdateOpt = None,
        fleet_name: FleetNameOpt = "",
        allow_empty: AllowEmptyOpt = False,
        adopt_inventories: AdoptOpt = False,
        max_delete: MaxDeleteOpt = None,
        allow_mass_delete: AllowMassDeleteOpt = False,
        every: Annotated[
            str | None,
            typer.Option(
                "--every",
                metavar="DURATION",
                help="Long-running mode: sync again every DURATION (e.g. 60s, 5m) until SIGINT/SIGTERM.",
            ),
        ] = None,
        runs: Annotated[
            int,
            typer.Option("--runs", metavar="N", help="With --every: stop after N runs (0: until a signal)."),
        ] = 0,
        metrics_file: Annotated[
            str | None,
            typer.Option(
                "--metrics-file",
                metavar="F",
                help="Write the run's Prometheus metrics to F after every run (atomic rename; "
                "node_exporter textfile collector).",
            ),
        ] = None,
        secrets_ttl: Annotated[
            str,
            typer.Option(
                "--secrets-ttl",
                metavar="DURATION",
                help="With --every: how long resolved secrets stay cached across runs "
                "(`fleet secrets refresh` drops them sooner).",
            ),
        ] = "5m",
        notify_webhook: NotifyWebhookOpt = None,
        notify_slack: NotifySlackOpt = None,
        notify_markdown: NotifyMarkdownOpt = None,
        notify_on: NotifyOnOpt = None,
        notify_include_diffs: NotifyDiffsOpt = False,
        argocd_context: ArgocdContextOpt = None,
        argocd_namespace: ArgocdNamespaceOpt = "argocd",
        resource_customizations: health_cli.ResourceCustomizationsOpt = None,
        argocd_cm: health_cli.ArgocdCmOpt = None,
        health_exprs: health_cli.HealthExprsOpt = None,
        ignore_windows: Annotated[
            bool,
            typer.Option(
                "--ignore-windows",
                help="Sync although a sync window blocks it, where the windows allow manual syncs (manualSync: true).",
            ),
        ] = False,
        step_soak: Annotated[
            str | None,
            typer.Option(
                "--step-soak",
                metavar="DURATION",
                help="Rollouts: start a step only DURATION after the previous one completed (fleet.gitops.io/step-soak).",
            ),
        ] = None,
        step_approval: Annotated[
            bool,
            typer.Option(
                "--step-approval",
                help="Rollouts: every step after the first waits for `fleet rollout approve` (fleet.gitops.io/step-approval).",
            ),
        ] = False,
        step_metric: Annotated[
            str | None,
            typer.Option(
                "--step-metric",
                metavar="PROMQL",
                help="Rollouts: start a step only when this PromQL expression is true (fleet.gitops.io/step-metric).",
            ),
        ] = None,
        prometheus_url: Annotated[
            str | None,
            typer.Option(
                "--prometheus-url",
                metavar="URL",
                help="The Prometheus server --step-metric asks (fleet.gitops.io/prometheus-url).",
            ),
        ] = None,
        auto_rollback: Annotated[
            bool,
            typer.Option(
                "--auto-rollback",
                help="Rollouts: when a step fails, sync its Applications back to their last Synced and Healthy revision.",
            ),
        ] = False,
        gate_wait: Annotated[
            str,
            typer.Option(
                "--gate-wait",
                metavar="DURATION",
                help="How long a run waits at a soak or metric gate before it leaves the rollout held for the next run.",
            ),
        ] = "0",
        output: RunOutputOpt = RunOutput.TABLE,
    ) -> None:
        """Make every selected cluster match Git: apply changes, heal drift (selfHeal), prune,
        delete Applications removed from Git. With --rollout (or ApplicationSets with a RollingSync
        strategy) in steps, each step only once the ones before are Synced and Healthy."""
        kind = results.RunKind.DRY_RUN if dry_run else results.RunKind.SYNC
        options = _loop_options(every, runs, secrets_ttl) if every is not None else None
        if options is None and runs:
            raise common.fail(errors.InputError("needs --every", field="--runs"))
        if options is not None and output is RunOutput.JUNIT:
            # One XML document per run would make stdout no XML document at all.
            raise common.fail(errors.InputError("junit prints one run: not with --every", field="-o"))
        request = request_from_flags(
            kind,
            fleet=fleet,
            revision=revision,
            kubeconfig=kubeconfig,
            contexts=contexts,
            clusters=clusters,
            cluster_list=cluster_list,
            repo_creds=repo_creds,
            selector=selector,
            apps=app_,
            prune=prune,
            repo_map=repo_map,
            in_cluster=in_cluster,
            executor=executor,
            ray_address=ray_address,
            ray_runtime_env=ray_runtime_env,
            ray_placement=ray_placement,
            cluster_timeout=cluster_timeout,
            health_timeout=health_timeout,
            request_timeout=request_timeout,
            concurrency=concurrency,
            state_dir=state_dir,
            store_url=store_url,
            lock_wait=lock_wait,
            lock_lease=lock_lease,
            rollout=rollout,
            max_update=max_update,
            notify_webhook=notify_webhook,
            notify_slack=notify_slack,
            notify_markdown=notify_markdown,
            notify_on=notify_on,
            notify_include_diffs=notify_include_diffs,
            argocd_context=argocd_context,
            argocd_namespace=argocd_namespace,
            resource_customizations=resource_customizations,
            argocd_cm=argocd_cm,
            health_exprs=health_exprs,
            fleet_name=fleet_name,
            allow_empty=allow_empty,
            adopt_inventories=adopt_inventories,
            max_delete=max_delete,
            allow_mass_delete=allow_mass_delete,
        )
        request = _change_control(
            request,
            ignore_windows=ignore_windows,
            step_soak=step_soak,
            step_approval=step_approval,
            step_metric=step_metric,
            prometheus_url=prometheus_url,
            auto_rollback=auto_rollback,
            gate_wait=gate_wait,
        )
        if options is not None:
            loop_output = common.ResultFormat(output.value)
            raise typer.Exit(_loop(request, options, metrics_file=metrics_file, output=loop_output))
        run = _run(request)
        if metrics_file:
            from fleet import loop

            loop.write_metrics(metrics_file, run)
        if output is RunOutput.JSON:
            typer.echo(run.to_json(indent=2))
        elif output is RunOutput.JUNIT:
            typer.echo(report.render(run, fmt=report.Format.JUNIT), nl=False)
        else:
            _print(text.run_table(run))
            if run.rollouts:
                _print(text.rollout_table(run))
                for line in text.rollout_lines(run):
                    typer.echo(line)
            typer.echo(text.summary_line(run))
        _print_errors(run)
        raise typer.Exit(int(run.exit_code()))

    @app.command("diff")
    def diff_command(
        fleet: FleetArg = ".",
        revision: RevisionOpt = None,
        kubeconfig: KubeconfigOpt = None,
        contexts: ContextsOpt = None,
        clusters: ClustersOpt = None,
        cluster_list: ClusterListOpt = None,
        repo_creds: RepoCredsOpt = None,
        selector: SelectorOpt = None,
        app_: AppOpt = None,
        ray_address: RayAddressOpt = None,
        ray_runtime_env: RayRuntimeEnvOpt = None,
        ray_placement: RayPlacementOpt = None,
        executor: ExecutorOpt = "auto",
        cluster_timeout: ClusterTimeoutOpt = 300.0,
        request_timeout: RequestTimeoutOpt = 30.0,
        concurrency: ConcurrencyOpt = 16,
        state_dir: StateDirOpt = None,
        store_url: StoreOpt = None,
        repo_map: RepoMapOpt = None,
        in_cluster: InClusterOpt = False,
        rollout: RolloutOpt = None,
        max_update: MaxUpdateOpt = None,
        fleet_name: FleetNameOpt = "",
        allow_empty: AllowEmptyOpt = False,
        adopt_inventories: AdoptOpt = False,
        max_delete: MaxDeleteOpt = None,
        allow_mass_delete: AllowMassDeleteOpt = False,
        notify_webhook: NotifyWebhookOpt = None,
        notify_slack: NotifySlackOpt = None,
        notify_markdown: NotifyMarkdownOpt = None,
        notify_on: NotifyOnOpt = None,
        notify_include_diffs: NotifyDiffsOpt = False,
        argocd_context: ArgocdContextOpt = None,
        argocd_namespace: ArgocdNamespaceOpt = "argocd",
        resource_customizations: health_cli.ResourceCustomizationsOpt = None,
        argocd_cm: health_cli.ArgocdCmOpt = None,
        health_exprs: health_cli.HealthExprsOpt = None,
        output: RunOutputOpt = RunOutput.TABLE,
    ) -> None:
        """Show what `fleet sync` would change, per cluster and Application (secrets masked).
        Exit 0 when nothing differs, 1 when something does."""
        request = request_from_flags(
            results.RunKind.DIFF,
            fleet=fleet,
            revision=revision,
            kubeconfig=kubeconfig,
            contexts=contexts,
            clusters=clusters,
            cluster_list=cluster_list,
            repo_creds=repo_creds,
            selector=selector,
            apps=app_,
            prune=False,
            repo_map=repo_map,
            in_cluster=in_cluster,
            executor=executor,
            ray_address=ray_address,
            ray_runtime_env=ray_runtime_env,
            ray_placement=ray_placement,
            cluster_timeout=cluster_timeout,
            health_timeout=1.0,  # a diff waits for nothing
            request_timeout=request_timeout,
            concurrency=concurrency,
            state_dir=state_dir,
            store_url=store_url,
            lock_wait="0",  # a diff takes no lock
            lock_lease="30s",
            rollout=rollout,
            max_update=max_update,
            notify_webhook=notify_webhook,
            notify_slack=notify_slack,
            notify_markdown=notify_markdown,
            notify_on=notify_on,
            notify_include_diffs=notify_include_diffs,
            argocd_context=argocd_context,
            argocd_namespace=argocd_namespace,
            resource_customizations=resource_customizations,
            argocd_cm=argocd_cm,
            health_exprs=health_exprs,
            fleet_name=fleet_name,
            allow_empty=allow_empty,
            adopt_inventories=adopt_inventories,
            max_delete=max_delete,
            allow_mass_delete=allow_mass_delete,
        )
        run = _run(request)
        in_sync = (
            not run.errors
            and all(c.reason is None for c in run.clusters)
            and all(
                a.sync_status is SyncStatus.SYNCED or a.skipped or a.deletion is results.Deletion.KEPT
                for a in run.apps()
            )
        )
        if output is RunOutput.JSON:
            typer.echo(run.to_json(indent=2))
        elif output is RunOutput.JUNIT:
            typer.echo(report.render(run, fmt=report.Format.JUNIT), nl=False)
        else:
            differing = print_diffs(run)
            for line in text.rollout_lines(run):
                typer.echo(line)
            apps = sum(1 for _ in run.apps())
            typer.echo(
                f"diff: {differing} of {apps} applications differ on {len(run.clusters)} clusters; "
                f"{run.summary()['requests']} API requests"
            )
        _print_errors(run)
        raise typer.Exit(0 if in_sync else 1)

    @app.command("status")
    def status_command(
        state_dir: StateDirOpt = None,
        store_url: StoreOpt = None,
        app_: AppOpt = None,
        cluster: Annotated[
            list[str] | None, typer.Option("--cluster", help="Cluster name or glob; repeatable.")
        ] = None,
        output: OutputOpt = common.ResultFormat.TABLE,
    ) -> None:
        """The latest known state of every Application on every cluster (from the status store),
        the last revision each was Synced and Healthy at, and runs in progress or interrupted.
        Exit 0 when all are Synced and Healthy, every cluster answered, the last finished run had
        no generation errors and no run since it was interrupted or aborted; else 1."""
        try:
            db = store.open(store_url, state_dir=state_dir)
            records = db.run_records(limit=STATUS_RUNS)
            if not records:
                raise errors.InputError(
                    "holds no runs yet: run `fleet sync` or `fleet diff` first", file=db.location.display
                )
            apps = db.app_states()
            clusters = db.cluster_states()
            good = {(g.cluster, g.app): g for g in db.last_good()}
            last = db.runs(limit=1, states=[results.RunState.FINISHED])
        except errors.FleetError as exc:
            raise common.fail(exc) from None
        # Generation errors belong to no Application or cluster (an ApplicationSet that failed, an
        # unknown destination): they come from the last run, whatever the filters (issue 8, item 11).
        problems = [redact.mask(e) for e in last[0].errors] if last else []

        def chosen(value: str, patterns: list[str] | None) -> bool:
            return not patterns or any(fnmatch.fnmatchcase(value, p) for p in patterns)

        apps = [a for a in apps if chosen(a.name, app_) and chosen(a.cluster, cluster)]
        clusters = [c for c in clusters if chosen(c["cluster"], cluster)]
        failed = [c for c in clusters if not c["reachable"] and c["reason"]]
        unsettled = unsettled_runs(records)
        broken = [r for r in unsettled if r.state is not results.RunState.RUNNING]
        if output is common.ResultFormat.JSON:
            import json

            doc = {
                "applications": [
                    {
                        **a.model_dump(mode="json", exclude={"resources"}),
                        "last_synced_healthy": (
                            good[(a.cluster, a.name)].to_dict() if (a.cluster, a.name) in good else None
                        ),
                    }
                    for a in apps
                ],
                "clusters": clusters,
                "runs": [r.to_dict() for r in unsettled],
                "generation_errors": problems,
                "last_run": last[0].run_id if last else "",
            }
            typer.echo(redact.mask(json.dumps(doc, indent=2)))
        else:
            from rich import box
            from rich.table import Table

            table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False, header_style="bold")
            for column in ("CLUSTER", "APPLICATION", "SYNC", "HEALTH", "REASON", "REVISION", "UPDATED"):
                table.add_column(column, overflow="fold")
            for a in apps:
                table.add_row(
                    a.cluster,
                    a.name,
                    text.style(a.sync_status.value),
                    text.style(a.health.value),
                    a.reason.value,
                    a.revision[:12],
                    a.started_at[:19],
                )
            _print(table)
            for c in failed:
                typer.echo(f"cluster {c['cluster']}: {c['reason']}: {redact.mask(c['message'])}")
            for line in run_lines(unsettled):
                typer.echo(line)
            for problem in problems:
                typer.echo(f"generation error at the last run ({last[0].run_id}): {problem}")
            ok = sum(1 for a in apps if a.ok)
            typer.echo(
                f"{len(apps)} applications on {len({a.cluster for a in apps})} clusters: {ok} Synced and "
                f"Healthy, {len(apps) - ok} need attention; {len(failed)} clusters failed at their last run; "
                f"{len(problems)} generation errors at the last run"
                + (
                    f"; {len(broken)} runs interrupted or aborted since the last finished one"
                    if broken
                    else ""
                )
            )
        good_state = all(a.ok for a in apps) and not failed and not broken and not problems
        raise typer.Exit(0 if good_state else 1)

    @app.command("report")
    def report_command(
        state_dir: StateDirOpt = None,
        store_url: StoreOpt = None,
        format_: Annotated[
            report.Format, typer.Option("--format", help="html, markdown, json, metrics or junit.")
        ] = report.Format.HTML,
        group_by: Annotated[
            str | None,
            typer.Option(
                "--group-by",
                metavar="LABEL",
                help="The cluster label the HTML matrix groups clusters by (default: the label that "
                "splits them into the fewest groups; '' for none).",
            ),
        ] = None,
        output_file: Annotated[
            Path | None, typer.Option("--output", metavar="F", help="Write here instead of stdout.")
        ] = None,
        runs: Annotated[
            int, typer.Option("--runs", metavar="N", help="How many past runs the history shows.")
        ] = 20,
    ) -> None:
        """The latest finished run and the history (running, aborted and interrupted runs
        included) as HTML (with the clusters x Applications matrix and history charts), Markdown,
        JSON, Prometheus metrics or JUnit XML (the latest run only)."""
        try:
            if runs < 1:
                raise errors.InputError(f"must be at least 1 (got {runs})", field="--runs")
            db = store.open(store_url, state_dir=state_dir)
            history = db.runs(limit=runs)
            if not history:
                raise errors.InputError(
                    "holds no runs yet: run `fleet sync` or `fleet diff` first", file=db.location.display
                )
            finished = [h for h in history if h.state is results.RunState.FINISHED]
            latest = finished[0] if finished else db.latest_run()
            rendered = report.render(latest, history, fmt=format_.value, group_by=group_by)
        except errors.FleetError as exc:
            raise common.fail(exc) from None
        if output_file is None:
            typer.echo(rendered, nl=False)
        else:
            output_file.parent.mkdir(parents=True, exist_ok=True)
            output_file.write_text(rendered)
            typer.echo(f"wrote {output_file}", err=True)

    @app.command("demo")
    def demo_command(
        clusters: Annotated[
            int,
            typer.Option(
                "--clusters",
                metavar="N",
                help="Simulated clusters (at least 50: the example fleet names c001..c050).",
            ),
        ] = 50,
        output_dir: Annotated[
            Path | None,
            typer.Option(
                "--output-dir", metavar="D", help="Where the reports go (default: a new directory)."
            ),
        ] = None,
        executor: ExecutorOpt = "auto",
    ) -> None:
        """The whole loop on simulated clusters, with no set-up: sync, break a cluster, drift an
        object, sync again, report. Exit 0 when everything behaved as expected."""
        from fleet import demo

        try:
            code = demo.run_demo(
                clusters=clusters,
                output_dir=output_dir,
                executor=executor,
                echo=lambda text: typer.echo(redact.mask(text)),
                table=_print,
            )
        except errors.FleetError as exc:
            raise common.fail(exc) from None
        raise typer.Exit(code)
