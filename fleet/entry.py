"""The console script's entry point: ``fleet --help`` and ``fleet generate --help`` off a terminal
from precomputed texts, the rest through ``fleet.cli.main``.

Typer renders help with Rich, and importing typer and its Rich help formatter costs about 0.5 to
0.8 s, several times the interpreter's own start (issue 9 asks for `fleet --help` under 0.3 s;
issue 15 for a `fleet generate` whose start-up is a small share of its work). Off a terminal (CI
logs, pipes, scripts) such help is always the same text at ``fleet.cli.HELP_WIDTH`` columns without
colour, so it is rendered once by Typer itself and kept in ``fleet/cli/root_help.txt`` and
``fleet/cli/generate_help.txt``; this module prints it without importing typer, rich or
``fleet.cli``. On a terminal (colours, the terminal's width), and for every other command line,
Typer answers as before. ``tests/test_cli_root_help.py`` checks the kept texts against Typer's own
rendering; ``python -m fleet.entry --write-root-help`` renders them again after a command or its
help changed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT_HELP = Path(__file__).resolve().parent / "cli" / "root_help.txt"
GENERATE_HELP = Path(__file__).resolve().parent / "cli" / "generate_help.txt"
# The command lines whose help is kept, and where.
KEPT_HELP: dict[tuple[str, ...], Path] = {("--help",): ROOT_HELP, ("generate", "--help"): GENERATE_HELP}
HELP_WIDTH = "120"  # fleet.cli.HELP_WIDTH, repeated so that this module imports nothing of fleet.cli
# Settings that change what Rich prints off a terminal: any of them means Typer must render.
_RICH_SETTINGS = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS")


def _plain_help_wanted(argv: list[str]) -> Path | None:
    """The kept help to print for ``argv``, or None when Typer must answer."""
    kept = KEPT_HELP.get(tuple(argv))
    if kept is None or sys.stdout.isatty():
        return None
    if any(os.environ.get(name) for name in _RICH_SETTINGS):
        return None
    return kept if os.environ.get("TERMINAL_WIDTH", HELP_WIDTH) == HELP_WIDTH else None


def main() -> None:
    """``fleet``: a precomputed help, or the Typer application."""
    kept = _plain_help_wanted(sys.argv[1:])
    if kept is not None:
        try:
            text = kept.read_text(encoding="utf-8")
        except OSError:
            text = ""  # not installed with the package data: let Typer render it
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
    from fleet import cli

    cli.main()


def render_help(argv: tuple[str, ...] = ("--help",)) -> str:
    """The help of ``fleet ARGV...`` exactly as Typer prints it off a terminal (in a fresh
    process, so that no Rich setting of this one leaks in)."""
    import subprocess  # here, not at the top: the fast path above must not pay for it

    env = {k: v for k, v in os.environ.items() if k not in (*_RICH_SETTINGS, "TERMINAL_WIDTH")}
    code = f"import sys; sys.argv = ['fleet', *{list(argv)!r}]; from fleet import cli; cli.main()"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    return done.stdout


def render_root_help() -> str:
    """The root help exactly as Typer prints it off a terminal."""
    return render_help(("--help",))


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-root-help"]:
        for command_line, path in KEPT_HELP.items():
            path.write_text(render_help(command_line), encoding="utf-8")
            print(f"wrote {path}")
    else:
        print("usage: python -m fleet.entry --write-root-help", file=sys.stderr)
        sys.exit(2)
