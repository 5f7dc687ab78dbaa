"""``fleet sim``: the simulator in the foreground as a subprocess, controlled from the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from typer.testing import CliRunner

from fleet import errors
from fleet.cli import app
from fleet.clusters import argocd

FLEET = Path(sys.executable).with_name("fleet")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    """``fleet sim up`` with 3 clusters on a free port; yields (process, url, work dir)."""
    cmd = [
        str(FLEET),
        "sim",
        "up",
        "--clusters",
        "3",
        "--port",
        "0",
        "--kubeconfig",
        str(tmp_path / "kubeconfig"),
        "--cluster-secrets",
        str(tmp_path / "clusters.yaml"),
        "--labels",
        "team=blue,tier=edge",
        "--state-file",
        str(tmp_path / "state.json"),
        "--rollout-seconds",
        "0.05",
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "FLEET_SIM_URL": ""},
    )
    url = ""
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        for line in proc.stdout:
            if line.startswith("admin API: "):
                url = line.split()[2].removesuffix("/_sim")
            if line.startswith("state file:") or time.monotonic() > deadline:
                break
        assert url, "fleet sim up did not print its address"
        yield proc, url, tmp_path
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sim_up_writes_a_kubeconfig_and_cluster_secrets_and_stops_on_sigterm(
    running: tuple[subprocess.Popen[str], str, Path],
) -> None:
    proc, url, work = running
    clusters = argocd.load_cluster_secrets(work / "clusters.yaml")
    assert [c.name for c in clusters] == ["c001", "c002", "c003"]
    assert all(c.labels["team"] == "blue" and c.labels["tier"] == "edge" for c in clusters)
    assert [c.labels["env"] for c in clusters] == ["dev", "staging", "prod"]
    assert all(c.server == f"{url}/clusters/{c.name}" and c.credentials.bearer_token for c in clusters)
    assert all(c.credentials.ca_data and "BEGIN CERTIFICATE" in c.credentials.ca_data for c in clusters)
    with config.new_client_from_config(str(work / "kubeconfig"), context="c003") as api:
        client.CoreV1Api(api).create_namespaced_config_map("default", {"metadata": {"name": "survivor"}})
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert "stopped, state saved" in (proc.stderr.read() if proc.stderr else "")
    saved = json.loads((work / "state.json").read_text())
    names = [
        i["metadata"]["name"]
        for c in saved["clusters"]
        if c["name"] == "c003"
        for r in c["resources"]
        if r["plural"] == "configmaps"
        for i in r["items"]
    ]
    assert names == ["survivor"]


def test_sim_fault_breaks_and_heals_a_cluster_of_a_running_simulator(
    running: tuple[subprocess.Popen[str], str, Path],
) -> None:
    _, url, work = running
    runner = CliRunner()
    broken = runner.invoke(
        app, ["sim", "fault", "c002", "--error-rate", "1", "--latency", "0.1", "--url", url]
    )
    assert broken.exit_code == 0, broken.output
    assert "c002: latency=0.1, error_rate=1.0" in broken.output
    listing = runner.invoke(app, ["sim", "clusters", "--url", url])
    assert "latency=0.1,error_rate=1.0" in listing.output
    with config.new_client_from_config(str(work / "kubeconfig"), context="c002") as api:
        with pytest.raises(ApiException) as caught:
            client.CoreV1Api(api).list_namespace()
        assert caught.value.status == 500
        healed = runner.invoke(app, ["sim", "fault", "c002", "--clear", "--url", url])
        assert healed.exit_code == 0 and "faults cleared" in healed.output
        assert client.CoreV1Api(api).list_namespace().items
    counts = runner.invoke(app, ["sim", "counts", "c002", "-o", "json", "--url", url])
    assert json.loads(counts.output)["c002"]["codes"] == {"500": 1, "200": 1}
    table = runner.invoke(app, ["sim", "counts", "--url", url, "--reset"])
    assert table.output.splitlines()[0].split()[:2] == ["CLUSTER", "TOTAL"]
    after = runner.invoke(app, ["sim", "counts", "c002", "-o", "json", "--url", url])
    assert json.loads(after.output)["c002"]["total"] == 0


def test_sim_add_and_remove_change_the_fleet(running: tuple[subprocess.Popen[str], str, Path]) -> None:
    _, url, _ = running
    runner = CliRunner()
    added = runner.invoke(app, ["sim", "add", "extra", "--labels", "env=qa", "--url", url])
    assert added.exit_code == 0 and f"extra: added at {url}/clusters/extra" in added.output
    listing = json.loads(runner.invoke(app, ["sim", "clusters", "-o", "json", "--url", url]).output)
    assert [c["name"] for c in listing] == ["c001", "c002", "c003", "extra"]
    assert listing[-1]["labels"]["env"] == "qa"
    assert runner.invoke(app, ["sim", "remove", "extra", "--url", url]).exit_code == 0
    missing = runner.invoke(app, ["sim", "fault", "extra", "--hang", "--url", url])
    assert isinstance(missing.exception, errors.InputError)  # `fleet` turns it into exit code 2
    assert "no simulated cluster named 'extra'" in str(missing.exception)


def test_a_bad_flag_exits_2_with_the_flag_named() -> None:
    result = subprocess.run(
        [str(FLEET), "sim", "up", "--labels", "novalue"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "field --labels: 'novalue' must look like KEY=VALUE" in result.stderr


@pytest.mark.parametrize(
    "args, error, message",
    [
        (["sim", "up", "--bad-image-pattern", "("], errors.InputError, "not a valid regular expression"),
        (["sim", "fault", "c001", "--url", "ftp://x"], errors.InputError, "is not an http(s) URL"),
        (
            ["sim", "counts", "--url", "http://127.0.0.1:9"],
            errors.TemporaryError,
            "no simulator answers at http://127.0.0.1:9",
        ),
    ],
    ids=["bad pattern", "bad url", "nobody listening"],
)
def test_bad_input_and_absent_simulators_are_reported(args: list[str], error: type, message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, error)
    assert message in str(result.exception)


def test_sim_up_stops_cleanly_on_ctrl_c_and_writes_both_files_by_default(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(FLEET), "sim", "up", "--clusters", "1", "--port", "0", "--no-tls"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("fleet sim: 1 clusters at http://127.0.0.1:")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert "fleet sim: stopped" in (proc.stderr.read() if proc.stderr else "")
        assert "c001" in (tmp_path / "fleet-sim.kubeconfig").read_text()
        assert [c.name for c in argocd.load_cluster_secrets(tmp_path / "fleet-sim-clusters.yaml")] == ["c001"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
