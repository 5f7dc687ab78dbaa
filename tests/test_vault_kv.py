"""Reading Vault KV v1 and v2 secrets through hvac, with vals' path forms: ``data/`` in the path or
not, ``#/key`` or the last path segment as the key, ``?version=N``, and ``decode=base64``."""

from __future__ import annotations

import base64

import pytest

from fleet.secrets import providers, refs, resolver
from tests.servers.vault_server import VaultServer


@pytest.fixture
def kv(vault_env: VaultServer) -> VaultServer:
    vault_env.put_secret("secret", "app/db", {"password": "first-pw", "user": "app"})
    vault_env.put_secret("secret", "app/db", {"password": "second-pw", "user": "app", "port": 5432})
    vault_env.put_secret("secret", "app/config", {"nested": {"tls": {"enabled": True}}, "hosts": ["a", "b"]})
    vault_env.enable_kv("legacy", version=1)
    vault_env.put_secret("legacy", "team/api", {"key": "legacy-api-key"})
    vault_env.put_secret(
        "secret",
        "app/bin",
        {"cert": base64.b64encode(b"-----BEGIN CERT-----").decode(), "plain": "not base64!"},
    )
    return vault_env


def resolve(text: str) -> object:
    return resolver.Resolver().for_cluster(None).resolve_value(text)


READ_CASES = [
    ("kv2-data-form-fragment", "ref+vault://secret/data/app/db#/password", "second-pw"),
    ("kv2-without-data-segment", "ref+vault://secret/app/db#/password", "second-pw"),
    ("kv2-last-segment-is-key", "ref+vault://secret/data/app/db/user", "app"),
    ("kv2-older-version", "ref+vault://secret/data/app/db?version=1#/password", "first-pw"),
    ("kv2-current-version-explicit", "ref+vault://secret/data/app/db?version=2#/password", "second-pw"),
    ("kv2-number-keeps-type", "ref+vault://secret/data/app/db#/port", 5432),
    ("kv2-nested-fragment", "ref+vault://secret/data/app/config#/nested/tls/enabled", True),
    ("kv2-list-index", "ref+vault://secret/data/app/config#/hosts/1", "b"),
    ("kv1-fragment", "ref+vault://legacy/team/api#/key", "legacy-api-key"),
    ("kv1-last-segment-is-key", "ref+vault://legacy/team/api/key", "legacy-api-key"),
    ("decode-base64", "ref+vault://secret/data/app/bin?decode=base64#/cert", "-----BEGIN CERT-----"),
    (
        "decode-base64-last-segment",
        "ref+vault://secret/data/app/bin/cert?decode=base64",
        "-----BEGIN CERT-----",
    ),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in READ_CASES], ids=[c[0] for c in READ_CASES])
def test_kv_secrets_are_read_with_vals_path_forms(kv: VaultServer, text: str, expected: object) -> None:
    assert resolve(text) == expected


def test_embedded_values_are_written_as_text(kv: VaultServer) -> None:
    text = "postgres://ref+vault://secret/data/app/db#/user+:ref+vault://secret/data/app/db#/password+@db:ref+vault://secret/data/app/db#/port"
    assert resolver.Resolver().for_cluster(None).resolve_string(text) == "postgres://app:second-pw@db:5432"


MISSING_CASES = [
    ("missing-path", "ref+vault://secret/data/app/nothing#/password", "not found in Vault"),
    ("missing-key", "ref+vault://secret/data/app/db#/token", "has no key #/token"),
    ("missing-key-last-segment", "ref+vault://secret/data/app/db/token", "has no key 'token'"),
    ("missing-version", "ref+vault://secret/data/app/db?version=7#/password", "not found in Vault"),
    ("missing-kv1-path", "ref+vault://legacy/team/none#/key", "not found in Vault"),
]


@pytest.mark.parametrize("text, message", [c[1:] for c in MISSING_CASES], ids=[c[0] for c in MISSING_CASES])
def test_missing_secrets_keys_and_versions_are_secret_not_found(
    kv: VaultServer, text: str, message: str
) -> None:
    with pytest.raises(providers.SecretNotFound, match=message) as caught:
        resolve(text)
    assert refs.parse(text).display() in str(caught.value)
    assert not caught.value.retryable


def test_a_deleted_version_is_not_found_and_says_so(kv: VaultServer) -> None:
    import hvac

    hvac.Client(url=kv.url, token="root").secrets.kv.v2.delete_secret_versions(
        path="app/db", versions=[2], mount_point="secret"
    )
    with pytest.raises(providers.SecretNotFound, match="version 2 of the secret is deleted"):
        resolve("ref+vault://secret/data/app/db#/password")
    assert resolve("ref+vault://secret/data/app/db?version=1#/password") == "first-pw"


def test_version_on_a_kv1_mount_is_a_bad_reference(kv: VaultServer) -> None:
    with pytest.raises(refs.BadReference, match="needs a KV v2 mount"):
        resolve("ref+vault://legacy/team/api?version=1#/key")


def test_decode_base64_fails_only_for_the_selected_key_that_is_not_base64(kv: VaultServer) -> None:
    with pytest.raises(providers.ProviderError, match="base64 decode failed for key 'plain'") as caught:
        resolve("ref+vault://secret/data/app/bin?decode=base64#/plain")
    assert "not base64!" not in str(caught.value)


def test_a_path_without_a_key_and_without_a_fragment_is_a_bad_reference(kv: VaultServer) -> None:
    with pytest.raises(refs.BadReference, match="needs <secret path>/<key>"):
        resolve("ref+vault://onlyone")


def test_the_address_comes_from_the_query_when_given(
    kv: VaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:9")  # nothing listens there
    assert resolve(f"ref+vault://secret/data/app/db?address={kv.url}#/user") == "app"


def test_the_kv_version_preflight_runs_once_per_mount(kv: VaultServer) -> None:
    context = resolver.Resolver().for_cluster(None)
    for text in (
        "ref+vault://secret/data/app/db#/user",
        "ref+vault://secret/data/app/config#/hosts/0",
        "ref+vault://secret/data/app/bin#/plain",
    ):
        context.resolve_string(text)
    assert kv.request_count("sys/internal/ui/mounts/") == 1
