"""The ``fleet`` command line: a thin shell over the library API.

Each command group lives in its own module with a ``register(app)`` function; this module wires
them together, sets up logging, and turns ``FleetError`` into a message and an exit code
(``fleet.errors.ExitCode``).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from fleet import errors, log
from fleet.cli import clusters, common, generate, health, secrets_cmd, sim, sync

app = typer.Typer(
    name="fleet",
    help="Multi-cluster GitOps fleet manager.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    log_format: Annotated[
        log.LogFormat,
        typer.Option("--log-format", help="auto: rich on a terminal, json in CI or when piped."),
    ] = log.LogFormat.AUTO,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    log.configure(log_format, verbose=verbose)


for _module in (generate, clusters, sim, sync, secrets_cmd, health):
    _module.register(app)


def main() -> None:
    """Console-script entry point.

    click itself handles usage errors (exit 2), ``--help`` and ``typer.Exit``; fleet's own errors
    arrive here and become one masked line on stderr and their exit code.
    """
    try:
        app()
    except errors.FleetError as exc:
        sys.exit(common.fail(exc).exit_code)
    except KeyboardInterrupt:
        sys.exit(int(errors.ExitCode.INTERRUPTED))
