"""The README's "Try the example fleet on simulated clusters" commands work as written (issue 8,
item 9): the test reads them from the README (so it breaks when the README drifts), starts the first
(`fleet sim up`) as a subprocess, waits until it says it is ready, runs the next ones and expects
exit 0. Before, the example needed an undocumented `--repo-map`, the simulator's labels did not
match the example's selectors, and a list generator named clusters a small simulator lacks."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fleet import appset, store
from fleet.clusters.sim import SimServer
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

SECTION = "## Try the example fleet on simulated clusters"
EXAMPLE_URL = "https://git.example.com/platform/fleet.git"
FLEET = REPO_ROOT / "examples" / "fleet-repo"


def readme_commands() -> list[list[str]]:
    """The commands of the section's first shell block: comments dropped, ``\\`` lines joined."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"the README has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the section has no ```sh block"
    joined = re.sub(r"\\\n\s*", " ", block.group(1))
    return [
        shlex.split(line)
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_the_readme_commands_sync_the_example_to_a_fresh_simulator_with_exit_0(tmp_path: Path) -> None:
    commands = readme_commands()
    assert [c[:3] for c in commands] == [["fleet", "sim", "up"], ["fleet", "sync", "examples/fleet-repo"]]
    # A working copy of what the commands name (relative to the repository root), so the files
    # `fleet sim up` writes and the status store land in tmp_path.
    shutil.copytree(REPO_ROOT / "examples", tmp_path / "examples")
    fleet_cli = str(Path(sys.executable).parent / "fleet")
    # The status store goes where the commands put it by default (.fleet here); git mirrors, if any
    # were made, into tmp_path too.
    env = {k: v for k, v in os.environ.items() if k != "FLEET_STATE_DIR"}
    env["FLEET_CACHE_DIR"] = str(tmp_path / "cache")
    sim = subprocess.Popen(
        [fleet_cli, *commands[0][1:]],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready = threading.Event()
    said: list[str] = []

    def watch() -> None:
        assert sim.stderr is not None
        for line in sim.stderr:
            said.append(line)
            if line.startswith("ready"):
                ready.set()
        ready.set()  # it ended: stop waiting either way

    threading.Thread(target=watch, daemon=True).start()
    try:
        assert ready.wait(120) and sim.poll() is None, "".join(said)
        for command in commands[1:]:
            assert command[:2] == ["fleet", "sync"]
            done = subprocess.run(
                [fleet_cli, *command[1:]],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])
    finally:
        sim.send_signal(signal.SIGINT)
        try:
            sim.wait(30)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait()
    # What the sync recorded: every Application of every ApplicationSet, on the six clusters.
    states = store.Store(tmp_path / ".fleet").app_states()
    assert len({a.cluster for a in states}) == 6 and all(a.ok for a in states)
    assert {a.appset for a in states} == {"", "apps", "dashboards", "greeter", "hello-by-env", "platform"}


@pytest.mark.parametrize("count", [1, 2, 3, 6, 7])
def test_the_example_generates_without_errors_on_any_number_of_simulated_clusters(count: int) -> None:
    with SimServer(count, rollout_seconds=0.1) as sim:
        result = appset.expand_fleet(
            FLEET, clusters=sim.clusters(), in_cluster=False, repo_map={EXAMPLE_URL: FLEET}
        )
    assert result.errors == [] and result.invalid == [], (result.errors, result.invalid)
    generated = {r.name: len(r.objects) for r in result.results}
    assert generated["platform"] == count and generated["apps"] == 3 * count
    if count >= 6:
        assert all(generated.values()), generated  # every ApplicationSet selects some cluster
