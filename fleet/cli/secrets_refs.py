"""CLI: ``fleet secrets resolve`` and ``fleet secrets refresh`` (secret references).

A thin shell over ``fleet.secrets.resolver``. ``resolve`` prints a file's manifests with their
references resolved for one cluster, masked unless ``--reveal``; values are printed on stdout only
when the user asks for them, and are never logged or written anywhere.

``refresh`` is for rotation. This process is one-shot and keeps no cache, so "forcing
re-resolution" means telling the processes that do: it bumps the refresh generation in the state
directory (a counter and a timestamp, never a value or a hash of one); a long-running sync whose
``Resolver`` watches that file drops its TTL cache at the start of its next run. Given files, it
also resolves every reference in them afresh, per cluster, and reports which resolve and which
fail (without values), so a rotation can be checked before the next sync.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from fleet import errors, models, redact
from fleet.cli import common
from fleet.secrets import providers, refs, resolver


def _read_documents(path: str) -> tuple[list[Any], str]:
    data, where = common.read_input(path)
    docs = common.documents(data, where)
    for index, doc in enumerate(docs):
        if not isinstance(doc, dict):
            raise errors.InputError(
                f"document {index + 1} is not a mapping (a manifest or a values file)", file=where
            )
    if not docs:
        raise errors.InputError("holds no document", file=where)
    return docs, where


def _clusters(
    names: list[str],
    kubeconfig: str | None,
    cluster_files: list[Path],
    cluster_lists: list[Path],
    *,
    all_if_none: bool,
) -> list[models.Cluster | None]:
    """The clusters to resolve for: the named ones, or (refresh) every registry cluster, or none."""
    sources_given = kubeconfig is not None or cluster_files or cluster_lists
    if not names and not (all_if_none and sources_given):
        return [None]
    from fleet.clusters import registry

    reg = registry.load(
        kubeconfig_paths=kubeconfig, files=list(cluster_files), cluster_lists=list(cluster_lists)
    )
    if not names:
        return list(reg.clusters())
    return [reg.get(name) for name in names]


def _resolver_for(where: str) -> resolver.Resolver:
    """A one-shot resolver for a user's own file: ``file`` references allowed, relative to it."""
    base = str(Path(where).resolve().parent) if where != "<stdin>" else str(Path.cwd())
    settings = providers.ProviderSettings(base_dir=base, options={"file": {"allow_outside_base_dir": "true"}})
    return resolver.Resolver([*providers.DEFAULT_ENABLED, "file"], settings=settings)


ClusterOpt = Annotated[
    str | None,
    typer.Option("--cluster", help="Resolve for this registry cluster (its {{name}}, labels, ...)."),
]
KubeconfigOpt = Annotated[
    str | None, typer.Option("--kubeconfig", help="Kubeconfig file(s) to find --cluster in.")
]
ClustersOpt = Annotated[
    list[Path] | None,
    typer.Option("--clusters", help="Cluster files (Argo CD Secrets, ClusterList, kubeconfig); repeatable."),
]
ClusterListOpt = Annotated[
    list[Path] | None, typer.Option("--cluster-list", help="fleet ClusterList file(s); repeatable.")
]


def resolve(
    file: Annotated[str, typer.Argument(help="Manifests or a values file, YAML or JSON; - for stdin.")],
    cluster: ClusterOpt = None,
    kubeconfig: KubeconfigOpt = None,
    clusters: ClustersOpt = None,
    cluster_list: ClusterListOpt = None,
    reveal: Annotated[bool, typer.Option("--reveal", help="Print the secret values instead of ***.")] = False,
    output: Annotated[
        common.ManifestFormat, typer.Option("--output", "-o", help="Output format.")
    ] = common.ManifestFormat.YAML,
) -> None:
    """Print FILE with its secret references resolved for a cluster (values masked unless --reveal)."""
    try:
        docs, where = _read_documents(file)
        target = _clusters(
            [cluster] if cluster else [], kubeconfig, clusters or [], cluster_list or [], all_if_none=False
        )[0]
        context = _resolver_for(where).for_cluster(target)
        results = context.resolve_all(docs)
    except errors.FleetError as exc:
        raise common.fail(exc) from None
    shown = [
        (r.obj if reveal else resolver.mask_object(r.obj, r.secret_paths))
        for r in results
        if r.obj is not None
    ]
    if shown:
        common.print_objects(shown, output)
    failures = [r.error for r in results if r.error is not None]
    for failure in failures:
        typer.echo(f"error: {where}: {redact.mask(str(failure))}", err=True)
    if failures:
        raise typer.Exit(max(int(f.exit_code) for f in failures))


def _status_of(exc: errors.FleetError | None) -> str:
    if exc is None:
        return "ok"
    if isinstance(exc, providers.SecretNotFound):
        return "not-found"
    if isinstance(exc, providers.AccessDenied):
        return "denied"
    if isinstance(exc, providers.ProviderUnavailable):
        return "unavailable"
    if isinstance(exc, refs.BadReference):
        return "bad-reference"
    return "error"


def refresh(
    files: Annotated[
        list[str] | None, typer.Argument(help="Files whose references to re-resolve and check (optional).")
    ] = None,
    cluster: Annotated[
        list[str] | None,
        typer.Option(
            "--cluster",
            help="Check for this cluster; repeatable (default: every cluster of the given sources).",
        ),
    ] = None,
    kubeconfig: KubeconfigOpt = None,
    clusters: ClustersOpt = None,
    cluster_list: ClusterListOpt = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir", help="fleet's state directory (default $FLEET_STATE_DIR, else ./.fleet)."
        ),
    ] = None,
    output: Annotated[
        common.ResultFormat, typer.Option("--output", "-o", help="Output format of the check.")
    ] = common.ResultFormat.TABLE,
) -> None:
    """Force re-resolution of secrets (rotation): long-running syncs re-read every value at their next run.

    With FILES, every reference in them is also resolved afresh for each cluster and reported
    (ok, not-found, denied, unavailable, bad-reference), never with its value.
    """
    try:
        path = resolver.generation_path(state_dir)
        generation = resolver.bump_generation(path)
        rows: list[dict[str, str]] = []
        for name in files or []:
            docs, where = _read_documents(name)
            found = sorted({ref.text for ref in refs.find_references(docs)})
            for target in _clusters(
                cluster or [], kubeconfig, clusters or [], cluster_list or [], all_if_none=True
            ):
                context = _resolver_for(where).for_cluster(target)
                for text in found:
                    error: errors.FleetError | None = None
                    try:
                        context.resolve_string(text)
                    except errors.FleetError as exc:
                        error = exc
                    rows.append(
                        {
                            "file": where,
                            "cluster": target.name if target is not None else "",
                            "reference": refs.parse(text).display(),
                            "status": _status_of(error),
                            "error": redact.mask(str(error)) if error is not None else "",
                        }
                    )
    except errors.FleetError as exc:
        raise common.fail(exc) from None
    failed = [row for row in rows if row["status"] != "ok"]
    if output is common.ResultFormat.JSON:
        typer.echo(
            json.dumps({"generation": generation, "generation_file": str(path), "references": rows}, indent=2)
        )
    else:
        typer.echo(
            f"refresh generation {generation} written to {path}: "
            "long-running syncs re-read every secret at their next run"
        )
        if rows:
            widths = {
                k: max(len(k), *(len(row[k]) for row in rows)) for k in ("cluster", "reference", "status")
            }
            typer.echo("  ".join(k.upper().ljust(widths[k]) for k in widths).rstrip())
            for row in rows:
                typer.echo("  ".join(row[k].ljust(widths[k]) for k in widths).rstrip())
            for row in failed:
                typer.echo(f"error: {row['error']}", err=True)
    if failed:
        raise typer.Exit(int(errors.ExitCode.FAILED))


def register(app: typer.Typer) -> None:
    """Add ``resolve`` and ``refresh`` to the ``fleet secrets`` app."""
    app.command("resolve")(resolve)
    app.command("refresh")(refresh)
