"""The real kubectl (1.32) against the simulator, through the kubeconfig the simulator writes.

kubectl sends credentials only over TLS, so these clusters serve HTTPS with their generated CA.
Each test works in its own namespace of a shared module-wide simulator.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from fleet.clusters.sim import SimServer
from tests.conftest import REPO_ROOT

DATA = REPO_ROOT / "tests" / "data" / "sim"
KUBECTL = shutil.which("kubectl")

pytestmark = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not installed (needed to test kubectl interop)"
)

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def tls_sim() -> Iterator[SimServer]:
    with SimServer(2, rollout_seconds=0.1, tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def kubectl(tls_sim: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    work = tmp_path_factory.mktemp("kubectl")
    config = tls_sim.write_kubeconfig(work / "kubeconfig")

    def run(
        *args: str, stdin: str | None = None, check: bool = True, context: str = "c001", timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        cmd = [
            str(KUBECTL),
            "--kubeconfig",
            str(config),
            "--context",
            context,
            "--cache-dir",
            str(work / "cache"),
            *args,
        ]
        result = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    return run


def _manifest(namespace: str) -> str:
    return (DATA / "app.yaml").read_text().replace("demo", namespace)


def test_kubectl_server_side_apply_creates_objects_owned_by_kubectl(
    tls_sim: SimServer, kubectl: Kubectl
) -> None:
    out = kubectl("apply", "--server-side", "-f", "-", stdin=_manifest("ssa"))
    assert "deployment.apps/web serverside-applied" in out.stdout
    deploy = tls_sim.get_object("c001", "apps/v1", "Deployment", "ssa", "web")
    assert deploy is not None and deploy["spec"]["replicas"] == 2
    assert [m["manager"] for m in deploy["metadata"]["managedFields"] if m["operation"] == "Apply"] == [
        "kubectl"
    ]
    settings = tls_sim.get_object("c001", "v1", "ConfigMap", "ssa", "settings")
    again = kubectl("apply", "--server-side", "-f", "-", stdin=_manifest("ssa"))
    assert "serverside-applied" in again.stdout
    # A no-op apply writes nothing (the Deployment's status moves with its rollout; this does not).
    assert tls_sim.get_object("c001", "v1", "ConfigMap", "ssa", "settings") == settings


def test_kubectl_client_side_apply_updates_and_reports_unchanged(
    tls_sim: SimServer, kubectl: Kubectl
) -> None:
    manifest = _manifest("csa")
    assert "deployment.apps/web created" in kubectl("apply", "-f", "-", stdin=manifest).stdout
    assert "deployment.apps/web unchanged" in kubectl("apply", "-f", "-", stdin=manifest).stdout
    changed = manifest.replace("nginx:1.25", "nginx:1.26").replace("value: blue", "value: green")
    assert "deployment.apps/web configured" in kubectl("apply", "-f", "-", stdin=changed).stdout
    deploy = tls_sim.get_object("c001", "apps/v1", "Deployment", "csa", "web")
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.26"
    assert container["env"] == [{"name": "MODE", "value": "green"}]
    assert deploy["metadata"]["generation"] == 2


def test_kubectl_get_filters_by_label_and_prints_yaml(kubectl: Kubectl) -> None:
    kubectl("apply", "--server-side", "-f", "-", stdin=_manifest("getl"))
    names = kubectl("get", "configmaps", "-n", "getl", "-l", "team=payments", "-o", "name").stdout.split()
    assert names == ["configmap/settings"]
    names = kubectl(
        "get", "configmaps", "-n", "getl", "-l", "app in (web,other),team!=payments", "-o", "name"
    ).stdout.split()
    assert names == ["configmap/other"]
    doc = yaml.safe_load(kubectl("get", "configmap", "settings", "-n", "getl", "-o", "yaml").stdout)
    assert doc["data"] == {"color": "blue"} and doc["metadata"]["namespace"] == "getl"
    listing = json.loads(kubectl("get", "deploy,cm", "-n", "getl", "-o", "json").stdout)
    assert sorted(i["kind"] for i in listing["items"]) == ["ConfigMap", "ConfigMap", "Deployment"]


def test_kubectl_wait_sees_a_deployment_become_available(kubectl: Kubectl) -> None:
    kubectl("apply", "--server-side", "-f", "-", stdin=_manifest("wait"))
    out = kubectl("wait", "--for=condition=Available", "deployment/web", "-n", "wait", "--timeout=20s")
    assert "condition met" in out.stdout
    pods = json.loads(kubectl("get", "pods", "-n", "wait", "-o", "json").stdout)["items"]
    assert len(pods) == 2 and all(p["status"]["phase"] == "Running" for p in pods)
    # Server-side printing: the columns a real cluster shows.
    table = kubectl("get", "deployment", "web", "-n", "wait").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table[1].split()[:4] == ["web", "2/2", "2", "2"]
    wide = kubectl("get", "pods", "-n", "wait", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert all(
        line.split()[1:3] == ["1/1", "Running"] and line.split()[-1] == "c001-node-0" for line in wide[1:]
    )


def test_kubectl_delete_removes_objects_and_waits_for_the_namespace(
    tls_sim: SimServer, kubectl: Kubectl
) -> None:
    kubectl("apply", "--server-side", "-f", "-", stdin=_manifest("del"))
    out = kubectl("delete", "configmap", "settings", "-n", "del")
    assert 'configmap "settings" deleted' in out.stdout
    assert tls_sim.get_object("c001", "v1", "ConfigMap", "del", "settings") is None
    kubectl("delete", "namespace", "del", "--timeout=20s")
    assert tls_sim.objects("c001", namespace="del") == []
    assert tls_sim.get_object("c001", "v1", "Namespace", None, "del") is None
    missing = kubectl("delete", "configmap", "settings", "-n", "del", check=False)
    assert missing.returncode == 1 and "NotFound" in missing.stderr


def test_kubectl_apply_k_builds_and_applies_a_kustomize_overlay(tls_sim: SimServer, kubectl: Kubectl) -> None:
    out = kubectl("apply", "--server-side", "-k", str(DATA / "kustomize" / "overlays" / "prod"))
    assert "deployment.apps/web serverside-applied" in out.stdout
    deploy = tls_sim.get_object("c001", "apps/v1", "Deployment", "shop", "web")
    assert deploy["spec"]["replicas"] == 3
    assert deploy["metadata"]["labels"]["tier"] == "prod"
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    configs = tls_sim.objects("c001", kind="ConfigMap", namespace="shop")
    assert [c["metadata"]["name"].startswith("web-config-") for c in configs] == [True]
    kubectl("wait", "--for=condition=Available", "deployment/web", "-n", "shop", "--timeout=20s")


def test_kubectl_label_and_patch_change_objects(tls_sim: SimServer, kubectl: Kubectl) -> None:
    kubectl("apply", "--server-side", "-f", "-", stdin=_manifest("edit"))
    kubectl("label", "configmap", "settings", "-n", "edit", "reviewed=yes")
    kubectl("patch", "configmap", "settings", "-n", "edit", "--type=merge", "-p", '{"data":{"size":"L"}}')
    kubectl(
        "patch",
        "configmap",
        "settings",
        "-n",
        "edit",
        "--type=json",
        "-p",
        '[{"op":"remove","path":"/data/color"}]',
    )
    kubectl(
        "patch",
        "deployment",
        "web",
        "-n",
        "edit",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}}}',
    )
    cm = tls_sim.get_object("c001", "v1", "ConfigMap", "edit", "settings")
    assert cm["metadata"]["labels"]["reviewed"] == "yes"
    assert cm["data"] == {"size": "L"}
    deploy = tls_sim.get_object("c001", "apps/v1", "Deployment", "edit", "web")
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    # A strategic merge patch merges the container by name: its ports and env survive.
    assert container["image"] == "nginx:1.28" and container["env"] == [{"name": "MODE", "value": "blue"}]
    managers = {m["manager"] for m in cm["metadata"]["managedFields"]}
    assert {"kubectl", "kubectl-label", "kubectl-patch"} <= managers


def test_kubectl_get_watch_streams_changes_until_its_timeout(
    tls_sim: SimServer, kubectl: Kubectl, tmp_path: Path
) -> None:
    kubectl("apply", "--server-side", "-f", "-", stdin=_manifest("watch"))
    config = tmp_path / "kubeconfig"
    tls_sim.write_kubeconfig(config)
    watches_before = tls_sim.request_counts("c001")["verbs"].get("watch", 0)
    proc = subprocess.Popen(
        [
            str(KUBECTL),
            "--kubeconfig",
            str(config),
            "--context",
            "c001",
            "--cache-dir",
            str(tmp_path / "cache"),
            "get",
            "configmaps",
            "-n",
            "watch",
            "--watch",
            "-o",
            "name",
            "--request-timeout=3s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Change the namespace only once kubectl's watch is open (the server has counted it).
        deadline = time.monotonic() + 20
        while tls_sim.request_counts("c001")["verbs"].get("watch", 0) == watches_before:
            assert proc.poll() is None and time.monotonic() < deadline, "kubectl never started watching"
            time.sleep(0.02)
        tls_sim.apply_object(
            "c001",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late", "namespace": "watch"}},
        )
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert out.split() == ["configmap/other", "configmap/settings", "configmap/late"], err


def test_kubectl_uses_every_context_of_the_written_kubeconfig(tls_sim: SimServer, kubectl: Kubectl) -> None:
    for name in ("c001", "c002"):
        out = kubectl("get", "namespaces", "-o", "name", context=name).stdout.split()
        assert "namespace/kube-system" in out
    version = json.loads(kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["minor"] == "32"


def test_kubectl_serves_a_custom_kind_once_its_crd_is_applied(tls_sim: SimServer, kubectl: Kubectl) -> None:
    # As with a real cluster, kubectl maps every object before applying any: the first run creates
    # the CRD and reports the custom resource's kind as unknown; the next run applies it.
    first = kubectl("apply", "--server-side", "-f", str(DATA / "crd.yaml"), context="c002", check=False)
    assert (
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com serverside-applied" in first.stdout
    )
    assert 'no matches for kind "Widget"' in first.stderr
    out = kubectl("apply", "--server-side", "-f", str(DATA / "crd.yaml"), context="c002")
    assert "widget.example.com/gear serverside-applied" in out.stdout
    names = kubectl("get", "wg", "-n", "default", "-o", "name", context="c002").stdout.split()
    assert names == ["widget.example.com/gear"]
    kubectl(
        "patch",
        "widget",
        "gear",
        "-n",
        "default",
        "--type=merge",
        "-p",
        '{"spec":{"size":9}}',
        context="c002",
    )
    assert tls_sim.get_object("c002", "example.com/v1", "Widget", "default", "gear")["spec"]["size"] == 9


def test_kubectl_scale_uses_the_scale_subresource(tls_sim: SimServer, kubectl: Kubectl) -> None:
    kubectl("apply", "--server-side", "-f", "-", stdin=_manifest("scale"))
    assert (
        "deployment.apps/web scaled"
        in kubectl("scale", "deployment", "web", "-n", "scale", "--replicas=4").stdout
    )
    kubectl(
        "wait", "--for=jsonpath={.status.readyReplicas}=4", "deployment/web", "-n", "scale", "--timeout=20s"
    )
    assert len(tls_sim.objects("c001", kind="Pod", namespace="scale")) == 4
