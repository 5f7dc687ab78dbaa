"""Vault failures become fleet errors that name the reference and say whether to retry:
403 -> AccessDenied, 404 -> SecretNotFound (both permanent), unreachable -> ProviderUnavailable."""

from __future__ import annotations

import socket

import pytest

from fleet import errors
from fleet.secrets import providers, refs, resolver
from tests.servers.vault_server import VaultServer

REF = "ref+vault://secret/data/other-team/db#/password"


@pytest.fixture
def limited(vault_env: VaultServer, monkeypatch: pytest.MonkeyPatch) -> VaultServer:
    vault_env.put_secret("secret", "app/db", {"password": "app-pw"})
    vault_env.put_secret("secret", "other-team/db", {"password": "other-pw"})
    vault_env.put_policy("app", 'path "secret/data/app/*" { capabilities = ["read"] }')
    monkeypatch.setenv("VAULT_TOKEN", vault_env.create_token(policies=["app"]))
    return vault_env


def resolve(text: str) -> str:
    return resolver.Resolver().for_cluster(None).resolve_string(text)


def test_a_path_the_policy_denies_is_access_denied_naming_the_reference(limited: VaultServer) -> None:
    assert resolve("ref+vault://secret/data/app/db#/password") == "app-pw"
    with pytest.raises(providers.AccessDenied) as caught:
        resolve(REF)
    message = str(caught.value)
    assert REF in message and "permission denied" in message and "HTTP 403" in message
    assert isinstance(caught.value, errors.PermanentError) and not caught.value.retryable
    assert caught.value.ref == REF
    assert "other-pw" not in message


def test_a_denied_path_does_not_make_the_provider_log_in_again_with_token_auth(limited: VaultServer) -> None:
    with pytest.raises(providers.AccessDenied):
        resolve(REF)
    # one lookup-self at login, one to tell a denial from a dead token
    assert limited.request_count("auth/token/lookup-self") == 2


def test_a_missing_path_is_secret_not_found(limited: VaultServer) -> None:
    with pytest.raises(providers.SecretNotFound, match=r"not found in Vault .* \(HTTP 404\)") as caught:
        resolve("ref+vault://secret/data/app/gone#/password")
    assert isinstance(caught.value, errors.PermanentError)


def test_an_expired_token_is_access_denied_saying_it_expired(
    limited: VaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", limited.create_token(policies=["app"], ttl=600, renewable=False))
    resolve_with = resolver.Resolver()  # one process-wide session, as in a long-running sync
    assert (
        resolve_with.for_cluster(None).resolve_string("ref+vault://secret/data/app/db#/password") == "app-pw"
    )
    limited.advance(1200)  # the server's clock: the token is past its TTL
    with pytest.raises(providers.AccessDenied, match="invalid or expired"):
        resolve_with.for_cluster(None).resolve_string("ref+vault://secret/data/app/db#/password")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_vault_is_a_temporary_error_with_a_retry_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_ADDR", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("VAULT_TOKEN", "whatever")
    with pytest.raises(providers.ProviderUnavailable, match="cannot reach Vault") as caught:
        resolve(REF)
    assert isinstance(caught.value, errors.TemporaryError)
    assert caught.value.retryable and caught.value.retry_after


def test_no_address_is_a_bad_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    with pytest.raises(refs.BadReference, match="no Vault address"):
        resolve(REF)
