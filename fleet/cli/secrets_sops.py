"""CLI commands: secrets_sops (being built; see the open issue)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the given app."""
