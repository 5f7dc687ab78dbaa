"""The Vault client token stays alive: a renewable token is renewed (``renew-self``) once less than
half of its TTL is left, and AppRole / Kubernetes sessions log in again once their token expired."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.secrets import resolver, vault
from tests.clocks import ManualClock
from tests.servers.vault_server import VaultServer

REF = "ref+vault://secret/data/app/db#/password"


@pytest.fixture
def app(vault_env: VaultServer) -> VaultServer:
    vault_env.put_secret("secret", "app/db", {"password": "pw"})
    vault_env.put_policy("app", 'path "secret/data/app/*" { capabilities = ["read"] }')
    return vault_env


def test_a_short_lived_token_is_renewed_and_outlives_its_first_ttl(
    app: VaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", app.create_token(policies=["app"], ttl=2, renewable=True))
    clock = ManualClock()  # the client's clock; the server's moves with it (app.advance)

    def later(seconds: float) -> None:
        clock.advance(seconds)
        app.advance(seconds)

    resolve_with = resolver.Resolver(providers={"vault": vault.VaultProvider(clock=clock)})  # one session
    assert resolve_with.for_cluster(None).resolve_string(REF) == "pw"
    assert app.request_count("auth/token/renew-self") == 0
    later(1.2)  # less than half of the 2 s TTL left
    assert resolve_with.for_cluster(None).resolve_string(REF) == "pw"
    assert app.request_count("auth/token/renew-self") == 1
    later(1.1)  # past the token's first expiry
    assert resolve_with.for_cluster(None).resolve_string(REF) == "pw"
    assert app.request_count("auth/token/renew-self") == 2
    assert all(r.status == 200 for r in app.requests if r.path == "secret/data/app/db")


def test_a_long_lived_token_is_not_renewed_on_every_read(
    app: VaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", app.create_token(policies=["app"], ttl=3600))
    resolve_with = resolver.Resolver()
    for _ in range(3):
        resolve_with.for_cluster(None).resolve_string(REF)
    assert app.request_count("auth/token/renew-self") == 0


def test_an_approle_session_logs_in_again_after_its_token_expired(
    app: VaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    role_id, secret_id = app.add_approle("deployer", policies=["app"], token_ttl=600)
    monkeypatch.setenv("VAULT_SECRET_ID", secret_id)
    monkeypatch.setenv("VAULT_ROLE_ID", role_id)
    monkeypatch.setenv("VAULT_AUTH_METHOD", "approle")
    resolve_with = resolver.Resolver()
    assert resolve_with.for_cluster(None).resolve_string(REF) == "pw"
    app.advance(1200)  # the server expires the token while the client still thinks it is fresh
    assert resolve_with.for_cluster(None).resolve_string(REF) == "pw"
    assert app.request_count("auth/approle/login") == 2


def test_a_kubernetes_session_logs_in_again_when_its_token_runs_out(
    app: VaultServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("VAULT_TOKEN")
    jwt_file = tmp_path / "jwt"
    jwt_file.write_text("service-account-jwt")
    app.add_kubernetes_role("fleet", jwts=["service-account-jwt"], policies=["app"], ttl=600)
    settings = {"vault": {"auth_method": "kubernetes", "role": "fleet", "jwt_file": str(jwt_file)}}
    from fleet.secrets import providers

    resolve_with = resolver.Resolver(settings=providers.ProviderSettings(options=settings))
    assert resolve_with.for_cluster(None).resolve_string(REF) == "pw"
    for token in list(app.tokens):
        if token != "root":
            app.revoke_token(token)
    assert resolve_with.for_cluster(None).resolve_string(REF) == "pw"
    assert app.request_count("auth/kubernetes/login") == 2
