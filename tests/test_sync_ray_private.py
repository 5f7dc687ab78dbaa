"""Without --ray-address or RAY_ADDRESS, `fleet sync` runs on a Ray private to the run, never on a
Ray cluster the host happens to know about (issue 8, item 3).

The foreign cluster here is a real `ray start --head` whose workers cannot import fleet (another
project's Ray, as on a shared machine), registered in Ray's address file the way `ray start`
does. Joining it fails every cluster with WorkerLost, as the issue saw. The test stops it by its PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RAY = Path(sys.executable).parent / "ray"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def foreign_ray(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A running Ray head that another project started, found through RAY_TMPDIR's address file."""
    # Short: Ray's unix socket paths live under it and must stay below 108 bytes. Ray looks for
    # the address file in $RAY_TMPDIR/ray, where `ray start --temp-dir` writes it.
    base = Path(tempfile.mkdtemp(prefix="fr-", dir="/tmp"))
    temp = base / "ray"
    temp.mkdir()
    # Its worker processes cannot import fleet, as in another project's environment. (Ray hands its
    # workers the driver's sys.path, so hiding fleet from the path would not be enough.)
    other = temp / "other-project"
    other.mkdir()
    (other / "sitecustomize.py").write_text('import sys\nsys.modules["fleet"] = None  # not installed here\n')
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PYTHONPATH"] = str(temp / "other-project")
    log = (temp / "ray-start.log").open("wb")
    head = subprocess.Popen(
        [
            str(RAY),
            "start",
            "--head",
            "--block",
            "--disable-usage-stats",
            "--include-dashboard=false",
            "--num-cpus=1",
            f"--temp-dir={temp}",
            f"--port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as a whole below
    )
    try:
        address_file = temp / "ray_current_cluster"
        deadline = time.monotonic() + 120
        while not address_file.exists():
            assert head.poll() is None, (temp / "ray-start.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "the foreign Ray head did not start"
            time.sleep(0.2)
        monkeypatch.setenv("RAY_TMPDIR", str(base))
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
        yield temp
    finally:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait(timeout=30)
        try:
            os.killpg(head.pid, signal.SIGKILL)  # whatever of its group is left (raylet, GCS, workers)
        except ProcessLookupError:
            pass
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def test_a_run_without_an_address_starts_its_own_ray_beside_a_foreign_one(make_fleet, foreign_ray) -> None:
    env = make_fleet("basic", clusters=2)
    run = env.sync(executor="ray")
    assert run.exit_code == 0, run.stderr
    assert run.run_result.executor == "ray"
    assert all(c.ok and c.worker.startswith("ray:") for c in run.run_result.clusters)
    for cluster in env.cluster_names:
        assert env.names(cluster, "web", "Deployment") == ["web"]
