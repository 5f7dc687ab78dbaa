"""What the command modules share: a FleetError as one masked line and an exit code, reading a
file argument (``-`` for stdin) and its YAML documents, and printing manifests as YAML or JSON.

Sits below every command module (they import it; it imports none of them). Commands catch
``FleetError`` themselves and ``raise common.fail(exc)`` because ``typer.testing.CliRunner`` runs
``fleet.cli.app`` without ``fleet.cli.main``; ``main`` reports the errors that reach it the same way.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
import yaml

from fleet import errors, kyaml, redact


class ManifestFormat(StrEnum):
    """How a command prints the manifests it produces (``-o`` of the secrets commands)."""

    YAML = "yaml"  # one YAML document per object, separated by ---
    JSON = "json"  # one object, or a v1 List when there are several


class ResultFormat(StrEnum):
    """How a command prints its result (``-o`` of sync, diff, status, clusters, sim, secrets refresh)."""

    TABLE = "table"  # aligned columns (or rich tables) for people
    JSON = "json"  # one JSON document for machines


def fail(exc: errors.FleetError) -> typer.Exit:
    """Print one masked ``error: ...`` line on stderr; the Exit carrying the error's exit code."""
    typer.echo(f"error: {redact.mask(str(exc))}", err=True)
    return typer.Exit(int(exc.exit_code))


def read_input(path: str) -> tuple[bytes, str]:
    """The bytes of ``path`` (stdin for ``-``) and how errors name it (``<stdin>`` or the path)."""
    if path == "-":
        return typer.get_binary_stream("stdin").read(), "<stdin>"
    try:
        return Path(path).read_bytes(), path
    except OSError as exc:
        raise errors.InputError(f"cannot be read: {exc.strerror}", file=path) from exc


def documents(data: bytes, where: str) -> list[Any]:
    """The non-empty documents of a YAML (or JSON) stream; a parse error names the line, never the text."""
    try:
        return [doc for doc in yaml.safe_load_all(data) if doc is not None]
    except yaml.YAMLError as exc:  # not chained: the parser's message would quote the (secret) input
        raise errors.InputError(f"is not valid YAML or JSON: {kyaml.error_text(exc)}", file=where) from None


def print_objects(objects: list[dict[str, Any]], fmt: ManifestFormat) -> None:
    """Print manifests on stdout; values YAML read as timestamps print as text in JSON."""
    if fmt is ManifestFormat.JSON:
        doc: Any = objects[0] if len(objects) == 1 else {"apiVersion": "v1", "kind": "List", "items": objects}
        typer.echo(json.dumps(doc, indent=2, default=str))
    else:
        typer.echo(yaml.safe_dump_all(objects, sort_keys=False).rstrip("\n"))
