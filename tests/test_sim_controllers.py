"""Simulated controllers: workloads roll out and report status like the real controllers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from fleet.clusters.sim import SimServer

Obj = dict[str, Any]


def wait_for(read: Callable[[], Any], check: Callable[[Any], bool], *, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    value = read()
    while not check(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value}")
        time.sleep(0.02)
        value = read()
    return value


def condition(obj: Obj | None, type_: str) -> Obj:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c
    return {}


def pod_template(name: str, image: str = "nginx:1.25", **spec: Any) -> Obj:
    return {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": "main", "image": image}], **spec},
    }


def deployment(name: str, *, image: str = "nginx:1.25", replicas: int = 2, **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": pod_template(name, image),
            **spec,
        },
    }


def getter(
    sim: SimServer,
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None = "default",
    cluster: str = "c001",
) -> Callable[[], Obj | None]:
    return lambda: sim.get_object(cluster, api_version, kind, namespace, name)


def test_a_deployment_rolls_out_and_becomes_available(sim: SimServer) -> None:
    sim.apply_object("c001", deployment("web", replicas=3))
    done = wait_for(
        getter(sim, "apps/v1", "Deployment", "web"),
        lambda d: condition(d, "Progressing").get("reason") == "NewReplicaSetAvailable",
    )
    assert condition(done, "Available")["status"] == "True"
    assert {
        k: done["status"][k]
        for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "observedGeneration")
    } == {
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "observedGeneration": 1,
    }
    replicasets = sim.objects("c001", kind="ReplicaSet", namespace="default")
    assert len(replicasets) == 1 and replicasets[0]["metadata"]["ownerReferences"][0]["name"] == "web"
    pods = sim.objects("c001", kind="Pod", namespace="default")
    assert len(pods) == 3
    assert all(p["status"]["phase"] == "Running" and condition(p, "Ready")["status"] == "True" for p in pods)


def test_a_new_template_rolls_to_a_new_replicaset_and_retires_the_old(sim: SimServer) -> None:
    sim.apply_object("c001", deployment("roll"))
    wait_for(
        getter(sim, "apps/v1", "Deployment", "roll"),
        lambda d: (d.get("status") or {}).get("availableReplicas") == 2,
    )
    sim.apply_object("c001", deployment("roll", image="nginx:1.26"))
    done = wait_for(
        getter(sim, "apps/v1", "Deployment", "roll"),
        lambda d: (
            d["status"].get("observedGeneration") == 2
            and condition(d, "Progressing").get("reason") == "NewReplicaSetAvailable"
        ),
    )
    assert done["status"]["updatedReplicas"] == 2
    replicas = sorted(
        (rs["spec"]["replicas"], rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
        for rs in sim.objects("c001", kind="ReplicaSet", namespace="default")
    )
    assert replicas == [(0, "1"), (2, "2")]
    # As the real controller: the Deployment carries its new ReplicaSet's revision, written in an
    # Update of kube-controller-manager's own (not the status subresource's).
    assert done["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    owners = [
        m
        for m in done["metadata"]["managedFields"]
        if "deployment.kubernetes.io/revision" in json.dumps(m.get("fieldsV1"))
    ]
    assert [(m["manager"], m["operation"], m.get("subresource")) for m in owners] == [
        ("kube-controller-manager", "Update", None)
    ]
    images = {
        p["spec"]["containers"][0]["image"] for p in sim.objects("c001", kind="Pod", namespace="default")
    }
    assert images == {"nginx:1.26"}


def test_a_bad_image_never_becomes_available_and_exceeds_the_progress_deadline(sim: SimServer) -> None:
    sim.apply_object("c001", deployment("bad", image="nginx:bad", progressDeadlineSeconds=1))
    stuck = wait_for(
        getter(sim, "apps/v1", "Deployment", "bad"),
        lambda d: condition(d, "Progressing").get("reason") == "ProgressDeadlineExceeded",
        timeout=15,
    )
    assert condition(stuck, "Progressing")["status"] == "False"
    assert condition(stuck, "Available")["status"] == "False"
    assert not stuck["status"].get("availableReplicas")
    pods = sim.objects("c001", kind="Pod", namespace="default")
    waiting = {p["status"]["containerStatuses"][0]["state"].get("waiting", {}).get("reason") for p in pods}
    assert waiting == {"ImagePullBackOff"}


def test_a_configured_bad_image_pattern_decides_which_images_never_start(
    sim_factory: Callable[..., SimServer],
) -> None:
    server = sim_factory(1, bad_image_pattern=r"^registry\.example\.com/broken/")
    server.apply_object("c001", deployment("broken", image="registry.example.com/broken/app:1.0"))
    server.apply_object("c001", deployment("tagged-bad", image="nginx:bad"))  # only the default pattern's
    wait_for(
        getter(server, "apps/v1", "Deployment", "tagged-bad"),
        lambda d: condition(d, "Available").get("status") == "True",
    )

    def waiting_reasons() -> list[str | None]:
        pods = server.objects("c001", kind="Pod", namespace="default")
        statuses = [
            ((p.get("status") or {}).get("containerStatuses") or [{}])[0]
            for p in pods
            if p["metadata"]["labels"].get("app") == "broken"
        ]
        return [s.get("state", {}).get("waiting", {}).get("reason") for s in statuses]

    assert wait_for(waiting_reasons, lambda r: len(r) == 2) == ["ImagePullBackOff"] * 2
    stuck = server.get_object("c001", "apps/v1", "Deployment", "default", "broken")
    assert condition(stuck, "Available").get("status") != "True"
    assert not (stuck.get("status") or {}).get("availableReplicas")


def test_a_bad_update_leaves_the_old_pods_serving(sim: SimServer) -> None:
    sim.apply_object("c001", deployment("keep"))
    wait_for(
        getter(sim, "apps/v1", "Deployment", "keep"),
        lambda d: condition(d, "Progressing").get("reason") == "NewReplicaSetAvailable",
    )
    sim.apply_object("c001", deployment("keep", image="nginx:bad"))

    def new_pods_stuck_pulling() -> int:
        pods = sim.objects("c001", kind="Pod", namespace="default")
        states = [
            ((p.get("status") or {}).get("containerStatuses") or [{}])[0].get("state", {}) for p in pods
        ]
        return sum(1 for s in states if s.get("waiting", {}).get("reason") == "ImagePullBackOff")

    # Wait until the update is as far as it can get (two new pods that never start, and the
    # Deployment's status says so) instead of sleeping a while and hoping it got there.
    wait_for(new_pods_stuck_pulling, lambda stuck: stuck == 2)
    current = wait_for(
        getter(sim, "apps/v1", "Deployment", "keep"),
        lambda d: (
            d["status"].get("observedGeneration") == d["metadata"]["generation"]
            and d["status"].get("replicas") == 4
        ),
    )
    assert condition(current, "Available")["status"] == "True"
    assert current["status"]["availableReplicas"] == 2 and current["status"]["updatedReplicas"] == 2
    assert current["status"]["replicas"] == 4  # old and new side by side: health says Progressing


def test_a_replicaset_scales_its_pods_up_and_down(sim: SimServer) -> None:
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "rs", "namespace": "default"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "rs"}}, "template": pod_template("rs")},
    }
    sim.apply_object("c001", rs)
    wait_for(
        getter(sim, "apps/v1", "ReplicaSet", "rs"),
        lambda r: (r.get("status") or {}).get("readyReplicas") == 3,
    )
    rs["spec"]["replicas"] = 1
    sim.apply_object("c001", rs)
    done = wait_for(
        getter(sim, "apps/v1", "ReplicaSet", "rs"),
        lambda r: r["status"].get("replicas") == 1 and r["status"].get("observedGeneration") == 2,
    )
    assert done["status"]["readyReplicas"] == 1
    assert len(sim.objects("c001", kind="Pod", namespace="default")) == 1


def test_a_statefulset_creates_ordered_pods_and_bound_claims(sim: SimServer) -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": pod_template("db"),
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                }
            ],
        },
    }
    sim.apply_object("c001", sts)
    done = wait_for(
        getter(sim, "apps/v1", "StatefulSet", "db"),
        lambda s: (s.get("status") or {}).get("readyReplicas") == 2,
    )
    assert done["status"]["currentRevision"] == done["status"]["updateRevision"]
    assert sorted(p["metadata"]["name"] for p in sim.objects("c001", kind="Pod", namespace="default")) == [
        "db-0",
        "db-1",
    ]
    claims = sim.objects("c001", kind="PersistentVolumeClaim", namespace="default")
    assert [(c["metadata"]["name"], c["status"]["phase"]) for c in claims] == [
        ("data-db-0", "Bound"),
        ("data-db-1", "Bound"),
    ]
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    sim.apply_object("c001", sts)
    updated = wait_for(
        getter(sim, "apps/v1", "StatefulSet", "db"),
        lambda s: (
            s["status"].get("updatedReplicas") == 2
            and s["status"].get("readyReplicas") == 2
            and s["status"]["currentRevision"] == s["status"]["updateRevision"]
        ),
    )
    assert updated["status"]["observedGeneration"] == 2


def test_a_daemonset_runs_one_pod_per_node(sim_factory: Callable[..., SimServer]) -> None:
    sim = sim_factory(1, nodes=3)
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": pod_template("agent")},
    }
    sim.apply_object("c001", ds)
    done = wait_for(
        getter(sim, "apps/v1", "DaemonSet", "agent"),
        lambda d: (d.get("status") or {}).get("numberReady") == 3,
    )
    assert done["status"]["desiredNumberScheduled"] == 3 and done["status"]["updatedNumberScheduled"] == 3
    nodes = sorted(p["spec"]["nodeName"] for p in sim.objects("c001", kind="Pod", namespace="default"))
    assert nodes == ["c001-node-0", "c001-node-1", "c001-node-2"]


def job(
    name: str,
    *,
    image: str = "busybox:1",
    annotations: dict[str, str] | None = None,
    command: list[str] | None = None,
    **spec: Any,
) -> Obj:
    template = pod_template(name, image, restartPolicy="Never")
    if annotations:
        template["metadata"]["annotations"] = annotations
    if command:
        template["spec"]["containers"][0]["command"] = command
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"template": template, **spec},
    }


JOB_CASES = [
    (job("ok", completions=2), "Complete", {"succeeded": 2}),
    (
        job("annotated", annotations={"sim.fleet.dev/outcome": "fail"}, backoffLimit=1),
        "Failed",
        {"failed": 2},
    ),
    (job("exits", command=["sh", "-c", "exit 3"], backoffLimit=0), "Failed", {"failed": 1}),
    (job("pull", image="busybox:bad", backoffLimit=0), "Failed", {"failed": 1}),
]


@pytest.mark.parametrize(
    "manifest, outcome, counts",
    JOB_CASES,
    ids=["completes", "fails by annotation", "fails by exit code", "fails on a bad image"],
)
def test_a_job_completes_or_fails(
    sim: SimServer, manifest: Obj, outcome: str, counts: dict[str, int]
) -> None:
    sim.apply_object("c001", manifest)
    name = manifest["metadata"]["name"]
    done = wait_for(
        getter(sim, "batch/v1", "Job", name), lambda j: condition(j, outcome).get("status") == "True"
    )
    assert {k: done["status"].get(k) for k in counts} == counts
    if outcome == "Failed":
        assert condition(done, "Failed")["reason"] == "BackoffLimitExceeded"
    else:
        assert done["status"]["completionTime"]


def test_a_job_past_its_deadline_fails(sim: SimServer) -> None:
    slow = job("slow", activeDeadlineSeconds=1)
    slow["spec"]["template"]["metadata"]["annotations"] = {"sim.fleet.dev/ready-seconds": "30"}
    sim.apply_object("c001", slow)
    done = wait_for(
        getter(sim, "batch/v1", "Job", "slow"), lambda j: condition(j, "Failed").get("status") == "True"
    )
    assert condition(done, "Failed")["reason"] == "DeadlineExceeded"


@pytest.mark.parametrize(
    "command, annotations, phase, waiting",
    [
        (None, None, "Running", None),
        (["false"], None, "Running", "CrashLoopBackOff"),
        (None, {"sim.fleet.dev/outcome": "fail"}, "Running", "CrashLoopBackOff"),
    ],
    ids=["runs ready", "crash-loops on exit", "crash-loops by annotation"],
)
def test_a_bare_pod_runs_or_crash_loops(
    sim: SimServer,
    command: list[str] | None,
    annotations: dict[str, str] | None,
    phase: str,
    waiting: str | None,
) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "solo", "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": "busybox:1"}]},
    }
    if command:
        pod["spec"]["containers"][0]["command"] = command
    if annotations:
        pod["metadata"]["annotations"] = annotations
    sim.apply_object("c001", pod)
    done = wait_for(
        getter(sim, "v1", "Pod", "solo"),
        lambda p: (
            (p.get("status") or {}).get("phase") == phase
            and (waiting is None or p["status"]["containerStatuses"][0]["state"].get("waiting"))
        ),
    )
    ready = condition(done, "Ready")["status"]
    state = done["status"]["containerStatuses"][0]["state"]
    if waiting is None:
        assert ready == "True" and "running" in state
    else:
        assert ready == "False" and state["waiting"]["reason"] == waiting


@pytest.mark.parametrize(
    "manifest",
    [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "lb", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"port": 80}]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "lb", "namespace": "default"},
            "spec": {"rules": [{"host": "x.example"}]},
        },
    ],
    ids=["LoadBalancer Service", "Ingress"],
)
def test_load_balancers_get_an_ingress_address(sim: SimServer, manifest: Obj) -> None:
    sim.apply_object("c001", manifest)
    done = wait_for(
        getter(sim, manifest["apiVersion"], manifest["kind"], "lb"),
        lambda o: bool(((o.get("status") or {}).get("loadBalancer") or {}).get("ingress")),
    )
    assert done["status"]["loadBalancer"]["ingress"][0]["ip"].startswith("172.18.")


def test_a_claim_binds(sim: SimServer) -> None:
    sim.apply_object(
        "c001",
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}},
        },
    )
    done = wait_for(
        getter(sim, "v1", "PersistentVolumeClaim", "data"),
        lambda o: (o.get("status") or {}).get("phase") == "Bound",
    )
    assert done["status"]["capacity"] == {"storage": "5Gi"}


def test_idle_clusters_schedule_no_controller_work(sim_factory: Callable[..., SimServer]) -> None:
    sim = sim_factory(20)
    assert sim.wait_idle(timeout=5)
    sim.apply_object("c003", deployment("one", replicas=1))
    assert not sim.idle("c003")
    assert sim.idle("c004")
    assert sim.wait_idle("c003", timeout=10)
