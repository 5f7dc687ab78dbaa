"""Vault authentication through hvac against the Vault API test server: token (env, files, a named
env var), AppRole and Kubernetes login, and clear errors for refused credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.secrets import providers, resolver
from tests.servers.vault_server import VaultServer

READ_APP = 'path "secret/data/app/*" { capabilities = ["read"] }'
REF = "ref+vault://secret/data/app/db#/password"


@pytest.fixture
def seeded(vault_env: VaultServer) -> VaultServer:
    vault_env.put_secret("secret", "app/db", {"password": "s3cret-pw", "user": "app"})
    vault_env.put_policy("app", READ_APP)
    return vault_env


def resolve(text: str = REF, **options: str) -> str:
    settings = providers.ProviderSettings(options={"vault": options}) if options else None
    return resolver.Resolver(settings=settings).for_cluster(None).resolve_string(text)


def logins(server: VaultServer, method: str) -> int:
    return server.request_count(f"auth/{method}/login")


def test_token_from_vault_token(seeded: VaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_TOKEN", seeded.create_token(policies=["app"]))
    assert resolve() == "s3cret-pw"


def test_token_from_the_home_token_file(seeded: VaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    (Path.home() / ".vault-token").write_text(seeded.create_token(policies=["app"]) + "\n")
    assert resolve() == "s3cret-pw"


def test_token_from_token_file_and_token_env_parameters(
    seeded: VaultServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    token_file = tmp_path / "token"
    token_file.write_text(seeded.create_token(policies=["app"]))
    assert resolve(f"ref+vault://secret/data/app/db?token_file={token_file}#/user") == "app"
    monkeypatch.setenv("TEAM_VAULT_TOKEN", seeded.create_token(policies=["app"]))
    assert resolve("ref+vault://secret/data/app/db?token_env=TEAM_VAULT_TOKEN#/password") == "s3cret-pw"


def test_no_token_anywhere_is_access_denied_saying_where_to_put_one(
    seeded: VaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    with pytest.raises(providers.AccessDenied, match="no Vault token"):
        resolve()


def test_approle_login_from_settings_with_secret_id_from_env(
    seeded: VaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    role_id, secret_id = seeded.add_approle("deployer", policies=["app"], token_ttl=600)
    monkeypatch.setenv("DEPLOYER_SECRET_ID", secret_id)
    value = resolve(auth_method="approle", role_id=role_id, secret_id_env="DEPLOYER_SECRET_ID")
    assert value == "s3cret-pw"
    assert logins(seeded, "approle") == 1


def test_approle_login_from_vals_style_query_and_env(
    seeded: VaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    role_id, secret_id = seeded.add_approle("ci", policies=["app"], mount="ci-approle")
    monkeypatch.setenv("VAULT_SECRET_ID", secret_id)
    text = f"ref+vault://secret/data/app/db?auth_method=approle&role_id={role_id}&mount=ci-approle#/password"
    assert resolve(text) == "s3cret-pw"
    assert logins(seeded, "ci-approle") == 1


def test_a_wrong_approle_secret_id_is_access_denied(
    seeded: VaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    role_id, _ = seeded.add_approle("deployer", policies=["app"])
    monkeypatch.setenv("VAULT_SECRET_ID", "not-the-secret-id")
    with pytest.raises(providers.AccessDenied, match="refused the login") as caught:
        resolve(auth_method="approle", role_id=role_id)
    assert "not-the-secret-id" not in str(caught.value)


def test_kubernetes_login_with_a_service_account_jwt_file(
    seeded: VaultServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    jwt = "eyJhbGciOiJSUzI1NiJ9.fleet-sa.sig"
    seeded.add_kubernetes_role("fleet", jwts=[jwt], policies=["app"], ttl=300)
    jwt_file = tmp_path / "token"
    jwt_file.write_text(jwt)
    monkeypatch.setenv("VAULT_AUTH_METHOD", "kubernetes")
    monkeypatch.setenv("VAULT_KUBERNETES_JWT_TOKEN_PATH", str(jwt_file))
    # vals spells the Kubernetes role "role_id"
    assert resolve("ref+vault://secret/data/app/db?role_id=fleet#/password") == "s3cret-pw"
    assert logins(seeded, "kubernetes") == 1


def test_kubernetes_login_with_a_jwt_the_role_does_not_accept_is_denied(
    seeded: VaultServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    seeded.add_kubernetes_role("fleet", jwts=["the-right-jwt"], policies=["app"])
    jwt_file = tmp_path / "token"
    jwt_file.write_text("some-other-jwt")
    with pytest.raises(providers.AccessDenied) as caught:
        resolve(auth_method="kubernetes", role="fleet", jwt_file=str(jwt_file))
    assert "some-other-jwt" not in str(caught.value)


def test_an_unknown_auth_method_is_a_bad_reference(seeded: VaultServer) -> None:
    from fleet.secrets import refs

    with pytest.raises(refs.BadReference, match="unknown auth_method 'ldap'"):
        resolve("ref+vault://secret/data/app/db?auth_method=ldap#/password")
