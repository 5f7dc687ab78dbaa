"""`fleet sim up --processes N` spreads the simulated clusters over N processes, one port each,
behind one kubeconfig of the usual shape: kubectl and a fleet sync reach every cluster of every
process (issue 15: the simulator must not be the bottleneck of a benchmark)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from typer.testing import CliRunner

from fleet.clusters.sim import processes
from tests.fixtures.sync import DATA, FleetEnv

FLEET = Path(sys.executable).with_name("fleet")
KUBECTL = shutil.which("kubectl")


@pytest.fixture(scope="module")
def two_processes() -> Iterator[processes.SimFleet]:
    with processes.SimFleet(4, processes=2, rollout_seconds=0.05, tls=True) as fleet:
        yield fleet


def test_every_other_cluster_is_served_by_the_second_process(two_processes: processes.SimFleet) -> None:
    ports = {name: urlsplit(two_processes.url_for(name)).port for name in two_processes.cluster_names()}
    assert len(set(two_processes.pids())) == 2
    assert ports["c001"] == ports["c003"] != ports["c002"] == ports["c004"]


def test_a_fleet_sync_reaches_the_clusters_of_both_processes(
    two_processes: processes.SimFleet, tmp_path: Path
) -> None:
    root = tmp_path / "fleet"
    shutil.copytree(DATA / "basic", root)
    env = FleetEnv(
        root=root,
        sim=two_processes,  # type: ignore[arg-type]  # the same methods as a SimServer
        clusters_file=two_processes.write_cluster_secrets(tmp_path / "clusters.yaml"),
        state_dir=tmp_path / "state",
        runner=CliRunner(),
    )
    two_processes.reset_counts()
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    assert run.run_result is not None
    assert {c.cluster for c in run.run_result.clusters if c.ok} == set(two_processes.cluster_names())
    for name in two_processes.cluster_names():
        assert env.names(name, "web", "Deployment") == ["web"]
        assert two_processes.request_counts(name)["verbs"].get("apply", 0) > 0


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (needed to test kubectl interop)")
def test_kubectl_reaches_a_cluster_of_each_process_through_one_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen(
        [
            str(FLEET),
            "sim",
            "up",
            "--clusters",
            "2",
            "--processes",
            "2",
            "--port",
            "0",
            "--kubeconfig",
            str(kubeconfig),
            "--cluster-secrets",
            str(tmp_path / "clusters.yaml"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FLEET_SIM_URL": ""},
    )
    try:
        assert proc.stdout is not None
        printed = []
        for line in proc.stdout:
            printed.append(line)
            if line.startswith("cluster secrets:"):
                break
        assert sum(line.startswith("process ") for line in printed) == 2, printed
        config = yaml.safe_load(kubeconfig.read_text())
        assert [c["name"] for c in config["contexts"]] == ["c001", "c002"]
        servers = {c["name"]: c["cluster"]["server"] for c in config["clusters"]}
        assert urlsplit(servers["c001"]).port != urlsplit(servers["c002"]).port
        for context in ("c001", "c002"):
            done = subprocess.run(
                [
                    str(KUBECTL),
                    "--kubeconfig",
                    str(kubeconfig),
                    "--context",
                    context,
                    "get",
                    "namespaces",
                    "-o",
                    "name",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            assert "namespace/kube-system" in done.stdout.split()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_state_file_with_several_processes_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(FLEET),
            "sim",
            "up",
            "--processes",
            "2",
            "--port",
            "0",
            "--state-file",
            str(tmp_path / "s.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "--state-file" in done.stderr
