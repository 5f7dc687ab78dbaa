"""CLI: ``fleet serve``: Fleet as a long-running service (``fleet.serve``).

The same selection flags as ``fleet sync`` (parsed by the same function), plus where to listen,
the schedule, the webhook secret and the API token. Bad flags are bad input (exit 2) before
anything listens or runs. Exit codes: 0 after SIGTERM (the current run finished and recorded),
130 after SIGINT or a second signal that abandoned the current run (recorded as aborted), 2 on
bad input, 4 when the Ray cluster named by --ray-address does not answer.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Annotated

import typer

from fleet import errors, redact, results
from fleet.cli import common
from fleet.cli import health as health_cli
from fleet.cli import sync as sync_cli

HELP = (
    "Run fleet as a service: scheduled runs (--every or --schedule), Git webhooks that sync\n"
    "the Applications a push touched, an HTTP API, Prometheus /metrics and the web UI.\n"
    "Exit 0 after SIGTERM, 130 after SIGINT."
)


def _secret(value: str | None, flag: str) -> str:
    """A flag's value, or the value of the secret reference (``ref+vault://...``) it is; the value
    is registered for masking either way."""
    if not value:
        return ""
    from fleet.secrets import refs
    from fleet.secrets import resolver as resolver_mod

    if refs.contains_reference(value):
        value = resolver_mod.Resolver().for_cluster(None).resolve_string(value, where=flag).strip()
        if not value:
            raise errors.InputError("the secret reference resolved to an empty value", field=flag)
    redact.register(value)
    return value


def register(app: typer.Typer) -> None:
    """Add serve to the root app."""

    @app.command("serve", help=HELP)
    def serve_command(
        fleet: sync_cli.FleetArg = ".",
        listen: Annotated[
            str,
            typer.Option(
                "--listen",
                metavar="HOST:PORT",
                help="Where the HTTP server listens (127.0.0.1 unless told otherwise; port 0 picks a free one).",
            ),
        ] = "127.0.0.1:8080",
        every: Annotated[
            str | None,
            typer.Option(
                "--every",
                metavar="DURATION",
                help="Sync the whole fleet every DURATION (e.g. 5m; 10% jitter), the first run at start.",
            ),
        ] = None,
        schedule_: Annotated[
            str | None,
            typer.Option(
                "--schedule",
                metavar="CRON",
                help="Sync the whole fleet on a cron schedule (e.g. '*/15 * * * *').",
            ),
        ] = None,
        timezone: Annotated[
            str | None,
            typer.Option(
                "--timezone", metavar="TZ", help="The time zone of --schedule (IANA name; default UTC)."
            ),
        ] = None,
        webhook_secret: Annotated[
            str | None,
            typer.Option(
                "--webhook-secret",
                metavar="VALUE|ref+...",
                envvar="FLEET_WEBHOOK_SECRET",
                show_envvar=True,
                help="The secret of the Git webhooks (HMAC key, GitLab's token); a secret reference "
                "is resolved at start. Without it, /hooks/* refuses every delivery.",
            ),
        ] = None,
        api_token: Annotated[
            str | None,
            typer.Option(
                "--api-token",
                metavar="VALUE|ref+...",
                envvar="FLEET_API_TOKEN",
                show_envvar=True,
                help="The bearer token of POST /api/v1/sync; a secret reference is resolved at start. "
                "Without it, the API is read-only.",
            ),
        ] = None,
        revision: sync_cli.RevisionOpt = None,
        kubeconfig: sync_cli.KubeconfigOpt = None,
        contexts: sync_cli.ContextsOpt = None,
        clusters: sync_cli.ClustersOpt = None,
        cluster_list: sync_cli.ClusterListOpt = None,
        repo_creds: sync_cli.RepoCredsOpt = None,
        selector: sync_cli.SelectorOpt = None,
        app_: sync_cli.AppOpt = None,
        prune: sync_cli.PruneOpt = False,
        ray_address: sync_cli.RayAddressOpt = None,
        ray_runtime_env: sync_cli.RayRuntimeEnvOpt = None,
        ray_placement: sync_cli.RayPlacementOpt = None,
        executor: sync_cli.ExecutorOpt = "ray",
        cluster_timeout: sync_cli.ClusterTimeoutOpt = 300.0,
        request_timeout: sync_cli.RequestTimeoutOpt = 30.0,
        health_timeout: sync_cli.HealthTimeoutOpt = 120.0,
        concurrency: sync_cli.ConcurrencyOpt = 16,
        state_dir: sync_cli.StateDirOpt = None,
        store_url: sync_cli.StoreOpt = None,
        lock_wait: sync_cli.LockWaitOpt = "0",
        lock_lease: sync_cli.LockLeaseOpt = "30s",
        repo_map: sync_cli.RepoMapOpt = None,
        in_cluster: sync_cli.InClusterOpt = False,
        rollout: sync_cli.RolloutOpt = None,
        max_update: sync_cli.MaxUpdateOpt = None,
        fleet_name: sync_cli.FleetNameOpt = "",
        allow_empty: sync_cli.AllowEmptyOpt = False,
        adopt_inventories: sync_cli.AdoptOpt = False,
        max_delete: sync_cli.MaxDeleteOpt = None,
        allow_mass_delete: sync_cli.AllowMassDeleteOpt = False,
        secrets_ttl: Annotated[
            str,
            typer.Option(
                "--secrets-ttl",
                metavar="DURATION",
                help="How long resolved secrets stay cached across runs (`fleet secrets refresh` drops them sooner).",
            ),
        ] = "5m",
        notify_webhook: sync_cli.NotifyWebhookOpt = None,
        notify_slack: sync_cli.NotifySlackOpt = None,
        notify_markdown: sync_cli.NotifyMarkdownOpt = None,
        notify_on: sync_cli.NotifyOnOpt = None,
        notify_include_diffs: sync_cli.NotifyDiffsOpt = False,
        argocd_context: sync_cli.ArgocdContextOpt = None,
        argocd_namespace: sync_cli.ArgocdNamespaceOpt = "argocd",
        resource_customizations: health_cli.ResourceCustomizationsOpt = None,
        argocd_cm: health_cli.ArgocdCmOpt = None,
        health_exprs: health_cli.HealthExprsOpt = None,
    ) -> None:
        from fleet import waves
        from fleet.serve import adapter, schedule, server

        request = sync_cli.request_from_flags(
            results.RunKind.SYNC,
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
        try:
            # 1. every flag checked before anything listens or runs (exit 2 naming the flag)
            options = server.ServeOptions(
                listen=server.parse_listen(listen),
                plan=schedule.parse(every, schedule_, timezone),
                webhook_secret=_secret(webhook_secret, "--webhook-secret"),
                api_token=_secret(api_token, "--api-token"),
                secrets_ttl=waves.parse_duration(secrets_ttl, where="--secrets-ttl"),
            )
            # 2. the cluster registry reads (bad cluster files are bad input now, not at the first run)
            adapter.registered_clusters(request)
            # 3. serve: HTTP in a thread, runs in this one (signals stop it as they stop --every)
            sock = server.bind(options.listen)
            with contextlib.redirect_stdout(sys.stderr):  # Ray's driver notices are not results
                outcome = server.Server(request, options).run(sock)
        except errors.FleetError as exc:
            raise common.fail(exc) from None
        if outcome.stopped_by:
            typer.echo(f"stopped by {outcome.stopped_by} after {outcome.runs} runs", err=True)
        if outcome.abandoned:
            # The abandoned run is recorded as aborted; its cluster threads may still wait on a
            # cluster (a health check, a hung socket) and would hold the interpreter's exit.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(outcome.exit_code)
        raise typer.Exit(outcome.exit_code if outcome.stopped_by else 0)
