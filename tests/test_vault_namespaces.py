"""Vault Enterprise namespaces: ``?namespace=`` or ``VAULT_NAMESPACE`` is sent as the
``X-Vault-Namespace`` header, and each namespace has its own mounts, secrets and policies."""

from __future__ import annotations

import pytest

from fleet.secrets import providers, resolver
from tests.servers.vault_server import VaultServer


@pytest.fixture
def tenants(vault_env: VaultServer) -> VaultServer:
    for team, password in (("team-a", "a-pw"), ("team-b", "b-pw")):
        vault_env.create_namespace(team)
        vault_env.enable_kv("kv", version=2, namespace=team)
        vault_env.put_secret("kv", "db", {"password": password}, namespace=team)
    return vault_env


def resolve(text: str) -> str:
    return resolver.Resolver().for_cluster(None).resolve_string(text)


CASES = [
    ("team-a", "ref+vault://kv/data/db?namespace=team-a#/password", "a-pw"),
    ("team-b", "ref+vault://kv/data/db?namespace=team-b#/password", "b-pw"),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_namespace_parameter_selects_the_tenant(tenants: VaultServer, text: str, expected: str) -> None:
    assert resolve(text) == expected
    reads = [r for r in tenants.requests if r.path == "kv/data/db"]
    assert [r.namespace for r in reads] == [text.split("namespace=")[1].split("#")[0]]


def test_vault_namespace_from_the_environment(tenants: VaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_NAMESPACE", "team-b")
    assert resolve("ref+vault://kv/data/db#/password") == "b-pw"


def test_without_a_namespace_the_tenant_mount_does_not_exist(tenants: VaultServer) -> None:
    with pytest.raises(providers.SecretNotFound):
        resolve("ref+vault://kv/data/db#/password")


def test_a_token_of_one_namespace_cannot_read_another(
    tenants: VaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenants.put_policy("reader", 'path "kv/data/*" { capabilities = ["read"] }', namespace="team-a")
    monkeypatch.setenv("VAULT_TOKEN", tenants.create_token(policies=["reader"], namespace="team-a"))
    assert resolve("ref+vault://kv/data/db?namespace=team-a#/password") == "a-pw"
    with pytest.raises(providers.AccessDenied, match="namespace team-b"):
        resolve("ref+vault://kv/data/db?namespace=team-b#/password")


def test_approle_login_happens_inside_the_namespace(
    tenants: VaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    tenants.put_policy("reader", {"path": {"kv/data/*": {"capabilities": ["read"]}}}, namespace="team-a")
    role_id, secret_id = tenants.add_approle("deploy", policies=["reader"], namespace="team-a")
    monkeypatch.setenv("VAULT_SECRET_ID", secret_id)
    text = f"ref+vault://kv/data/db?namespace=team-a&auth_method=approle&role_id={role_id}#/password"
    assert resolve(text) == "a-pw"
    login = [r for r in tenants.requests if r.path == "auth/approle/login"]
    assert [(r.namespace, r.status) for r in login] == [("team-a", 200)]
