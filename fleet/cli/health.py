"""CLI: ``fleet health`` — the health of Kubernetes objects in files, as a sync would judge them.

A thin shell over ``fleet.health``: read one object per FILE, build the configured checks from
``--resource-customizations`` (an Argo CD ``resource_customizations`` tree), ``--argocd-cm`` (an
``argocd-cm`` ConfigMap) and ``--health-exprs`` (Flux ``healthCheckExprs``), and print each
object's status and message, in order. Exit codes: 0 when every FILE could be assessed (whatever
its health: a script that fails makes that object Unknown, not the command); 2 on bad input
(an unreadable file, not exactly one object, a broken ConfigMap or expression), naming the file.

The sync and diff commands take the same three options (defined here).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import typer
import yaml

from fleet import errors, health, kyaml, redact
from fleet.cli import common
from fleet.health import config as health_config

ResourceCustomizationsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--resource-customizations",
        metavar="DIR",
        help="Argo CD resource_customizations directory: <group>/<kind>/health.lua Lua checks, '_' as a "
        "wildcard; repeatable (a later one wins for the same group/kind).",
    ),
]
ArgocdCmOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--argocd-cm",
        metavar="FILE",
        help="Argo CD argocd-cm ConfigMap: its resource.customizations.health.<group>_<kind> and "
        "resource.customizations Lua checks; repeatable.",
    ),
]
HealthExprsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--health-exprs",
        metavar="FILE",
        help="Flux healthCheckExprs (CEL): Kustomizations holding spec.healthCheckExprs, or a YAML list of "
        "entries; repeatable.",
    ),
]


class Output(StrEnum):
    """How ``fleet health`` prints its verdicts."""

    TABLE = "table"  # one row per FILE: file, object, status, message, which check decided
    JSON = "json"  # a JSON list with one {"status": ..., "message": ...} per FILE, in order


@dataclass(frozen=True)
class Verdict:
    """The health of the object of one FILE, and which check decided it."""

    file: str
    obj: str
    status: health.Health
    message: str
    source: str


def read_object(path: str) -> Mapping[str, Any]:
    """The one Kubernetes object a FILE holds; anything else is bad input naming the file."""
    data, where = common.read_input(path)
    try:
        docs = [doc for doc in kyaml.load_all(data) if doc is not None]
    except yaml.YAMLError as exc:  # not chained: the parser's message would quote the input
        raise errors.InputError(f"is not valid YAML or JSON: {kyaml.error_text(exc)}", file=where) from None
    if len(docs) != 1:
        raise errors.InputError(f"must hold exactly one Kubernetes object (found {len(docs)})", file=where)
    obj = docs[0]
    if not isinstance(obj, Mapping):
        raise errors.InputError("must hold a Kubernetes object (a mapping)", file=where)
    for field in ("apiVersion", "kind"):
        if not isinstance(obj.get(field), str) or not obj.get(field):
            raise errors.InputError("is required", file=where, field=field)
    return obj


def assess(paths: Sequence[str], config: health_config.HealthConfig) -> list[Verdict]:
    """Every FILE's verdict, in order (all FILEs are read first: bad input changes nothing)."""
    objects = [(path, read_object(path)) for path in paths]
    verdicts = []
    for path, obj in objects:
        group, kind = health.group_kind(obj)
        meta = obj.get("metadata") or {}
        name = (
            f"{meta.get('namespace')}/{meta.get('name')}"
            if meta.get("namespace")
            else str(meta.get("name") or "")
        )
        source = health.resolve(group, kind, config)[0]
        result = health.check(obj, config=config)
        verdicts.append(
            Verdict(path, f"{kind} {name}".strip(), result.status, redact.mask(result.message), source)
        )
    return verdicts


def _table(verdicts: Sequence[Verdict]) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False, header_style="bold")
    for column in ("FILE", "OBJECT", "STATUS", "CHECK", "MESSAGE"):
        table.add_column(column, overflow="fold")
    for v in verdicts:
        table.add_row(v.file, v.obj, v.status.value, v.source, v.message)
    buffer = io.StringIO()
    # Wide enough never to fold a path: people read it, scripts use -o json.
    Console(file=buffer, width=1000, no_color=True, highlight=False).print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()).strip("\n")


def register(app: typer.Typer) -> None:
    """Add ``fleet health`` to the root app."""

    @app.command("health")
    def health_command(
        files: Annotated[
            list[str],
            typer.Argument(metavar="FILE...", help="Files holding one Kubernetes object each (- for stdin)."),
        ],
        resource_customizations: ResourceCustomizationsOpt = None,
        argocd_cm: ArgocdCmOpt = None,
        health_exprs: HealthExprsOpt = None,
        output: Annotated[Output, typer.Option("--output", "-o", help="table or json.")] = Output.TABLE,
    ) -> None:
        """The health of each object, with Argo CD's Lua and Flux's CEL checks when given.
        Exit 0 when every FILE could be assessed, 2 on bad input."""
        try:
            config = health_config.from_paths(
                resource_customizations=resource_customizations or (),
                argocd_cms=argocd_cm or (),
                health_exprs=health_exprs or (),
            )
            verdicts = assess(files, config)
        except errors.FleetError as exc:
            raise common.fail(exc) from None
        if output is Output.JSON:
            typer.echo(
                json.dumps([{"status": v.status.value, "message": v.message} for v in verdicts], indent=2)
            )
        else:
            typer.echo(_table(verdicts))
