"""The ``fleet`` command line: a thin shell over the library API.

Each command group lives in its own module with a ``register(app)`` function. This module is the
light root: it knows the commands by name (``COMMANDS``) and imports a command's module only when
that command runs or shows its own help, so ``fleet --help`` and ``fleet generate`` pay for
nothing they do not use (no kubernetes client, Ray or pydantic models for ``--help``). It sets up
logging and turns ``FleetError`` into a message and an exit code (``fleet.errors.ExitCode``).
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from dataclasses import dataclass
from typing import Annotated, Any

import typer
import typer.core
import typer.main

from fleet import errors, log


@dataclass(frozen=True)
class Command:
    """A top-level command: the module whose ``register(app)`` adds it, and its help in the list
    ``fleet --help`` prints (the command's own help text; tests/test_cli_startup.py keeps them equal)."""

    module: str
    help: str


# In the order `fleet --help` lists them.
COMMANDS: dict[str, Command] = {
    "generate": Command(
        "fleet.cli.generate",
        "Preview the Applications that ApplicationSets generate (no cluster access needed, except\n"
        "Argo CD's management cluster for clusterDecisionResource and plugin generators).",
    ),
    "sync": Command(
        "fleet.cli.sync",
        "Make every selected cluster match Git: apply changes, heal drift (selfHeal), prune,\n"
        "delete Applications removed from Git. With --rollout (or ApplicationSets with a RollingSync\n"
        "strategy) in steps, each step only once the ones before are Synced and Healthy.",
    ),
    "diff": Command(
        "fleet.cli.sync",
        "Show what `fleet sync` would change, per cluster and Application (secrets masked).\n"
        "Exit 0 when nothing differs, 1 when something does.",
    ),
    "status": Command(
        "fleet.cli.sync",
        "The latest known state of every Application on every cluster (from the status store),\n"
        "the last revision each was Synced and Healthy at, and runs in progress or interrupted.\n"
        "Exit 0 when all are Synced and Healthy, every cluster answered, the last finished run had\n"
        "no generation errors and no run since it was interrupted or aborted; else 1.",
    ),
    "report": Command(
        "fleet.cli.sync",
        "The latest finished run and the history (running, aborted and interrupted runs\n"
        "included) as HTML (with the clusters x Applications matrix and history charts), Markdown,\n"
        "JSON, Prometheus metrics or JUnit XML (the latest run only).",
    ),
    "demo": Command(
        "fleet.cli.sync",
        "The whole loop on simulated clusters, with no set-up: sync, break a cluster, drift an\n"
        "object, sync again, report. Exit 0 when everything behaved as expected.",
    ),
    "plan": Command(
        "fleet.cli.plan",
        "What a pull request does to every cluster, from Git alone: Applications added,\n"
        "removed or changed, each distinct diff once, AppProject violations, prunes, rollout\n"
        "steps. Exit 0 when nothing changes, 1 when something does.",
    ),
    "serve": Command(
        "fleet.cli.serve",
        "Run fleet as a service: scheduled runs (--every or --schedule), Git webhooks that sync\n"
        "the Applications a push touched, an HTTP API, Prometheus /metrics and the web UI.\n"
        "Exit 0 after SIGTERM, 130 after SIGINT.",
    ),
    "windows": Command(
        "fleet.cli.rollout",
        "The AppProjects' sync windows, which Applications they block now and when each opens\n"
        "next. Exit 0 when nothing is blocked, 1 when something is, 2 on bad input.",
    ),
    "health": Command(
        "fleet.cli.health",
        "The health of each object, with Argo CD's Lua and Flux's CEL checks when given.\n"
        "Exit 0 when every FILE could be assessed, 2 on bad input.",
    ),
    "rollout": Command(
        "fleet.cli.rollout", "Where progressive rollouts stand; approve or abort them (status store)."
    ),
    "clusters": Command(
        "fleet.cli.clusters", "The clusters of the fleet: list them, check that they answer."
    ),
    "sim": Command(
        "fleet.cli.sim", "Simulated Kubernetes clusters on loopback (one port, one path per cluster)."
    ),
    "secrets": Command(
        "fleet.cli.secrets_cmd",
        "Decrypt and encrypt SOPS files, seal and unseal Sealed Secrets, resolve references.",
    ),
}


@functools.cache
def _commands_of(module_name: str) -> dict[str, Any]:
    """The click commands that ``module_name``'s ``register(app)`` adds, by name."""
    module = importlib.import_module(module_name)
    registered = typer.Typer()
    module.register(registered)
    return dict(typer.main.get_group(registered).commands)


def load(name: str) -> Any:
    """The real click command ``name`` (importing its module)."""
    return _commands_of(COMMANDS[name].module)[name]


class LazyGroup(typer.core.TyperGroup):
    """The root group. Listing the commands (``fleet --help``) uses ``COMMANDS`` alone; running
    one, or asking for its own help, imports its module first.

    Written by hand because neither typer nor click loads subcommands lazily: click documents this
    subclass (``list_commands``/``get_command``) as the way to do it.
    """

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        if self._listing:
            # Only the name and help are read while the root's help is printed.
            return typer.core.TyperCommand(name=cmd_name, help=entry.help)
        return load(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


# --help when stdout is not a terminal (CI logs, pipes, less): wide enough that no option name is
# cut. Rich falls back to 80 columns there, which squeezed the option table (issue 8, item 13).
HELP_WIDTH = 120


def _use_help_width() -> None:
    """Give --help ``HELP_WIDTH`` columns off a terminal, unless TERMINAL_WIDTH (Typer's own
    setting) or COLUMNS (Rich's) says otherwise.

    Typer has no per-app setting: it reads TERMINAL_WIDTH when it first imports its Rich helpers,
    which happens only to print help (a command that prints none never imports rich), so the
    variable is set before the command line is parsed.
    """
    if os.environ.get("TERMINAL_WIDTH") or os.environ.get("COLUMNS") or sys.stdout.isatty():
        return
    os.environ["TERMINAL_WIDTH"] = str(HELP_WIDTH)


app = typer.Typer(
    name="fleet",
    cls=LazyGroup,
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


def main() -> None:
    """Console-script entry point.

    click itself handles usage errors (exit 2), ``--help`` and ``typer.Exit``; fleet's own errors
    arrive here and become one masked line on stderr and their exit code.
    """
    _use_help_width()
    try:
        app()
    except errors.FleetError as exc:
        from fleet.cli import common

        sys.exit(common.fail(exc).exit_code)
    except KeyboardInterrupt:
        sys.exit(int(errors.ExitCode.INTERRUPTED))
