"""CLI: ``fleet generate`` — preview the Applications that ApplicationSets would create.

A thin shell over ``fleet.appset.generate``: read the ApplicationSets and cluster Secrets,
generate, print a table, YAML or JSON. Exit codes: 0 all generated; 1 a generator or template
failed (message on stderr, nothing on stdout) or some Applications were invalid (the valid
ones are printed, the invalid ones reported on stderr); 2 bad input (file, YAML, object, flag).
"""

from __future__ import annotations

import contextlib
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fleet import errors, redact
from fleet.cli import common

if TYPE_CHECKING:
    from fleet import appset, argo

# The engine (pydantic models, the generators, GitPython when a git generator needs it) is
# imported when the command runs, not for `fleet generate --help` (issue 15).
DEFAULT_NAMESPACE = "argocd"  # fleet.appset.DEFAULT_NAMESPACE (tests/test_cli_generate_startup.py)


class ApplicationFormat(StrEnum):
    """How ``fleet generate`` prints the Applications."""

    TABLE = "table"  # a rich table: name, project, cluster, namespace, repo/path, revision
    YAML = "yaml"  # a YAML stream of Application objects
    JSON = "json"  # a JSON array of Application objects


def parse_repo_map(entries: list[str] | None) -> dict[str, str]:
    """``URL=PATH`` flags as a dict; the path must be an existing directory."""
    out: dict[str, str] = {}
    for entry in entries or []:
        url, eq, path = entry.partition("=")
        if not eq or not url.strip() or not path.strip():
            raise errors.InputError(f"{entry!r} must look like URL=PATH", field="--repo-map")
        if not Path(path).is_dir():
            raise errors.InputError(f"{path!r} is not a directory", field="--repo-map")
        out[url.strip()] = path.strip()
    return out


def load_appsets(paths: list[str]) -> list[argo.ApplicationSet]:
    """ApplicationSets from files (every document must be one) and directories (others skipped)."""
    from fleet import argo

    found: list[argo.ApplicationSet] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(
                p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file()
            ):
                docs = argo.read_documents(file)
                for i, doc in enumerate(docs):
                    if isinstance(doc, dict) and doc.get("kind") == argo.Kind.APPLICATION_SET:
                        parsed = argo.parse_object(doc, file=str(file), index=i)
                        assert isinstance(parsed, argo.ApplicationSet)
                        found.append(parsed)
        else:
            found.extend(argo.load_appsets(path))
    if not found:
        raise errors.InputError("no ApplicationSet found", file=", ".join(paths))
    return found


def dump_json(objects: list[dict[str, Any]]) -> str:
    """The Applications as an indented JSON array (non-ASCII characters as they are).

    orjson: the standard library indents in pure Python, which took longer than generating the
    Applications (about 0.3 s for 10,000 against 0.02 s; issue 15). It refuses integers beyond
    64 bits, which the standard library writes.
    """
    import orjson

    try:
        return orjson.dumps(objects, option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONEncodeError:
        return json.dumps(objects, indent=2, ensure_ascii=False)


def _cluster_column(app: dict[str, Any]) -> str:
    dest = (app.get("spec") or {}).get("destination") or {}
    return str(dest.get("name") or dest.get("server") or "")


def _source_columns(app: dict[str, Any]) -> tuple[str, str]:
    spec = app.get("spec") or {}
    sources = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    if not sources:
        return "", ""
    first = sources[0]
    where = redact.safe_url(str(first.get("repoURL") or ""))
    if first.get("chart"):
        where += f" (chart {first['chart']})"
    elif first.get("path"):
        where += f" {first['path']}"
    if len(sources) > 1:
        where += f" (+{len(sources) - 1} more)"
    return where, str(first.get("targetRevision") or "HEAD")


def print_table(result: appset.GenerateResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 220)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("APPSET", "NAME", "PROJECT", "CLUSTER", "NAMESPACE", "REPO / PATH", "REVISION"):
        table.add_column(column, overflow="fold")
    count = 0
    for item in result.results:
        for obj in item.objects:
            meta = obj.get("metadata") or {}
            spec = obj.get("spec") or {}
            repo, revision = _source_columns(obj)
            table.add_row(
                item.name,
                str(meta.get("name", "")),
                str(spec.get("project", "")),
                _cluster_column(obj),
                str((spec.get("destination") or {}).get("namespace", "")),
                repo,
                revision,
                end_section=False,
            )
            count += 1
    table.caption = f"{count} applications from {len(result.results)} ApplicationSets"
    console.print(table)


def run(
    paths: list[str],
    *,
    clusters_file: str | None,
    argocd_namespace: str,
    in_cluster: bool,
    repo_map: list[str] | None,
    output: ApplicationFormat,
    argocd_context: str | None = None,
    kubeconfig: str | None = None,
    repo_creds: list[str] | None = None,
) -> int:
    """The command's work, returning the exit code (raises InputError for bad input)."""
    from fleet import appset, gitsource, kyaml, repocreds
    from fleet.clusters import argocd

    mapping = parse_repo_map(repo_map)
    clusters = argocd.load_cluster_secrets(clusters_file, namespace=argocd_namespace) if clusters_file else []
    credential_files = [*([clusters_file] if clusters_file else []), *(repo_creds or [])]
    credentials = repocreds.load(credential_files, namespace=argocd_namespace)
    appsets = load_appsets(paths)
    with contextlib.ExitStack() as stack:
        live = None
        if argocd_context:
            # Only now: the Kubernetes client is not needed to preview from files.
            from fleet.clusters import management, registry

            live = stack.enter_context(
                management.open_context(
                    argocd_context, kubeconfig_paths=kubeconfig, namespace=argocd_namespace
                )
            )
            # The cluster Secrets of Argo CD's own namespace, as its controller sees them; a
            # --clusters file replaces a live cluster of the same name (as in the registry).
            given = {c.name for c in clusters}
            live_clusters = registry.argocd_live(live.api, namespace=argocd_namespace)
            clusters = [c for c in live_clusters if c.name not in given] + list(clusters)
            # Its repository Secrets too; a file's Secret of the same URL wins.
            credentials = repocreds.read_live(live.api, namespace=argocd_namespace).merge(credentials)
        result = appset.generate(
            appsets,
            clusters=clusters,
            in_cluster=in_cluster,
            repo_map=mapping,
            argocd_namespace=argocd_namespace,
            argocd=live,
            repos=gitsource.RepoCache(credentials=credentials) if credentials else None,
        )
    for warning in result.warnings:
        typer.echo(f"warning: {redact.mask(warning)}", err=True)
    # As Argo CD's generation, the preview prints such an Application; its API server (and
    # `fleet sync`) would refuse it, so say so.
    for refused in appset.refuse_invalid_names(result).invalid:
        if refused not in result.invalid:
            typer.echo(f"warning: {redact.mask(str(refused))}; fleet sync refuses it", err=True)
    if result.errors:
        for error in result.errors:
            typer.echo(f"error: {redact.mask(str(error))}", err=True)
        return int(errors.ExitCode.FAILED)
    if output is ApplicationFormat.JSON:
        typer.echo(dump_json(result.objects))
    elif output is ApplicationFormat.YAML:
        typer.echo(kyaml.dump_all(result.objects), nl=False)
    else:
        print_table(result)
    for invalid in result.invalid:
        typer.echo(f"error: {redact.mask(str(invalid))}", err=True)
    return int(errors.ExitCode.FAILED if result.invalid else errors.ExitCode.OK)


def register(app: typer.Typer) -> None:
    """Add ``fleet generate`` to the root app."""

    @app.command("generate")
    def generate(
        appsets: Annotated[
            list[str],
            typer.Argument(metavar="APPSET.yaml...", help="ApplicationSet files (or directories of them)."),
        ],
        clusters: Annotated[
            str | None,
            typer.Option(
                "--clusters",
                metavar="FILE",
                help="YAML stream of Argo CD cluster Secrets (data base64 or stringData);"
                " only Secrets labelled"
                " argocd.argoproj.io/secret-type=cluster in the --argocd-namespace count.",
            ),
        ] = None,
        argocd_namespace: Annotated[
            str,
            typer.Option(
                "--argocd-namespace", help="Argo CD's namespace (cluster Secrets, ApplicationSets)."
            ),
        ] = DEFAULT_NAMESPACE,
        in_cluster: Annotated[
            bool,
            typer.Option(
                "--in-cluster/--no-in-cluster",
                help="The implicit in-cluster entry, on by default as in Argo CD.",
            ),
        ] = True,
        repo_map: Annotated[
            list[str] | None,
            typer.Option(
                "--repo-map",
                metavar="URL=PATH",
                help="Read the git repository URL from a local directory (its working tree) instead;"
                " repeatable.",
            ),
        ] = None,
        repo_creds: Annotated[
            list[str] | None,
            typer.Option(
                "--repo-creds",
                metavar="FILE",
                help="Argo CD repository Secrets, repo-creds templates, argocd-ssh-known-hosts-cm and"
                " argocd-tls-certs-cm for the git generators' repositories (the --clusters file is read"
                " for them too); repeatable.",
            ),
        ] = None,
        output: Annotated[
            ApplicationFormat, typer.Option("--output", "-o", help="table, yaml or json.")
        ] = ApplicationFormat.TABLE,
        argocd_context: Annotated[
            str | None,
            typer.Option(
                "--argocd-context",
                metavar="CTX",
                help="Kubeconfig context of Argo CD's management cluster: its cluster Secrets are read live, and "
                "the clusterDecisionResource and plugin generators read their ConfigMaps, Secrets and "
                "decision resources there.",
            ),
        ] = None,
        kubeconfig: Annotated[
            str | None,
            typer.Option("--kubeconfig", metavar="F", help="Kubeconfig file(s) holding --argocd-context."),
        ] = None,
    ) -> None:
        """Preview the Applications that ApplicationSets generate (no cluster access needed, except
        Argo CD's management cluster for clusterDecisionResource and plugin generators)."""
        try:
            code = run(
                appsets,
                clusters_file=clusters,
                argocd_namespace=argocd_namespace,
                in_cluster=in_cluster,
                repo_map=repo_map,
                output=output,
                argocd_context=argocd_context,
                kubeconfig=kubeconfig,
                repo_creds=repo_creds,
            )
        except errors.FleetError as exc:
            raise common.fail(exc) from None
        if code:
            raise typer.Exit(code)
