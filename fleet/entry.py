"""The console script's entry point: ``fleet --help`` off a terminal from a precomputed text, the
rest through ``fleet.cli.main``.

Typer renders the root's help with Rich, and importing typer and its Rich help formatter costs
about 0.5 to 0.8 s, several times the interpreter's own start (issue 9 asks for `fleet --help`
under 0.3 s). Off a terminal (CI logs, pipes, scripts) the root's help is always the same text at
``fleet.cli.HELP_WIDTH`` columns without colour, so it is rendered once by Typer itself and kept in
``fleet/cli/root_help.txt``; this module prints it without importing typer, rich or ``fleet.cli``.
On a terminal (colours, the terminal's width), and for every other command line, Typer answers as
before. ``tests/test_cli_root_help.py`` checks the kept text against Typer's own rendering;
``python -m fleet.entry --write-root-help`` renders it again after a command or its help changed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT_HELP = Path(__file__).resolve().parent / "cli" / "root_help.txt"
HELP_WIDTH = "120"  # fleet.cli.HELP_WIDTH, repeated so that this module imports nothing of fleet.cli
# Settings that change what Rich prints off a terminal: any of them means Typer must render.
_RICH_SETTINGS = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS")


def _plain_root_help_wanted(argv: list[str]) -> bool:
    if argv != ["--help"] or sys.stdout.isatty():
        return False
    if any(os.environ.get(name) for name in _RICH_SETTINGS):
        return False
    return os.environ.get("TERMINAL_WIDTH", HELP_WIDTH) == HELP_WIDTH


def main() -> None:
    """``fleet``: the precomputed root help, or the Typer application."""
    if _plain_root_help_wanted(sys.argv[1:]):
        try:
            text = ROOT_HELP.read_text(encoding="utf-8")
        except OSError:
            text = ""  # not installed with the package data: let Typer render it
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
    from fleet import cli

    cli.main()


def render_root_help() -> str:
    """The root help exactly as Typer prints it off a terminal (in a fresh process, so that no
    Rich setting of this one leaks in)."""
    import subprocess  # here, not at the top: the fast path above must not pay for it

    env = {k: v for k, v in os.environ.items() if k not in (*_RICH_SETTINGS, "TERMINAL_WIDTH")}
    code = "import sys; sys.argv = ['fleet', '--help']; from fleet import cli; cli.main()"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    return done.stdout


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-root-help"]:
        ROOT_HELP.write_text(render_root_help(), encoding="utf-8")
        print(f"wrote {ROOT_HELP}")
    else:
        print("usage: python -m fleet.entry --write-root-help", file=sys.stderr)
        sys.exit(2)
