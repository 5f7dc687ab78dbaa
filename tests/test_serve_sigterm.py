"""SIGTERM stops a real `fleet serve` process as it stops `fleet sync --every`: the run in
progress finishes and is recorded, then the process exits 0; a second signal abandons the run,
which is recorded as aborted (never half recorded), and the process exits 130. The run is held
in progress by the simulator's Deployments, whose rollouts take an hour of simulated time until
the test moves the simulator's clock."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fleet import results, store

FLEET_BIN = Path(sys.executable).with_name("fleet")


def start(env, tmp_path: Path) -> subprocess.Popen:
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - closed with the process below
    return subprocess.Popen(
        [
            str(FLEET_BIN),
            "--log-format",
            "json",
            "serve",
            *env.args("--listen", "127.0.0.1:0", "--every", "1h"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_running(env, proc: subprocess.Popen, timeout: float = 60.0) -> results.RunResult:
    """Real time, until the first run is registered (it holds the run lock) and applying."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "fleet serve ended by itself"
        if (env.state_dir / "status.db").exists() and env.sim.objects("c001", kind="Deployment"):
            running = store.Store(env.state_dir).runs(states={results.RunState.RUNNING})
            if running:
                return running[0]
        time.sleep(0.1)  # looking at the store and the simulator; ends on what they show
    raise AssertionError(f"no run in progress within {timeout}s")


@pytest.mark.parametrize(
    "signals, code, state",
    [
        pytest.param((signal.SIGTERM,), 0, results.RunState.FINISHED, id="sigterm-finishes-the-run"),
        pytest.param((signal.SIGTERM, signal.SIGTERM), 130, results.RunState.ABORTED, id="twice-abandons-it"),
    ],
)
def test_a_signal_during_a_run_stops_the_server_cleanly(make_fleet, tmp_path, signals, code, state) -> None:
    env = make_fleet("basic", clusters=1, rollout_seconds=3600)
    proc = start(env, tmp_path)
    try:
        run = wait_running(env, proc)
        for sig in signals:
            proc.send_signal(sig)
            # Signals of one kind are not queued: the next is sent once this one was handled.
            assert _logged(tmp_path, f"{sig.name}: stopping after the current run", proc)
        if state is results.RunState.FINISHED:
            assert _still_running(proc)  # it waits for the run, which waits for the rollout
            env.sim.advance_clock(3600)
        assert proc.wait(timeout=60) == code
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = (tmp_path / "serve.log").read_text()
    assert f"stopped by {signals[0].name}" in output, output[-3000:]
    (recorded,) = store.Store(env.state_dir).runs()
    assert recorded.run_id == run.run_id and recorded.state is state
    if state is results.RunState.FINISHED:
        assert recorded.ok and recorded.finished_at
    else:
        assert "abandon" in " ".join(recorded.notes)


def _logged(tmp_path: Path, text: str, proc: subprocess.Popen, timeout: float = 60.0) -> bool:
    """Real time, until the server's log holds ``text`` (looked at every 50 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in (tmp_path / "serve.log").read_text():
            return True
        if proc.poll() is not None:
            return text in (tmp_path / "serve.log").read_text()
        time.sleep(0.05)
    return False


def _still_running(proc: subprocess.Popen) -> bool:
    try:
        proc.wait(timeout=1.0)  # a bounded look: the process must not have exited by now
    except subprocess.TimeoutExpired:
        return True
    return False
