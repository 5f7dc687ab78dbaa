"""The chart's pods do their job: the CronJob's container, read back from a simulated management
cluster and run as a kubelet would run it (tests/pod_runner.py), syncs a fleet whose clusters it
finds in Argo CD's namespace through the pod's own service account token; in the RayJob mode it
creates one RayJob per run; `fleet serve`'s Deployment answers its probes.

The management cluster "mgmt" holds Argo CD's cluster Secrets for c001 and c002, the Secret with
the repository URL, and `kube-root-ca.crt`, as a real cluster publishes it in every namespace.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet.clusters import argocd
from fleet.clusters.sim import SimServer
from tests.deploy_helpers import DATA, NAMESPACE, merge, rayjob_template, render_chart
from tests.fixtures.sync import DATA as SYNC_DATA
from tests.fixtures.sync import REPO_URL as SYNC_REPO_URL
from tests.pod_runner import PodRunner

KUBECTL = shutil.which("kubectl")
FLEET = str(Path(sys.executable).parent / "fleet")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (the pods run kubectl)"),
]


@pytest.fixture
def management(tmp_path: Path) -> Iterator[SimServer]:
    with SimServer(["mgmt", "c001", "c002"], rollout_seconds=0.1, tls=True) as sim:
        yield sim


def _kubectl(sim: SimServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "admin.kubeconfig"
    if not config.exists():
        sim.write_kubeconfig(config)
    done = subprocess.run(
        [
            str(KUBECTL),
            "--kubeconfig",
            str(config),
            "--context",
            "mgmt",
            "--cache-dir",
            str(tmp_path / "kubectl-cache"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def _seed(sim: SimServer, tmp_path: Path, repo_url: str, *, crds: bool = False) -> None:
    """What exists on the management cluster before `helm install`."""
    _kubectl(sim, tmp_path, "apply", "--server-side", "-f", str(DATA / "namespaces.yaml"))
    if crds:
        _kubectl(sim, tmp_path, "apply", "--server-side", "-f", str(DATA / "kuberay-crds.yaml"))
        _kubectl(sim, tmp_path, "wait", "--for=condition=Established", "crd/rayjobs.ray.io", "--timeout=20s")
    for cluster in sim.clusters():
        if cluster.name != "mgmt":
            sim.apply_object("mgmt", argocd.cluster_secret(cluster, namespace="argocd"))
    sim.apply_object(
        "mgmt",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kube-root-ca.crt", "namespace": NAMESPACE},
            "data": {"ca.crt": sim.ca_pem},
        },
    )
    sim.apply_object(
        "mgmt",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": "fleet-repo", "namespace": NAMESPACE},
            "data": {"url": base64.b64encode(repo_url.encode()).decode()},
        },
    )


def _install(sim: SimServer, tmp_path: Path, values: dict[str, Any]) -> list[dict[str, Any]]:
    objects = render_chart(values)
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    _kubectl(sim, tmp_path, "apply", "--server-side", "-f", str(manifest))
    return objects


def _values(sim: SimServer, **more: Any) -> dict[str, Any]:
    return merge(
        {
            "fleet": {"repositorySecret": {"name": "fleet-repo"}},
            "clusters": {"argocd": {"server": sim.url_for("mgmt")}},
        },
        more,
    )


def _pod(sim: SimServer, kind: str, api_version: str) -> dict[str, Any]:
    live = sim.get_object("mgmt", api_version, kind, NAMESPACE, "fleet")
    assert live is not None, f"no {kind} fleet"
    spec = live["spec"]
    pod: dict[str, Any] = (spec["jobTemplate"]["spec"] if kind == "CronJob" else spec)["template"]["spec"]
    return pod


@pytest.fixture
def fleet_repo(make_git_repo: Any) -> Any:
    repo = make_git_repo("fleet-origin")
    shutil.copytree(SYNC_DATA / "basic", repo.path, dirs_exist_ok=True)
    repo.write(
        {"appset.yaml": (repo.path / "appset.yaml").read_text().replace(SYNC_REPO_URL, f"file://{repo.path}")}
    )
    repo.commit("the web fleet")
    return repo


def test_the_cronjobs_pod_syncs_every_argocd_cluster_and_records_the_run(
    management: SimServer, tmp_path: Path, fleet_repo: Any
) -> None:
    _seed(management, tmp_path, f"file://{fleet_repo.path}")
    _install(management, tmp_path, _values(management))
    runner = PodRunner(management, "mgmt", NAMESPACE, tmp_path / "pod", token=management.token_for("mgmt"))
    pod = runner.prepare(_pod(management, "CronJob", "batch/v1"), "sync")
    assert pod.argv[4] == f"file://{fleet_repo.path}"  # $(FLEET_REPOSITORY), expanded from the Secret

    done = pod.run()
    assert done.returncode == 0, done.stderr[-3000:]
    for cluster in ("c001", "c002"):
        deployment = management.get_object(cluster, "apps/v1", "Deployment", "web", "web")
        assert deployment is not None, f"nothing applied to {cluster}"
    assert (
        management.get_object("mgmt", "apps/v1", "Deployment", "web", "web") is None
    )  # not an Argo CD cluster
    # The run went to the store volume, and the git mirror to the cache volume.
    assert (pod.local("/var/lib/fleet") / "status.db").is_file()
    assert any((pod.local("/var/cache/fleet") / "git").iterdir())
    status = subprocess.run(
        [FLEET, "status", "--state-dir", str(pod.local("/var/lib/fleet")), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    assert {"web-c001", "web-c002"} <= set(status.stdout.replace('"', " ").split())
    # Nothing was written outside the pod's volumes (the root filesystem is read-only).
    assert sorted(p.name for p in (tmp_path / "pod").iterdir()) == ["volumes"]


def test_in_the_rayjob_mode_each_run_of_the_cronjob_creates_its_own_rayjob(
    management: SimServer, tmp_path: Path
) -> None:
    _seed(management, tmp_path, "https://git.example.com/fleet.git", crds=True)
    store = {"store": {"type": "postgresql", "postgresql": {"urlSecret": {"name": "fleet-store-url"}}}}
    objects = _install(
        management, tmp_path, _values(management, ray={"enabled": True, "kind": "RayJob"}, **store)
    )
    runner = PodRunner(management, "mgmt", NAMESPACE, tmp_path / "pod", token=management.token_for("mgmt"))
    management.apply_object(
        "mgmt",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "fleet-store-url", "namespace": NAMESPACE},
            "stringData": {"url": "postgresql://fleet@db/fleet"},
        },
    )
    for _ in range(2):
        pod = runner.prepare(_pod(management, "CronJob", "batch/v1"), "create-rayjob")
        done = pod.run(timeout=60)
        assert done.returncode == 0, done.stderr
        assert "rayjob.ray.io/fleet-sync-" in done.stdout
    jobs = management.objects("mgmt", namespace=NAMESPACE, kind="RayJob")
    assert len({j["metadata"]["name"] for j in jobs}) == 2
    assert all(j["spec"]["entrypoint"] == rayjob_template(objects)["spec"]["entrypoint"] for j in jobs)


def test_the_serve_deployment_answers_healthz_and_readyz(
    management: SimServer, tmp_path: Path, fleet_repo: Any
) -> None:
    _seed(management, tmp_path, f"file://{fleet_repo.path}")
    with socket_port() as port:
        _install(management, tmp_path, _values(management, mode="serve", serve={"port": port}))
    runner = PodRunner(management, "mgmt", NAMESPACE, tmp_path / "pod", token=management.token_for("mgmt"))
    pod = runner.prepare(_pod(management, "Deployment", "apps/v1"), "serve")
    pod.argv = [a.replace(f"0.0.0.0:{port}", f"127.0.0.1:{port}") for a in pod.argv]
    process = pod.start()
    try:
        for path in ("/healthz", "/readyz"):
            assert _wait_ok(f"http://127.0.0.1:{port}{path}", process), path
    finally:
        process.terminate()
        process.communicate(timeout=60)


class socket_port:
    """A free loopback port (bound, then released for the server to take)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        port: int = self.sock.getsockname()[1]
        return port

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def _wait_ok(url: str, process: subprocess.Popen[str], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"fleet serve exited {process.returncode}: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)  # polling a server that is starting; the loop ends on its answer
    return False
