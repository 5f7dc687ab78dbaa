"""With --log-format json, a run on Ray writes only JSON lines to stderr: Ray's notice that it
turned token authentication on (printed as raw text on every start) is not among them
(issue 8, item 13). Runs the real `fleet` command, so stderr is the process's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

FLEET = Path(sys.executable).parent / "fleet"


def test_a_ray_run_writes_only_json_lines_to_stderr(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    environment = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE")}
    done = subprocess.run(
        [str(FLEET), "--log-format", "json", "sync", *env.args(executor="ray")],
        check=False,
        capture_output=True,
        text=True,
        env=environment,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    not_json = []
    for line in done.stderr.splitlines():
        try:
            json.loads(line)
        except ValueError:
            not_json.append(line)
    assert not_json == [], not_json
    assert "Token authentication" not in done.stderr
