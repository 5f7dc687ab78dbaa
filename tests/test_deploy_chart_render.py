"""The Helm chart in deploy/chart, rendered by fleet's own Helm engine for each mode and several
value sets: which objects it makes, and the invariants every rendering keeps (non-root pods on a
read-only root filesystem, least-privilege RBAC, credentials only through Secret references)."""

from __future__ import annotations

import re
import shlex
from typing import Any

import helm_python
import pytest
import yaml

from tests.deploy_helpers import (
    CHART,
    MINIMAL,
    NAMESPACE,
    POSTGRES,
    REPO_URL,
    find,
    kinds,
    merge,
    pod_specs,
    rayjob_template,
    render_chart,
)

EVERY_CREDENTIAL = {
    "fleet": {"repository": "", "repositorySecret": {"name": "fleet-repo", "key": "url"}},
    "clusters": {
        "kubeconfigSecret": {"name": "fleet-kubeconfig"},
        "clusterSecretsSecret": {"name": "fleet-cluster-secrets"},
    },
    "secretBackends": {
        "vault": {
            "address": "https://vault.example.com:8200",
            "authMethod": "approle",
            "appRoleSecret": {"name": "vault-approle"},
            "caSecret": {"name": "vault-ca"},
        },
        "aws": {
            "region": "eu-west-1",
            "credentialsSecret": {"name": "aws-keys", "sessionTokenKey": "AWS_SESSION_TOKEN"},
        },
        "sops": {"ageKeySecret": {"name": "sops-age"}},
    },
    "networkPolicy": {
        "enabled": True,
        "ingressFrom": [{"namespaceSelector": {"matchLabels": {"team": "platform"}}}],
    },
}

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "cronjob-defaults",
        {},
        ["ConfigMap", "CronJob", "PersistentVolumeClaim", "Role", "RoleBinding", "ServiceAccount"],
    ),
    (
        "cronjob-on-a-kuberay-raycluster",
        {"ray": {"enabled": True}},
        [
            "ConfigMap",
            "CronJob",
            "PersistentVolumeClaim",
            "RayCluster",
            "Role",
            "RoleBinding",
            "ServiceAccount",
        ],
    ),
    (
        "cronjob-starting-a-rayjob-per-run",
        merge(POSTGRES, {"ray": {"enabled": True, "kind": "RayJob"}}),
        ["ConfigMap", "ConfigMap", "CronJob", "Role", "Role", "RoleBinding", "RoleBinding", "ServiceAccount"],
    ),
    (
        "serve-with-sqlite",
        {"mode": "serve"},
        [
            "ConfigMap",
            "Deployment",
            "PersistentVolumeClaim",
            "Role",
            "RoleBinding",
            "Service",
            "ServiceAccount",
        ],
    ),
    (
        "serve-with-postgresql-and-two-replicas",
        merge(POSTGRES, {"mode": "serve", "serve": {"replicas": 2, "every": "", "schedule": "*/5 * * * *"}}),
        ["ConfigMap", "Deployment", "Role", "RoleBinding", "Service", "ServiceAccount"],
    ),
    (
        "every-credential-from-existing-secrets",
        EVERY_CREDENTIAL,
        [
            "ConfigMap",
            "CronJob",
            "NetworkPolicy",
            "PersistentVolumeClaim",
            "Role",
            "RoleBinding",
            "ServiceAccount",
        ],
    ),
    (
        "kubeconfig-only-without-argocd",
        {"clusters": {"argocd": {"enabled": False}, "kubeconfigSecret": {"name": "fleet-kubeconfig"}}},
        ["ConfigMap", "CronJob", "PersistentVolumeClaim", "ServiceAccount"],
    ),
    (
        "cluster-wide-rules-asked-for",
        {
            "rbac": {
                "clusterRules": [
                    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]}
                ]
            }
        },
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "ConfigMap",
            "CronJob",
            "PersistentVolumeClaim",
            "Role",
            "RoleBinding",
            "ServiceAccount",
        ],
    ),
]
IDS = [case[0] for case in CASES]
CREDENTIAL_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|ACCESS_KEY|ROLE_ID|STORE|REPOSITORY")


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {name: render_chart(merge(MINIMAL, values)) for name, values, _ in CASES}


@pytest.mark.parametrize(("name", "values", "expected"), CASES, ids=IDS)
def test_each_value_set_renders_exactly_its_objects(
    rendered: dict[str, list[dict[str, Any]]], name: str, values: dict[str, Any], expected: list[str]
) -> None:
    assert kinds(rendered[name]) == expected
    namespaced = [o for o in rendered[name] if o["kind"] not in ("ClusterRole", "ClusterRoleBinding")]
    assert all(o["metadata"]["namespace"] in (NAMESPACE, "argocd") for o in namespaced)


@pytest.mark.parametrize("name", IDS)
def test_every_pod_runs_as_non_root_on_a_read_only_root_filesystem(
    rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    pods = pod_specs(rendered[name])
    assert pods, "the chart must start at least one pod"
    for where, pod in pods:
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] != 0, where
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod["automountServiceAccountToken"] is False, where
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert security["runAsNonRoot"] is True, where
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts and "/home/fleet" in mounts, f"{where}: no writable /tmp or HOME"


@pytest.mark.parametrize("name", IDS)
def test_no_rbac_rule_uses_a_wildcard(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    rules = [r for o in rendered[name] if o["kind"] in ("Role", "ClusterRole") for r in o["rules"]]
    assert rules or name == "kubeconfig-only-without-argocd"
    for rule in rules:
        assert "*" not in rule["verbs"] and "*" not in rule.get("resources", []), rule


def test_by_default_secrets_are_read_in_argocds_namespace_only_and_nothing_is_cluster_wide(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["cronjob-defaults"]
    assert not [o for o in objects if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    role = find(objects, "Role", "fleet-argocd-read")
    assert role["metadata"]["namespace"] == "argocd"
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["get", "list"]}
    ]
    binding = find(objects, "RoleBinding", "fleet-argocd-read")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "fleet", "namespace": NAMESPACE}]


def test_a_cluster_role_holds_exactly_the_rules_the_values_ask_for(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["cluster-wide-rules-asked-for"]
    assert find(objects, "ClusterRole")["rules"] == [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]}
    ]
    assert find(objects, "ClusterRoleBinding")["subjects"][0]["name"] == "fleet"


def test_credentials_reach_pods_only_as_secret_references(rendered: dict[str, list[dict[str, Any]]]) -> None:
    objects = rendered["every-credential-from-existing-secrets"]
    assert "Secret" not in kinds(objects)  # the chart never holds a credential itself
    env = {e["name"]: e for _, pod in pod_specs(objects) for c in pod["containers"] for e in c.get("env", [])}
    credentials = {name: e for name, e in env.items() if CREDENTIAL_NAME.search(name)}
    assert set(credentials) == {
        "FLEET_REPOSITORY",
        "FLEET_STORE",
        "VAULT_ROLE_ID",
        "VAULT_SECRET_ID",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    }
    for name, entry in credentials.items():
        if name == "FLEET_STORE":  # SQLite here: a path, not a credential
            assert entry["value"] == "sqlite:////var/lib/fleet/status.db"
            continue
        assert set(entry) == {"name", "valueFrom"} and "secretKeyRef" in entry["valueFrom"], name
    volumes = {v["name"]: v for _, pod in pod_specs(objects) for v in pod["volumes"]}
    assert volumes["sops-age"]["secret"]["secretName"] == "sops-age"
    assert volumes["vault-ca"]["secret"]["secretName"] == "vault-ca"
    assert env["SOPS_AGE_KEY_FILE"]["value"] == "/etc/fleet/sops/keys.txt"
    assert env["VAULT_CACERT"]["value"] == "/etc/fleet/vault/ca.crt"


def test_the_cronjob_never_runs_twice_at_once_and_passes_the_sync_flags(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    cronjob = find(rendered["cronjob-defaults"], "CronJob")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["fleet"]
    assert container["args"] == [
        "--log-format",
        "json",
        "sync",
        REPO_URL,
        "--kubeconfig",
        "/etc/fleet/management/kubeconfig",
        "--argocd-context",
        "management",
        "--argocd-namespace",
        "argocd",
        "--executor",
        "local",
        "--concurrency",
        "16",
        "--cluster-timeout",
        "300",
        "--health-timeout",
        "120",
    ]


def test_serve_is_probed_on_healthz_and_readyz_behind_its_service(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["serve-with-sqlite"]
    deployment = find(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"] == {"type": "Recreate"}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:9] == [
        "--log-format",
        "json",
        "serve",
        REPO_URL,
        "--listen",
        "0.0.0.0:8080",
        "--every",
        "5m",
        "--kubeconfig",
    ]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    service = find(objects, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_serve_with_postgresql_reads_the_store_url_from_a_secret(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    deployment = find(rendered["serve-with-postgresql-and-two-replicas"], "Deployment")
    assert deployment["spec"]["replicas"] == 2 and "strategy" not in deployment["spec"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "--schedule" in container["args"] and "--every" not in container["args"]
    store = next(e for e in container["env"] if e["name"] == "FLEET_STORE")
    assert store["valueFrom"] == {"secretKeyRef": {"name": "fleet-store-url", "key": "url"}}
    assert not any("postgres" in a for a in container["args"])  # never the URL itself in argv


def test_the_raycluster_mode_connects_fleet_to_the_kuberay_head_service(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["cronjob-on-a-kuberay-raycluster"]
    args = find(objects, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0][
        "args"
    ]
    assert args[args.index("--executor") + 1] == "ray"
    assert args[args.index("--ray-address") + 1] == "ray://fleet-ray-head-svc.fleet-system.svc:10001"
    assert args[args.index("--ray-runtime-env") + 1] == "none"  # the Ray pods run fleet's image
    cluster = find(objects, "RayCluster", "fleet-ray")
    assert cluster["spec"]["headGroupSpec"]["rayStartParams"]["ray-client-server-port"] == "10001"
    head = cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    # Fleet's image serves the Ray Client there: it installs fleet's ray-cluster extra
    # (ray[default,client]; tests/test_deploy_containerfile.py, tests/test_sync_ray_client_address.py).
    assert head["image"] == "fleet:0.1.0" and {"name": "client", "containerPort": 10001} in head["ports"]


def test_the_rayjob_mode_creates_one_rayjob_per_run_whose_driver_is_fleet_sync(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = rendered["cronjob-starting-a-rayjob-per-run"]
    container = find(objects, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["kubectl"]
    assert container["args"] == [
        "--kubeconfig=/etc/fleet/management/kubeconfig",
        f"--namespace={NAMESPACE}",
        "create",
        "--filename=/etc/fleet/rayjob/rayjob.yaml",
    ]
    rayjobs_role = find(objects, "Role", "fleet-rayjobs")
    assert rayjobs_role["rules"] == [
        {"apiGroups": ["ray.io"], "resources": ["rayjobs"], "verbs": ["create", "get"]}
    ]
    job = rayjob_template(objects)
    assert job["metadata"]["generateName"] == "fleet-sync-"
    # KubeRay's submitter runs `ray job submit` against the head's job server (the dashboard port):
    # both run fleet's image, whose ray-cluster extra brings ray[default] (tests/test_sync_as_ray_job.py).
    submitter = job["spec"]["submitterPodTemplate"]["spec"]["containers"][0]
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert submitter["image"] == head["image"] == "fleet:0.1.0"
    assert {"name": "dashboard", "containerPort": 8265} in head["ports"]
    assert job["spec"]["shutdownAfterJobFinishes"] is True
    assert shlex.split(job["spec"]["entrypoint"]) == [
        "fleet",
        "--log-format",
        "json",
        "sync",
        REPO_URL,
        "--kubeconfig",
        "/etc/fleet/management/kubeconfig",
        "--argocd-context",
        "management",
        "--argocd-namespace",
        "argocd",
        "--executor",
        "ray",
        "--ray-runtime-env",
        "none",
        "--concurrency",
        "16",
        "--cluster-timeout",
        "300",
        "--health-timeout",
        "120",
    ]


def test_a_repository_url_from_a_secret_is_expanded_by_kubernetes_and_by_the_rayjob_shell() -> None:
    values = merge(
        MINIMAL,
        merge(
            POSTGRES,
            {
                "fleet": {
                    "repositorySecret": {"name": "fleet-repo"},
                    "extraArgs": ["--selector", "it's=quoted"],
                },
                "ray": {"enabled": True, "kind": "RayJob"},
            },
        ),
    )
    entrypoint = rayjob_template(render_chart(values))["spec"]["entrypoint"]
    assert '"${FLEET_REPOSITORY}"' in entrypoint
    assert shlex.split(entrypoint)[-2:] == ["--selector", "it's=quoted"]
    cronjob = find(
        render_chart(merge(MINIMAL, {"fleet": {"repositorySecret": {"name": "fleet-repo"}}})), "CronJob"
    )
    args = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[3] == "$(FLEET_REPOSITORY)"


def test_the_management_kubeconfig_uses_the_pods_projected_token() -> None:
    objects = render_chart(MINIMAL)
    kubeconfig = yaml.safe_load(find(objects, "ConfigMap", "fleet-management")["data"]["kubeconfig"])
    assert kubeconfig["users"][0]["user"] == {"tokenFile": "token"}
    assert kubeconfig["clusters"][0]["cluster"] == {
        "server": "https://kubernetes.default.svc",
        "certificate-authority": "ca.crt",
    }
    _, pod = pod_specs(objects)[0]
    sources = next(v for v in pod["volumes"] if v["name"] == "management")["projected"]["sources"]
    assert sources[1] == {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}
    assert sources[2]["configMap"]["name"] == "kube-root-ca.crt"


def test_helm_lint_in_strict_mode_reports_nothing_but_the_missing_icon() -> None:
    for values in (
        MINIMAL,
        merge(MINIMAL, {"mode": "serve", "networkPolicy": {"enabled": True}, "ray": {"enabled": True}}),
    ):
        report = helm_python.lint(CHART, values, strict=True, namespace=NAMESPACE)
        assert report["errors"] == []
        assert [m["error"] for m in report["messages"]] == ["icon is recommended"]
