"""CLI: ``fleet plan``, what a pull request does to the whole fleet (``fleet.preview``).

Exit codes: 0 when nothing changes, 1 when something does (an Application added, removed,
changed or failing at head, a generation error at head, or with ``--live`` a cluster that differs
from the head), 2 on bad input (a revision that does not exist names ``--base`` or ``--head``).
"""

from __future__ import annotations

import contextlib
import io
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer

from fleet import errors, redact
from fleet.cli import common, generate
from fleet.cli import sync as sync_cli


class PlanFormat(StrEnum):
    """How ``fleet plan`` prints its result (``-o``)."""

    TABLE = "table"  # the distinct changes as a table, each diff once, a summary line
    JSON = "json"  # one JSON document, schema fleet.plan/v1 (README: "Previewing a pull request")
    MARKDOWN = "markdown"  # a pull-request comment, under GitHub's 65,536 characters


def _print(renderable: Any) -> None:
    from rich.console import Console

    buffer = io.StringIO()
    Console(file=buffer, width=200, highlight=False, no_color=True).print(renderable)
    typer.echo(redact.mask("\n".join(line.rstrip() for line in buffer.getvalue().splitlines())))


def register(app: typer.Typer) -> None:
    """Add ``plan`` to the root app."""

    @app.command("plan")
    def plan_command(
        fleet: sync_cli.FleetArg = ".",
        base: Annotated[
            str,
            typer.Option(
                "--base",
                metavar="REV",
                help="The revision the pull request starts from (branch, tag or commit of the fleet repository).",
            ),
        ] = "",
        head: Annotated[
            str | None,
            typer.Option(
                "--head",
                metavar="REV",
                help="The revision it ends at (default: the working tree as it is, uncommitted changes included).",
            ),
        ] = None,
        kubeconfig: sync_cli.KubeconfigOpt = None,
        contexts: sync_cli.ContextsOpt = None,
        clusters: sync_cli.ClustersOpt = None,
        cluster_list: sync_cli.ClusterListOpt = None,
        repo_creds: sync_cli.RepoCredsOpt = None,
        selector: sync_cli.SelectorOpt = None,
        app_: sync_cli.AppOpt = None,
        prune: sync_cli.PruneOpt = False,
        repo_map: sync_cli.RepoMapOpt = None,
        in_cluster: sync_cli.InClusterOpt = False,
        rollout: sync_cli.RolloutOpt = None,
        max_update: sync_cli.MaxUpdateOpt = None,
        argocd_context: sync_cli.ArgocdContextOpt = None,
        argocd_namespace: sync_cli.ArgocdNamespaceOpt = "argocd",
        fleet_name: sync_cli.FleetNameOpt = "",
        live: Annotated[
            bool,
            typer.Option(
                "--live",
                help="Also compare the head with the clusters' live state, as `fleet diff` does "
                "(the only option that contacts the clusters).",
            ),
        ] = False,
        ray_address: sync_cli.RayAddressOpt = None,
        executor: sync_cli.ExecutorOpt = "ray",
        cluster_timeout: sync_cli.ClusterTimeoutOpt = 300.0,
        request_timeout: sync_cli.RequestTimeoutOpt = 30.0,
        concurrency: sync_cli.ConcurrencyOpt = 16,
        output: Annotated[
            PlanFormat,
            typer.Option("--output", "-o", help="table, json or markdown (a pull-request comment)."),
        ] = PlanFormat.TABLE,
    ) -> None:
        """What a pull request does to every cluster, from Git alone: Applications added,
        removed or changed, each distinct diff once, AppProject violations, prunes, rollout
        steps. Exit 0 when nothing changes, 1 when something does."""
        from fleet import driver, results
        from fleet.preview import markdown, terminal
        from fleet.preview import run as preview_run

        try:
            if not base.strip():
                raise errors.InputError(
                    "is required: the revision the pull request starts from", field="--base"
                )
            request = preview_run.PreviewRequest(
                run=driver.RunRequest(
                    fleet=fleet,
                    kubeconfig=kubeconfig,
                    contexts=tuple(c.strip() for c in (contexts or "").split(",") if c.strip()),
                    cluster_files=tuple(clusters or ()),
                    cluster_lists=tuple(cluster_list or ()),
                    repo_creds_files=tuple(repo_creds or ()),
                    selector=selector,
                    apps=tuple(app_ or ()),
                    kind=results.RunKind.DIFF,
                    prune=prune,
                    repo_map=generate.parse_repo_map(repo_map),
                    in_cluster=in_cluster,
                    argocd_context=argocd_context,
                    argocd_namespace=argocd_namespace or "argocd",
                    executor=executor,
                    ray_address=ray_address,
                    cluster_timeout=cluster_timeout,
                    health_timeout=1.0,  # a comparison waits for nothing
                    request_timeout=request_timeout,
                    concurrency=concurrency,
                    rollout=tuple(rollout or ()),
                    max_update=tuple(max_update or ()),
                    fleet_name=fleet_name,
                    record=False,
                ),
                base=base,
                head=head,
                live=live,
            )
            # stdout carries only the result: Ray's driver prints its workers' notices to stdout.
            with contextlib.redirect_stdout(sys.stderr):
                result = preview_run.preview(request)
        except errors.FleetError as exc:
            raise common.fail(exc) from None
        if output is PlanFormat.JSON:
            typer.echo(result.to_json(indent=2))
        elif output is PlanFormat.MARKDOWN:
            typer.echo(markdown.render(result), nl=False)
        else:
            if result.groups:
                _print(terminal.groups_table(result))
            for line in terminal.diff_lines(result):
                typer.echo(redact.mask(line))
            typer.echo(terminal.summary_line(result))
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        for problem in result.errors.head:
            typer.echo(f"error at head: {redact.mask(problem)}", err=True)
        raise typer.Exit(1 if result.changed else 0)
