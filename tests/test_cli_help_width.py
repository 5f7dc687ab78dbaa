"""`fleet sync --help` off a terminal is 120 columns wide, so no option name is cut where Rich's
80-column default squeezed and truncated them; COLUMNS or TERMINAL_WIDTH, when set, decide
instead (issue 8, item 13). Runs the real `fleet` command: its stdout is a pipe, not a terminal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

FLEET = Path(sys.executable).parent / "fleet"
LONG_OPTIONS = (
    "--notify-include-diffs",
    "--allow-mass-delete",
    "--adopt-inventories",
    "--cluster-timeout",
    "--max-unavailable",
)


def sync_help(**environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH")} | environment
    done = subprocess.run(
        [str(FLEET), "sync", "--help"], check=False, capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_help_off_a_terminal_shows_every_option_name_in_full() -> None:
    text = sync_help()
    assert max(len(line) for line in text.splitlines()) == 120
    for option in LONG_OPTIONS:
        assert option in text, option
    assert not re.search(r"--[\w-]*…", text)  # no option name cut short


@pytest.mark.parametrize(
    "environment, width",
    [({"COLUMNS": "100"}, 100), ({"TERMINAL_WIDTH": "150", "COLUMNS": "90"}, 150)],
    ids=["columns", "terminal-width-first"],
)
def test_help_honours_the_width_the_environment_sets(environment, width) -> None:
    assert max(len(line) for line in sync_help(**environment).splitlines()) == width
