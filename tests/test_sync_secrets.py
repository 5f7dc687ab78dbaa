"""Secrets end to end on the simulator: Vault (a per-cluster path), AWS Secrets Manager, a
SOPS-encrypted manifest and a Secret delivered as a SealedSecret sealed per cluster; values are
resolved in the worker, rotation propagates, and a missing secret fails only its Application."""

from __future__ import annotations

import pytest

from fleet import results
from fleet.status import Reason
from tests import secrets_sync_helpers as helpers


@pytest.fixture
def secret_fleet(make_fleet, sops_env, vault_env, moto_server):
    # sops_env first: it clears VAULT_* variables, which vault_env then sets.
    env = make_fleet("secrets", clusters=2)
    return helpers.setup(env, vault_env, moto_server)


def wait_for_payments(env, cluster: str, timeout: float = 10.0) -> str | None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = helpers.secret_value(env, cluster, "payments", "token")
        if value is not None:
            return value
        time.sleep(0.05)
    return None


@pytest.mark.parametrize(
    "name, key, source",
    [
        ("db", "password", "password"),
        ("api", "key", "api"),
        ("from-sops", "license", None),
        ("webhook", "token", "sops-ref"),
    ],
    ids=["vault", "aws", "sops", "sops-reference"],
)
def test_each_cluster_gets_its_own_resolved_values(
    secret_fleet, name: str, key: str, source: str | None
) -> None:
    env = secret_fleet.env
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    for cluster in env.cluster_names:
        if source == "sops-ref":
            expected = helpers.SOPS_REF_VALUE
        else:
            expected = secret_fleet.values[cluster][source] if source else helpers.SOPS_VALUE
        assert helpers.secret_value(env, cluster, name, key) == expected


def test_sealed_delivery_applies_a_sealed_secret_per_cluster_that_its_controller_opens(secret_fleet) -> None:
    env = secret_fleet.env
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    ciphertexts = set()
    for cluster in env.cluster_names:
        sealed = env.sim.get_object(cluster, "bitnami.com/v1alpha1", "SealedSecret", "shop", "payments")
        ciphertexts.add(sealed["spec"]["encryptedData"]["token"])
        assert wait_for_payments(env, cluster) == secret_fleet.values[cluster]["token"]
        secret = env.sim.get_object(cluster, "v1", "Secret", "shop", "payments")
        assert [o["kind"] for o in secret["metadata"].get("ownerReferences", [])] == ["SealedSecret"]
        (row,) = [r for r in run.app(cluster, f"shop-{cluster}").resources if r.name == "payments"]
        assert row.kind == "SealedSecret"
    assert len(ciphertexts) == 2  # sealed with each cluster's own key


def test_an_unchanged_secret_fleet_resyncs_without_changes(secret_fleet) -> None:
    env = secret_fleet.env
    assert env.sync().exit_code == 0
    for cluster in env.cluster_names:
        wait_for_payments(env, cluster)
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    changed = [
        (a.cluster, r.ref)
        for a in run.run_result.apps()
        for r in a.resources
        if r.action is not results.Action.UNCHANGED
    ]
    assert changed == []


def test_a_rotated_value_is_applied_by_the_next_sync(secret_fleet, vault_env) -> None:
    env = secret_fleet.env
    assert env.sync().exit_code == 0
    vault_env.put_secret("secret", "c001/db", {"password": "rotated-password-c001-Lx04"})
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    (row,) = [r for r in run.app("c001", "shop-c001").resources if r.name == "db"]
    assert row.action is results.Action.CONFIGURED and "secret references" in row.message
    assert "rotated-password-c001-Lx04" not in row.diff and "***" in row.diff
    assert helpers.secret_value(env, "c001", "db", "password") == "rotated-password-c001-Lx04"
    assert helpers.secret_value(env, "c002", "db", "password") == secret_fleet.values["c002"]["password"]


def test_a_missing_secret_fails_only_its_application_naming_the_reference(secret_fleet) -> None:
    env = secret_fleet.env
    env.write(
        "other.yaml",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "needs-missing"},
            "spec": {
                "project": "default",
                "destination": {"name": "c001", "namespace": "missing"},
                "source": {"repoURL": "https://git.example.com/fleet.git", "path": "apps/missing"},
                "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
            },
        },
    )
    env.write(
        "apps/missing/secret.yaml",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "x"},
            "stringData": {"v": "ref+vault://secret/data/nowhere/db#/password"},
        },
    )
    run = env.sync()
    assert run.exit_code == 1
    failed = run.app("c001", "needs-missing")
    assert failed.reason is Reason.SECRET_RESOLUTION_FAILED
    assert "secret/data/nowhere/db" in failed.message and "Secret missing/x" in failed.message
    assert run.app("c001", "shop-c001").ok and run.app("c002", "shop-c002").ok
