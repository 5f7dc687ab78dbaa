"""`fleet --help` off a terminal prints the root help Typer rendered once (``fleet/cli/root_help.txt``)
without importing typer, rich or the CLI package; the kept text is what Typer prints, and every
other command line, a command's own help included, still goes through Typer (issue 9's 0.3 s
target; benchmarks/bench_startup.py measures the time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from fleet import entry

PROBE = textwrap.dedent(
    """
    import atexit, json, sys
    out = sys.argv[1]
    atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
    sys.argv = ["fleet", *sys.argv[2:]]
    from fleet.entry import main
    main()
    """
)


def run_entry(tmp_path: Path, *args: str, **env: str) -> tuple[str, set[str]]:
    out = tmp_path / "modules.json"
    clean = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH", "FORCE_COLOR")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, set(json.loads(out.read_text()))


def test_the_kept_root_help_is_what_typer_prints(tmp_path: Path) -> None:
    kept = entry.ROOT_HELP.read_text(encoding="utf-8")
    assert kept == entry.render_root_help(), (
        "fleet/cli/root_help.txt is out of date: run .venv/bin/python -m fleet.entry --write-root-help"
    )


def test_root_help_off_a_terminal_imports_neither_typer_nor_the_cli(tmp_path: Path) -> None:
    text, modules = run_entry(tmp_path, "--help")
    assert text == entry.ROOT_HELP.read_text(encoding="utf-8")
    assert not {m for m in modules if m.split(".")[0] in ("typer", "rich", "click")}
    assert "fleet.cli" not in modules


def test_a_commands_own_help_and_a_narrower_width_still_go_through_typer(tmp_path: Path) -> None:
    text, modules = run_entry(tmp_path, "sim", "--help")
    assert "typer" in modules and "up" in text
    narrow, modules = run_entry(tmp_path, "--help", COLUMNS="80")
    assert "typer" in modules and narrow != entry.ROOT_HELP.read_text(encoding="utf-8")
