"""The chart's output applied to `fleet sim` with the real kubectl: a server-side dry run that writes
nothing, then a real server-side apply, then `kubectl get` reading each object back.

Each value set gets its own simulated cluster. KubeRay kinds are applied after minimal CRDs
(tests/data/deploy/kuberay-crds.yaml), so the simulator serves ray.io/v1 RayCluster and RayJob.
kubectl's `auth can-i` is not simulated (the simulator has no authorizer), so RBAC is checked by
reading the Roles back and comparing their rules.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fleet.clusters.sim import SimServer
from tests.deploy_helpers import DATA, MINIMAL, NAMESPACE, POSTGRES, dump, merge, render_chart

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not installed (needed to apply the chart)"
)

CASES: list[tuple[str, dict[str, Any]]] = [
    ("cronjob-defaults", {}),
    (
        "serve-with-network-policy",
        {
            "mode": "serve",
            "networkPolicy": {
                "enabled": True,
                "ingressFrom": [{"podSelector": {"matchLabels": {"app": "prometheus"}}}],
            },
        },
    ),
    ("cronjob-on-a-kuberay-raycluster", {"ray": {"enabled": True}}),
    ("cronjob-starting-a-rayjob-per-run", merge(POSTGRES, {"ray": {"enabled": True, "kind": "RayJob"}})),
    (
        "credentials-and-cluster-rules",
        {
            "fleet": {"repository": "", "repositorySecret": {"name": "fleet-repo"}},
            "clusters": {"kubeconfigSecret": {"name": "fleet-kubeconfig"}},
            "secretBackends": {
                "vault": {"address": "https://vault:8200", "tokenSecret": {"name": "vault-token"}},
                "sops": {"ageKeySecret": {"name": "sops-age"}},
            },
            "rbac": {
                "clusterRules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list"]}]
            },
        },
    ),
]
IDS = [name for name, _ in CASES]

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def tls_sim() -> Iterator[SimServer]:
    with SimServer([f"mgmt{i}" for i in range(len(CASES))], rollout_seconds=0.1, tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def kubectl_for(tls_sim: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Kubectl]:
    work = tmp_path_factory.mktemp("kubectl")
    config = tls_sim.write_kubeconfig(work / "kubeconfig")

    def for_context(context: str) -> Kubectl:
        def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
            cmd = [
                str(KUBECTL),
                "--kubeconfig",
                str(config),
                "--context",
                context,
                "--cache-dir",
                str(work / f"cache-{context}"),
                *args,
            ]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
            if check and done.returncode != 0:
                raise AssertionError(f"kubectl {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
            return done

        return run

    return for_context


def _prepare(kubectl: Kubectl, objects: list[dict[str, Any]]) -> None:
    # Applied rather than `kubectl create namespace`: that command sends protobuf, which the
    # simulator does not decode yet.
    kubectl("apply", "--server-side", "-f", str(DATA / "namespaces.yaml"))
    if any(o["apiVersion"] == "ray.io/v1" for o in objects) or any(
        o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-rayjob") for o in objects
    ):
        kubectl("apply", "--server-side", "-f", str(DATA / "kuberay-crds.yaml"))
        kubectl(
            "wait",
            "--for=condition=Established",
            "crd/rayclusters.ray.io",
            "crd/rayjobs.ray.io",
            "--timeout=20s",
        )


@pytest.mark.parametrize(("index", "name", "values"), [(i, *c) for i, c in enumerate(CASES)], ids=IDS)
def test_the_chart_applies_to_a_cluster_and_reads_back_as_rendered(
    kubectl_for: Callable[[str], Kubectl],
    tls_sim: SimServer,
    tmp_path: Path,
    index: int,
    name: str,
    values: dict[str, Any],
) -> None:
    cluster = f"mgmt{index}"
    kubectl = kubectl_for(cluster)
    objects = render_chart(merge(MINIMAL, values))
    manifest = dump(objects, tmp_path / "fleet.yaml")
    _prepare(kubectl, objects)

    # 1. A server-side dry run validates every object and stores none.
    dry = kubectl("apply", "--server-side", "--dry-run=server", "-f", str(manifest))
    assert dry.stdout.count("serverside-applied (server dry run)") == len(objects), dry.stdout
    for obj in objects:
        assert (
            tls_sim.get_object(
                cluster,
                obj["apiVersion"],
                obj["kind"],
                obj["metadata"].get("namespace"),
                obj["metadata"]["name"],
            )
            is None
        ), f"the dry run stored {obj['kind']}"

    # 2. The real apply stores them all, owned by kubectl's field manager.
    applied = kubectl("apply", "--server-side", "-f", str(manifest))
    assert applied.stdout.count("serverside-applied") == len(objects), applied.stdout

    # 3. kubectl reads each one back (one `get -f` for all) with what the chart set.
    items = json.loads(kubectl("get", "-f", str(manifest), "-o", "json").stdout)["items"]
    assert [(i["kind"], i["metadata"]["name"]) for i in items] == [
        (o["kind"], o["metadata"]["name"]) for o in objects
    ]
    for obj, live in zip(objects, items, strict=True):
        assert live["metadata"]["labels"] == obj["metadata"]["labels"]
        for field in ("spec", "rules", "roleRef", "subjects", "data", "automountServiceAccountToken"):
            if field in obj and field != "spec":
                assert live[field] == obj[field], f"{obj['kind']} {field}"
        if obj["kind"] == "CronJob":
            assert live["spec"]["concurrencyPolicy"] == "Forbid"
            assert live["spec"]["schedule"] == obj["spec"]["schedule"]
            pod = live["spec"]["jobTemplate"]["spec"]["template"]["spec"]
            assert (
                pod["containers"][0]["args"]
                == obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
            )
        if obj["kind"] in ("RayCluster", "NetworkPolicy", "Service", "PersistentVolumeClaim"):
            for key, value in obj["spec"].items():
                assert live["spec"][key] == value, f"{obj['kind']} spec.{key}"

    listing = kubectl(
        "get", "cronjobs,deployments,services,serviceaccounts,configmaps", "-n", NAMESPACE, "-o", "name"
    )
    expected = {
        f"{o['kind'].lower()}.{o['apiVersion'].split('/')[0]}/{o['metadata']['name']}"
        if "/" in o["apiVersion"]
        else f"{o['kind'].lower()}/{o['metadata']['name']}"
        for o in objects
        if o["kind"] in ("CronJob", "Deployment", "Service", "ServiceAccount", "ConfigMap")
    }
    assert set(listing.stdout.split()) >= expected
