"""CLI: ``fleet secrets ...``, one sub-module per family of commands."""

from __future__ import annotations

import typer

from fleet.cli import secrets_refs, secrets_sealed, secrets_sops

secrets_app = typer.Typer(
    name="secrets",
    help="Decrypt and encrypt SOPS files, seal and unseal Sealed Secrets, resolve references.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    for module in (secrets_sops, secrets_sealed, secrets_refs):
        module.register(secrets_app)
    app.add_typer(secrets_app, name="secrets")
