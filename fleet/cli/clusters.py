"""CLI: ``fleet clusters list`` and ``fleet clusters check``.

A thin shell over ``fleet.clusters.registry`` (which clusters the flags select) and
``fleet.clusters.client`` (``check`` asks each cluster for /version and its API groups, in
parallel on a bounded thread pool; one broken cluster is reported and never stops the others).
Credentials are never printed: only which kinds of credential a cluster has.
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from fleet import errors, log, models, redact
from fleet.cli import common
from fleet.clusters import argocd, auth, client, discovery, registry

_log = log.get_logger(__name__)

clusters_app = typer.Typer(
    help="The clusters of the fleet: list them, check that they answer.", no_args_is_help=True
)


class Reachability(StrEnum):
    """What ``fleet clusters check`` found out about one cluster."""

    OK = "ok"  # /version and discovery answered
    UNREACHABLE = "unreachable"  # no answer: refused, reset, timed out
    UNAUTHORIZED = "unauthorized"  # the credentials were refused (401/403)
    TLS = "tls-error"  # the TLS handshake failed
    CREDENTIALS = "bad-credentials"  # the credentials could not be prepared (references, exec plugin, PEM)
    ERROR = "error"  # any other answer


KubeconfigOpt = Annotated[
    str | None,
    typer.Option(
        "--kubeconfig",
        help="Kubeconfig file(s), ':'-separated like KUBECONFIG (default: KUBECONFIG or ~/.kube/config).",
    ),
]
ContextsOpt = Annotated[
    str | None, typer.Option("--contexts", help="Only these kubeconfig contexts, comma-separated.")
]
ClustersOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--clusters",
        help="Cluster file: Argo CD cluster Secrets, a ClusterList or a kubeconfig (repeatable).",
    ),
]
ClusterListOpt = Annotated[
    list[Path] | None, typer.Option("--cluster-list", help="fleet ClusterList file (repeatable).")
]
ArgocdContextOpt = Annotated[
    str | None,
    typer.Option("--argocd-context", help="Read Argo CD cluster Secrets live from this kubeconfig context."),
]
ArgocdNamespaceOpt = Annotated[str, typer.Option("--argocd-namespace", help="The Argo CD namespace.")]
SelectorOpt = Annotated[
    str | None, typer.Option("--selector", "-l", help="Label selector, e.g. 'env=prod,region in (eu,us)'.")
]
OutputOpt = Annotated[common.ResultFormat, typer.Option("--output", "-o", help="Output format.")]


def _select(
    kubeconfig: str | None,
    contexts: str | None,
    clusters: list[Path] | None,
    cluster_list: list[Path] | None,
    argocd_context: str | None,
    argocd_namespace: str,
    selector: str | None,
) -> list[models.Cluster]:
    reg = registry.load(
        kubeconfig_paths=kubeconfig,
        contexts=[c.strip() for c in contexts.split(",") if c.strip()] if contexts else None,
        files=list(clusters or []),
        cluster_lists=list(cluster_list or []),
        argocd_context=argocd_context,
        argocd_namespace=argocd_namespace,
    )
    from fleet.clusters import selectors

    return reg.clusters(selectors.parse(selector, where="--selector"))


def _auth_kinds(cluster: models.Cluster) -> str:
    creds = cluster.credentials
    kinds = []
    if creds.bearer_token:
        kinds.append("token-ref" if auth.is_reference(creds.bearer_token) else "token")
    if creds.client_cert_data:
        kinds.append("client-cert")
    if creds.username:
        kinds.append("basic")
    if creds.exec:
        kinds.append(f"exec:{Path(creds.exec.command).name}")
    if creds.insecure:
        kinds.append("insecure")
    return ",".join(kinds) or "none"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    buffer = io.StringIO()
    Console(file=buffer, width=240, no_color=True, highlight=False).print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()).strip("\n")


def list_clusters(
    kubeconfig: KubeconfigOpt = None,
    contexts: ContextsOpt = None,
    clusters: ClustersOpt = None,
    cluster_list: ClusterListOpt = None,
    argocd_context: ArgocdContextOpt = None,
    argocd_namespace: ArgocdNamespaceOpt = argocd.DEFAULT_NAMESPACE,
    selector: SelectorOpt = None,
    output: OutputOpt = common.ResultFormat.TABLE,
) -> None:
    """List the clusters the flags select (later sources override earlier ones by name)."""
    try:
        selected = _select(
            kubeconfig, contexts, clusters, cluster_list, argocd_context, argocd_namespace, selector
        )
    except errors.FleetError as exc:
        raise common.fail(exc) from None
    if output is common.ResultFormat.JSON:
        doc = [
            {
                "name": c.name,
                "server": c.server,
                "labels": dict(c.labels),
                "annotations": dict(c.annotations),
                "project": c.project,
                "namespaces": list(c.namespaces),
                "credentials": c.credentials.redacted(),
                "source": c.source,
            }
            for c in selected
        ]
        typer.echo(redact.mask(json.dumps(doc, indent=2)))
        return
    rows = [
        [
            c.name,
            c.server,
            ",".join(f"{k}={v}" for k, v in sorted(c.labels.items())) or "-",
            _auth_kinds(c),
            c.source,
        ]
        for c in selected
    ]
    typer.echo(redact.mask(_table(["NAME", "SERVER", "LABELS", "AUTH", "SOURCE"], rows)))
    if not selected:
        typer.echo("no clusters selected", err=True)


@dataclass(frozen=True)
class CheckResult:
    """One cluster's answer to ``fleet clusters check``."""

    name: str
    server: str
    status: Reachability
    version: str = ""
    api_groups: int = 0
    resources: int = 0
    latency_ms: float = 0.0
    requests: int = 0
    error: str = ""


def check_cluster(
    cluster: models.Cluster,
    *,
    timeout: float,
    retries: int,
    full_discovery: bool,
    credential_resolver: Any = None,
) -> CheckResult:
    """Ask one cluster for /version and its API groups; never raises for a cluster's failure."""
    started = time.monotonic()
    api: client.ClusterClient | None = None

    def result(status: Reachability, **kw: Any) -> CheckResult:
        return CheckResult(
            name=cluster.name,
            server=cluster.server,
            status=status,
            latency_ms=round((time.monotonic() - started) * 1000, 1),
            requests=api.stats().requests if api is not None else 0,
            **kw,
        )

    try:
        api = client.connect(
            cluster,
            credential_resolver=credential_resolver,
            timeout=(timeout, timeout),
            retries=retries,
            backoff=0.1,
            discovery_cache=discovery.DiscoveryCache(),  # a check must ask the server, not a cache
        )
        version = api.server_version()
        group_versions = api.api_groups()
        resources = len(api.resources()) if full_discovery else 0
        return result(
            Reachability.OK,
            version=str(version.get("gitVersion", "")),
            api_groups=len({gv.rpartition("/")[0] for gv in group_versions}),
            resources=resources,
        )
    except (client.Unauthorized, client.Forbidden) as exc:
        return result(Reachability.UNAUTHORIZED, error=redact.mask(str(exc)))
    except client.ClusterUnreachable as exc:
        return result(Reachability.UNREACHABLE, error=redact.mask(str(exc)))
    except client.TLSFailure as exc:
        return result(Reachability.TLS, error=redact.mask(str(exc)))
    except (auth.CredentialError, errors.InputError) as exc:
        return result(Reachability.CREDENTIALS, error=redact.mask(str(exc)))
    except errors.FleetError as exc:
        return result(Reachability.ERROR, error=redact.mask(str(exc)))
    except Exception as exc:  # noqa: BLE001 - an isolated cluster failure must never stop the others
        _log.debug(
            "cluster check failed unexpectedly", exc_info=True, extra={"fields": {"cluster": cluster.name}}
        )
        return result(Reachability.ERROR, error=f"{type(exc).__name__}")
    finally:
        if api is not None:
            api.close()


def _credential_resolver(cluster: models.Cluster) -> Any:
    """The secret layer's resolver for clusters whose credentials are references; None otherwise."""
    creds = cluster.credentials
    values = [
        creds.bearer_token,
        creds.username,
        creds.password,
        creds.client_cert_data,
        creds.client_key_data,
        creds.ca_data,
    ]
    if creds.exec:
        values.extend(creds.exec.env.values())
    if not any(auth.is_reference(v) for v in values):
        return None
    from fleet.secrets import resolver

    return resolver.Resolver().credential_resolver(cluster)


def check_clusters(
    selected: list[models.Cluster], *, parallel: int, timeout: float, retries: int, full_discovery: bool
) -> list[CheckResult]:
    """Check every cluster on a bounded thread pool; results in the order of ``selected``."""
    results: dict[str, CheckResult] = {}
    with log.progress("checking clusters", total=len(selected)) as bar:
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=max(1, parallel), thread_name_prefix="fleet-check"
        ) as pool:
            futures = {}
            for cluster in selected:
                try:
                    resolver_fn = _credential_resolver(cluster)
                except errors.FleetError as exc:
                    results[cluster.name] = CheckResult(
                        cluster.name, cluster.server, Reachability.CREDENTIALS, error=redact.mask(str(exc))
                    )
                    bar.advance(item=cluster.name, status=Reachability.CREDENTIALS)
                    continue
                futures[
                    pool.submit(
                        check_cluster,
                        cluster,
                        timeout=timeout,
                        retries=retries,
                        full_discovery=full_discovery,
                        credential_resolver=resolver_fn,
                    )
                ] = cluster
            for future in concurrent.futures.as_completed(futures):
                res = future.result()
                results[res.name] = res
                bar.advance(item=res.name, status=res.status)
    return [results[c.name] for c in selected]


def check(
    kubeconfig: KubeconfigOpt = None,
    contexts: ContextsOpt = None,
    clusters: ClustersOpt = None,
    cluster_list: ClusterListOpt = None,
    argocd_context: ArgocdContextOpt = None,
    argocd_namespace: ArgocdNamespaceOpt = argocd.DEFAULT_NAMESPACE,
    selector: SelectorOpt = None,
    parallel: Annotated[
        int, typer.Option("--parallel", "-p", min=1, help="Clusters checked at the same time.")
    ] = 16,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds to wait for each answer.")
    ] = 5.0,
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Retries per request on 429/5xx/connection errors.")
    ] = 1,
    full_discovery: Annotated[
        bool,
        typer.Option(
            "--full-discovery", help="Also read every group version's resource list and count the resources."
        ),
    ] = False,
    output: OutputOpt = common.ResultFormat.TABLE,
) -> None:
    """Contact each selected cluster (/version, API discovery) and report which answer.

    Exit status 0 when every cluster answered, 1 when any did not, 2 on bad input.
    """
    try:
        selected = _select(
            kubeconfig, contexts, clusters, cluster_list, argocd_context, argocd_namespace, selector
        )
    except errors.FleetError as exc:
        raise common.fail(exc) from None
    results = check_clusters(
        selected, parallel=parallel, timeout=timeout, retries=retries, full_discovery=full_discovery
    )
    if output is common.ResultFormat.JSON:
        typer.echo(
            redact.mask(json.dumps([{**asdict(r), "status": str(r.status)} for r in results], indent=2))
        )
    else:
        headers = [
            "NAME",
            "STATUS",
            "VERSION",
            "GROUPS",
            *(["RESOURCES"] if full_discovery else []),
            "MS",
            "ERROR",
        ]
        rows = [
            [
                r.name,
                str(r.status),
                r.version or "-",
                str(r.api_groups or "-"),
                *([str(r.resources or "-")] if full_discovery else []),
                f"{r.latency_ms:.0f}",
                r.error or "",
            ]
            for r in results
        ]
        typer.echo(redact.mask(_table(headers, rows)))
        bad = sum(1 for r in results if r.status is not Reachability.OK)
        typer.echo(f"{len(results) - bad}/{len(results)} clusters answered", err=True)
    if any(r.status is not Reachability.OK for r in results):
        raise typer.Exit(int(errors.ExitCode.FAILED))


clusters_app.command("list")(list_clusters)
clusters_app.command("check")(check)


def register(app: typer.Typer) -> None:
    """Add ``fleet clusters ...`` to the given app."""
    app.add_typer(clusters_app, name="clusters")
