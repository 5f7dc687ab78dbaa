"""kubectl conformance: the real kubectl (1.32) does against the simulator what it does against a
real API server, one table row per command issue 10 lists.

kubectl 1.32 sends its typed ``create`` subcommands as protobuf and prefers protobuf answers, so
each ``create`` row also checks that the object the simulator decoded holds everything kubectl
itself prints for ``--dry-run=client -o json`` (the JSON of the same Go object), and that kubectl
could decode the simulator's protobuf answer (``-o json`` shows the server-set uid).

One simulator serves the whole module; each row works in its own namespace (created directly,
without a kubectl call, to keep the module's wall time down).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet.clusters.sim import SimServer
from fleet.clusters.sim import tls as tls_mod

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not installed (needed to test kubectl conformance)"
)

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(1, rollout_seconds=0.05, tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kubectl-conformance")


@pytest.fixture(scope="module")
def kubectl(sim: SimServer, workdir: Path) -> Kubectl:
    config = sim.write_kubeconfig(workdir / "kubeconfig")

    def run(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(KUBECTL), "--kubeconfig", str(config), "--cache-dir", str(workdir / "cache"), *args]
        result = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    return run


def contains(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Where ``expected`` is not part of ``actual`` (nulls in ``expected`` are Go zero values)."""
    if expected is None:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        out = []
        for key, value in expected.items():
            out += contains(actual.get(key), value, f"{path}.{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        out = []
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            out += contains(a, e, f"{path}[{i}]")
        return out
    return [] if actual == expected else [f"{path}: expected {expected!r}, got {actual!r}"]


@dataclass(frozen=True)
class Ctx:
    sim: SimServer
    kubectl: Kubectl
    ns: str
    workdir: Path

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = "") -> dict[str, Any]:
        found = self.sim.get_object(
            "c001", api_version, kind, self.ns if namespace == "" else namespace, name
        )
        assert found is not None, f"{kind} {name} not found"
        return found

    def deploy(self, name: str = "web", replicas: int = 2, image: str = "nginx:1.27") -> None:
        self.sim.apply_object(
            "c001",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": self.ns},
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {
                            "containers": [{"name": name, "image": image, "ports": [{"containerPort": 80}]}]
                        },
                    },
                },
            },
        )
        # Wait for the rollout to settle (available, or stuck on a bad image), not for an idle
        # cluster: rows before may have left rollouts waiting for their progress deadline.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = self.get("apps/v1", "Deployment", name).get("status") or {}
            pods = self.sim.objects("c001", kind="Pod", namespace=self.ns)
            waiting = [
                p
                for p in pods
                if p["metadata"]["name"].startswith(name + "-")
                and "ImagePullBackOff" in json.dumps((p.get("status") or {}).get("containerStatuses"))
            ]
            if status.get("availableReplicas") == replicas or len(waiting) == replicas:
                return
            time.sleep(0.05)
        raise AssertionError(f"deployment {name} did not settle")

    def configmap(self, name: str, data: dict[str, str]) -> None:
        self.sim.apply_object(
            "c001",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": self.ns},
                "data": data,
            },
        )


# -- typed create subcommands: sent as protobuf --------------------------------------------------


@dataclass(frozen=True)
class Create:
    id: str
    args: tuple[str, ...]  # after "create"; {ns} is the row's namespace
    api_version: str
    kind: str
    name: str
    cluster_scoped: bool = False
    check: Callable[[dict[str, Any]], None] | None = None


def _tls_files(workdir: Path) -> tuple[str, str]:
    material = tls_mod.material()
    cert, key = workdir / "tls.crt", workdir / "tls.key"
    cert.write_text(material.cert)
    key.write_text(material.key)
    return str(cert), str(key)


CREATES = [
    Create("namespace", ("namespace", "{ns}-made"), "v1", "Namespace", "{ns}-made", cluster_scoped=True),
    Create(
        "configmap",
        ("configmap", "settings", "--from-literal=color=blue", "--from-literal=size=L"),
        "v1",
        "ConfigMap",
        "settings",
        check=lambda o: _eq(o["data"], {"color": "blue", "size": "L"}),
    ),
    Create(
        "secret generic",
        ("secret", "generic", "creds", "--from-literal=password=s3cret"),
        "v1",
        "Secret",
        "creds",
        check=lambda o: _eq(o["type"], "Opaque"),
    ),
    Create(
        "secret docker-registry",
        (
            "secret",
            "docker-registry",
            "pull",
            "--docker-server=r.example.com",
            "--docker-username=u",
            "--docker-password=p",
        ),
        "v1",
        "Secret",
        "pull",
        check=lambda o: _eq(o["type"], "kubernetes.io/dockerconfigjson"),
    ),
    Create(
        "secret tls",
        ("secret", "tls", "cert", "--cert={cert}", "--key={key}"),
        "v1",
        "Secret",
        "cert",
        check=lambda o: _eq(sorted(o["data"]), ["tls.crt", "tls.key"]),
    ),
    Create(
        "deployment",
        ("deployment", "web", "--image=nginx:1.27", "--replicas=2", "--port=80"),
        "apps/v1",
        "Deployment",
        "web",
        check=lambda o: _eq(
            o["spec"]["template"]["spec"]["containers"][0]["ports"],
            [{"containerPort": 80, "protocol": "TCP"}],
        ),
    ),
    Create("job", ("job", "once", "--image=busybox", "--", "echo", "hi"), "batch/v1", "Job", "once"),
    Create(
        "cronjob",
        ("cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *", "--", "date"),
        "batch/v1",
        "CronJob",
        "tick",
        check=lambda o: _eq(o["spec"]["concurrencyPolicy"], "Allow"),
    ),
    Create("serviceaccount", ("serviceaccount", "robot"), "v1", "ServiceAccount", "robot"),
    Create(
        "role",
        ("role", "reader", "--verb=get,list", "--resource=pods,configmaps"),
        "rbac.authorization.k8s.io/v1",
        "Role",
        "reader",
    ),
    Create(
        "rolebinding",
        ("rolebinding", "reader", "--role=reader", "--serviceaccount={ns}:robot"),
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "reader",
    ),
    Create(
        "clusterrole",
        ("clusterrole", "{ns}-reader", "--verb=get", "--resource=nodes"),
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "{ns}-reader",
        cluster_scoped=True,
    ),
    Create(
        "clusterrolebinding",
        ("clusterrolebinding", "{ns}-reader", "--clusterrole={ns}-reader", "--group=ops"),
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        "{ns}-reader",
        cluster_scoped=True,
    ),
    Create(
        "service clusterip",
        ("service", "clusterip", "api", "--tcp=80:8080"),
        "v1",
        "Service",
        "api",
        check=lambda o: _eq(o["spec"]["ports"][0]["targetPort"], 8080),
    ),
    Create(
        "service nodeport",
        ("service", "nodeport", "edge", "--tcp=443:8443"),
        "v1",
        "Service",
        "edge",
        check=lambda o: _eq(o["spec"]["type"], "NodePort"),
    ),
    Create(
        "service loadbalancer",
        ("service", "loadbalancer", "lb", "--tcp=80:80"),
        "v1",
        "Service",
        "lb",
        check=lambda o: _eq(o["spec"]["type"], "LoadBalancer"),
    ),
    Create(
        "service externalname",
        ("service", "externalname", "ext", "--external-name=db.example.com"),
        "v1",
        "Service",
        "ext",
        check=lambda o: _eq(o["spec"]["externalName"], "db.example.com"),
    ),
    Create(
        "quota",
        ("quota", "limits", "--hard=pods=10,cpu=2,memory=1Gi"),
        "v1",
        "ResourceQuota",
        "limits",
        check=lambda o: _eq(o["spec"]["hard"], {"cpu": "2", "memory": "1Gi", "pods": "10"}),
    ),
    Create(
        "priorityclass",
        ("priorityclass", "{ns}-high", "--value=1000", "--description=urgent"),
        "scheduling.k8s.io/v1",
        "PriorityClass",
        "{ns}-high",
        cluster_scoped=True,
        check=lambda o: _eq(o["value"], 1000),
    ),
    Create(
        "poddisruptionbudget",
        ("poddisruptionbudget", "keep", "--selector=app=web", "--min-available=50%"),
        "policy/v1",
        "PodDisruptionBudget",
        "keep",
        check=lambda o: _eq(o["spec"]["minAvailable"], "50%"),
    ),
    Create(
        "ingress",
        ("ingress", "front", "--rule=shop.example.com/cart*=api:80"),
        "networking.k8s.io/v1",
        "Ingress",
        "front",
        check=lambda o: _eq(o["spec"]["rules"][0]["http"]["paths"][0]["pathType"], "Prefix"),
    ),
]


def _eq(actual: Any, expected: Any) -> None:
    assert actual == expected, f"{actual!r} != {expected!r}"


def _namespace(sim: SimServer, row_id: str) -> str:
    ns = "k-" + re.sub(r"[^a-z0-9]+", "-", row_id.lower()).strip("-")
    sim.apply_object("c001", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    return ns


@pytest.mark.parametrize("row", CREATES, ids=[c.id for c in CREATES])
def test_kubectl_create_sends_protobuf_the_simulator_decodes_as_kubectl_meant(
    sim: SimServer, kubectl: Kubectl, workdir: Path, row: Create
) -> None:
    ns = _namespace(sim, "create-" + row.id)
    cert, key = _tls_files(workdir)
    args = [a.format(ns=ns, cert=cert, key=key) for a in row.args]
    scope = [] if row.cluster_scoped else ["-n", ns]
    # Flags go before the arguments: a Job's or CronJob's command follows "--".
    meant = json.loads(kubectl("create", *scope, "--dry-run=client", "-o", "json", *args).stdout)
    answered = json.loads(kubectl("create", *scope, "-o", "json", *args).stdout)
    assert answered["metadata"]["uid"], "kubectl decoded no server-set uid from the answer"
    stored = sim.get_object(
        "c001", row.api_version, row.kind, None if row.cluster_scoped else ns, row.name.format(ns=ns)
    )
    assert stored is not None
    meant.pop("status", None)
    meant["metadata"].pop("creationTimestamp", None)
    assert contains(stored, meant) == []
    assert answered["metadata"]["uid"] == stored["metadata"]["uid"]
    if row.check is not None:
        row.check(stored)


def test_kubectl_create_token_issues_a_token_the_cluster_accepts(sim: SimServer, kubectl: Kubectl) -> None:
    ns = _namespace(sim, "token")
    kubectl("create", "serviceaccount", "robot", "-n", ns)
    token = kubectl("create", "token", "robot", "-n", ns, "--duration=15m").stdout.strip()
    assert token.count(".") == 2
    claims = json.loads(_b64url(token.split(".")[1]))
    assert claims["sub"] == f"system:serviceaccount:{ns}:robot"
    assert claims["exp"] - claims["iat"] == 900
    out = kubectl("--token", token, "get", "serviceaccount", "robot", "-n", ns, "-o", "name").stdout
    assert out.strip() == "serviceaccount/robot"


def _b64url(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- every other command the issue lists ------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    id: str
    run: Callable[[Ctx], None]
    marks: tuple[Any, ...] = field(default=())


def _run(c: Ctx) -> None:
    out = c.kubectl(
        "run", "shell", "-n", c.ns, "--image=busybox:1.36", "--labels=app=shell", "--", "sleep", "3600"
    )
    assert "pod/shell created" in out.stdout
    c.kubectl("wait", "--for=condition=Ready", "pod/shell", "-n", c.ns, "--timeout=20s")
    pod = c.get("v1", "Pod", "shell")
    assert (
        pod["spec"]["containers"][0]["args"] == ["sleep", "3600"] and pod["spec"]["nodeName"] == "c001-node-0"
    )


def _expose(c: Ctx) -> None:
    c.deploy()
    out = c.kubectl("expose", "deployment", "web", "-n", c.ns, "--port=80", "--target-port=8080")
    assert "service/web exposed" in out.stdout
    svc = c.get("v1", "Service", "web")
    assert svc["spec"]["selector"] == {"app": "web"} and svc["spec"]["ports"][0]["targetPort"] == 8080


def _rollout_status(c: Ctx) -> None:
    c.kubectl("create", "deployment", "web", "-n", c.ns, "--image=nginx:1.27", "--replicas=2")
    out = c.kubectl("rollout", "status", "deployment/web", "-n", c.ns, "--timeout=20s")
    assert 'deployment "web" successfully rolled out' in out.stdout
    c.deploy("stuck", image="nginx:bad", replicas=1)
    stuck = c.kubectl("rollout", "status", "deployment/stuck", "-n", c.ns, "--timeout=1s", check=False)
    assert stuck.returncode == 1 and "0 of 1 updated replicas are available" in stuck.stdout


def _get_events(c: Ctx) -> None:
    c.deploy("web", replicas=1)
    table = c.kubectl("get", "events", "-n", c.ns).stdout.splitlines()
    assert table[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    rows = {(line.split()[2], line.split()[3]) for line in table[1:]}
    assert ("ScalingReplicaSet", "deployment/web") in rows
    assert {"SuccessfulCreate", "Scheduled", "Pulled", "Created", "Started"} <= {r for r, _ in rows}
    picked = c.kubectl(
        "get", "events", "-n", c.ns, "--field-selector", "reason=ScalingReplicaSet", "-o", "json"
    ).stdout
    items = json.loads(picked)["items"]
    assert [i["message"] for i in items] == [f"Scaled up replica set {_rs(c)} from 0 to 1"]
    new_api = json.loads(c.kubectl("get", "events.v1.events.k8s.io", "-n", c.ns, "-o", "json").stdout)[
        "items"
    ]
    assert {e["regarding"]["kind"] for e in new_api} >= {"Deployment", "ReplicaSet", "Pod"}
    assert all("note" in e and "involvedObject" not in e for e in new_api)


def _rs(c: Ctx) -> str:
    (rs,) = c.sim.objects("c001", kind="ReplicaSet", namespace=c.ns)
    return str(rs["metadata"]["name"])


def _describe(c: Ctx) -> None:
    c.deploy("web", replicas=1)
    c.deploy("bad", replicas=1, image="nginx:bad")
    text = c.kubectl("describe", "deployment", "web", "-n", c.ns).stdout
    assert re.search(
        r"Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set web-", text
    )
    pod = next(
        p["metadata"]["name"]
        for p in c.sim.objects("c001", kind="Pod", namespace=c.ns)
        if p["metadata"]["name"].startswith("bad-")
    )
    text = c.kubectl("describe", "pod", pod, "-n", c.ns).stdout
    assert "Status:           Pending" in text
    for pattern in (
        r"Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned",
        r'Normal\s+Pulling\s+\S+\s+kubelet\s+Pulling image "nginx:bad"',
        r"Warning\s+Failed\s+\S+\s+kubelet\s+Error: ErrImagePull",
        r'Normal\s+BackOff\s+\S+\s+kubelet\s+Back-off pulling image "nginx:bad"',
        r"Warning\s+Failed\s+\S+\s+kubelet\s+Error: ImagePullBackOff",
    ):
        assert re.search(pattern, text), pattern


def _scale(c: Ctx) -> None:
    c.deploy("web", replicas=1)
    assert (
        "deployment.apps/web scaled"
        in c.kubectl("scale", "deployment", "web", "-n", c.ns, "--replicas=3").stdout
    )
    c.kubectl(
        "wait", "--for=jsonpath={.status.readyReplicas}=3", "deployment/web", "-n", c.ns, "--timeout=20s"
    )
    assert c.get("apps/v1", "Deployment", "web")["spec"]["replicas"] == 3


def _label_annotate(c: Ctx) -> None:
    c.configmap("settings", {"color": "blue"})
    c.kubectl("label", "configmap", "settings", "-n", c.ns, "tier=gold")
    c.kubectl("annotate", "configmap", "settings", "-n", c.ns, "owner=ops")
    c.kubectl("label", "configmap", "settings", "-n", c.ns, "tier=silver", "--overwrite")
    meta = c.get("v1", "ConfigMap", "settings")["metadata"]
    assert meta["labels"]["tier"] == "silver" and meta["annotations"]["owner"] == "ops"
    refused = c.kubectl("label", "configmap", "settings", "-n", c.ns, "tier=bronze", check=False)
    assert refused.returncode == 1 and "already has a value (silver)" in refused.stderr


def _patch(kind: str) -> Callable[[Ctx], None]:
    def run(c: Ctx) -> None:
        c.deploy("web", replicas=1)
        container = '{"name":"web","image":"nginx:1.29"}'
        body = {
            "merge": '{"spec":{"replicas":2}}',
            "json": '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.28"}]',
            "strategic": '{"spec":{"template":{"spec":{"containers":[' + container + "]}}}}",
        }[kind]
        out = c.kubectl("patch", "deployment", "web", "-n", c.ns, f"--type={kind}", "-p", body)
        assert "deployment.apps/web patched" in out.stdout
        deploy = c.get("apps/v1", "Deployment", "web")
        container_now = deploy["spec"]["template"]["spec"]["containers"][0]
        if kind == "merge":
            assert deploy["spec"]["replicas"] == 2
        elif kind == "json":
            assert container_now["image"] == "nginx:1.28"
        else:
            # Strategic: the container is merged by name, so its ports survive.
            assert container_now["image"] == "nginx:1.29" and container_now["ports"][0]["containerPort"] == 80

    return run


def _delete_foreground(c: Ctx) -> None:
    c.deploy("web", replicas=2)
    out = c.kubectl("delete", "deployment", "web", "-n", c.ns, "--cascade=foreground", "--timeout=20s")
    assert 'deployment.apps "web" deleted' in out.stdout
    # Foreground: kubectl returned only after the dependents were gone.
    assert c.sim.objects("c001", kind="ReplicaSet", namespace=c.ns) == []
    assert c.sim.get_object("c001", "apps/v1", "Deployment", c.ns, "web") is None


def _wait(c: Ctx) -> None:
    c.kubectl("create", "job", "once", "-n", c.ns, "--image=busybox")
    out = c.kubectl("wait", "--for=condition=Complete", "job/once", "-n", c.ns, "--timeout=20s")
    assert "job.batch/once condition met" in out.stdout
    text = c.kubectl("get", "events", "-n", c.ns, "--field-selector", "involvedObject.kind=Job").stdout
    assert "Completed" in text and "Job completed" in text


def _server_side_apply_conflicts(c: Ctx) -> None:
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: shared, namespace: {ns}}}\ndata: {{owner: {who}}}\n"
    c.kubectl(
        "apply", "--server-side", "--field-manager=team-a", "-f", "-", stdin=doc.format(ns=c.ns, who="a")
    )
    conflict = c.kubectl(
        "apply",
        "--server-side",
        "--field-manager=team-b",
        "-f",
        "-",
        stdin=doc.format(ns=c.ns, who="b"),
        check=False,
    )
    assert conflict.returncode == 1
    assert (
        "conflict" in conflict.stderr.lower()
        and "team-a" in conflict.stderr
        and ".data.owner" in conflict.stderr
    )
    assert c.get("v1", "ConfigMap", "shared")["data"] == {"owner": "a"}
    c.kubectl(
        "apply",
        "--server-side",
        "--field-manager=team-b",
        "--force-conflicts",
        "-f",
        "-",
        stdin=doc.format(ns=c.ns, who="b"),
    )
    cm = c.get("v1", "ConfigMap", "shared")
    assert cm["data"] == {"owner": "b"}
    owners = {
        m["manager"] for m in cm["metadata"]["managedFields"] if "f:owner" in json.dumps(m.get("fieldsV1"))
    }
    assert owners == {"team-b"}


def _diff(c: Ctx) -> None:
    same = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {c.ns}}}\ndata: {{color: blue}}\n"
    c.kubectl("apply", "-f", "-", stdin=same)
    assert c.kubectl("diff", "-f", "-", stdin=same, check=False).returncode == 0
    changed = same.replace("blue", "green")
    result = c.kubectl("diff", "-f", "-", stdin=changed, check=False)
    assert result.returncode == 1
    assert "-  color: blue" in result.stdout and "+  color: green" in result.stdout
    assert c.get("v1", "ConfigMap", "settings")["data"] == {"color": "blue"}  # diff changes nothing


def _get_yaml_round_trip(c: Ctx) -> None:
    c.deploy("web", replicas=1)
    for kind, name in (("deployment", "web"), ("configmap", "kube-root-ca.crt"), ("namespace", c.ns)):
        if kind == "configmap":
            c.configmap(name, {"ca.crt": "pem"})
        args = ("-n", c.ns) if kind != "namespace" else ()
        text = c.kubectl("get", kind, name, *args, "-o", "yaml").stdout
        before = yaml.safe_load(text)
        c.kubectl("replace", "-f", "-", stdin=text)
        after = yaml.safe_load(c.kubectl("get", kind, name, *args, "-o", "yaml").stdout)
        # Replacing an object with what get printed changes nothing, not even its resourceVersion.
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"], kind
        assert (
            after["spec" if kind != "configmap" else "data"]
            == before["spec" if kind != "configmap" else "data"]
        )


COMMANDS = [
    Command("run", _run),
    Command("expose", _expose),
    Command("rollout status", _rollout_status),
    Command("get events", _get_events),
    Command("describe", _describe),
    Command("scale", _scale),
    Command("label and annotate", _label_annotate),
    Command("patch merge", _patch("merge")),
    Command("patch json", _patch("json")),
    Command("patch strategic", _patch("strategic")),
    Command("delete cascade foreground", _delete_foreground),
    Command("wait", _wait),
    Command("apply server-side conflicts and force-conflicts", _server_side_apply_conflicts),
    Command("diff", _diff),
    Command("get -o yaml round trip", _get_yaml_round_trip),
]


@pytest.mark.parametrize("row", COMMANDS, ids=[c.id for c in COMMANDS])
def test_kubectl_command_behaves_as_against_a_real_api_server(
    sim: SimServer, kubectl: Kubectl, workdir: Path, row: Command
) -> None:
    row.run(Ctx(sim=sim, kubectl=kubectl, ns=_namespace(sim, row.id), workdir=workdir))
