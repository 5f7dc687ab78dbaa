"""A failing reference fails only its own object, with an error that names the cluster, the object,
the field and the reference, and never the value: not in the message, the traceback or the logs."""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Iterator

import pytest

from fleet import errors, models
from fleet.secrets import providers, refs, resolver
from tests.servers.vault_server import VaultServer

CLUSTER = models.Cluster(name="prod", server="https://prod")
PLAINTEXTS = ("pw-Xq9-plaintext", "user-Zk2-plaintext", "not: [valid yaml Qm7-plaintext")


@pytest.fixture
def vault(vault_env: VaultServer) -> VaultServer:
    vault_env.put_secret(
        "secret", "app/db", {"user": PLAINTEXTS[1], "password": PLAINTEXTS[0], "odd": PLAINTEXTS[2]}
    )
    vault_env.put_policy("app", 'path "secret/data/app/*" { capabilities = ["read"] }')
    return vault_env


@pytest.fixture
def fleet_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    # the CLI may have set the fleet logger not to propagate; listen on it directly
    logger = logging.getLogger("fleet")
    logger.addHandler(caplog.handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(previous)


def secret(name: str, password_ref: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "shop"},
        "data": {"password": base64.b64encode(password_ref.encode()).decode()},
    }


def test_a_missing_secret_fails_only_its_object(vault: VaultServer) -> None:
    objects = [
        secret("good", "ref+vault://secret/data/app/db#/password"),
        secret("broken", "ref+vault://secret/data/app/missing#/password"),
        {
            "kind": "ConfigMap",
            "metadata": {"name": "cm"},
            "data": {"user": "ref+vault://secret/data/app/db#/user"},
        },
    ]
    results = resolver.Resolver().for_cluster(CLUSTER).resolve_all(objects)
    assert [r.ok for r in results] == [True, False, True]
    assert results[2].obj is not None and results[2].obj["data"]["user"] == PLAINTEXTS[1]
    error = results[1].error
    assert isinstance(error, providers.SecretNotFound) and isinstance(error, errors.PermanentError)
    assert str(error).startswith(
        "cluster prod: Secret shop/broken field data.password: ref+vault://secret/data/app/missing#/password"
    )


FAILURES = [
    ("missing-key", "ref+vault://secret/data/app/db#/nope", providers.SecretNotFound),
    ("denied", "ref+vault://secret/data/other/db#/password", providers.AccessDenied),
    ("fragment-into-a-string", "ref+vault://secret/data/app/db#/password/deeper", providers.ProviderError),
    ("not-yaml", "ref+vault://secret/data/app/db?decode=base64#/odd", providers.ProviderError),
    ("unknown-tag", "ref+vault://secret/data/{{nope}}/db#/password", refs.BadReference),
    ("unknown-scheme", "ref+gcpsecrets://projects/p/secrets/x", refs.BadReference),
]


@pytest.mark.parametrize("ref, kind", [c[1:] for c in FAILURES], ids=[c[0] for c in FAILURES])
def test_errors_and_logs_never_carry_a_secret_value(
    vault: VaultServer,
    monkeypatch: pytest.MonkeyPatch,
    fleet_logs: pytest.LogCaptureFixture,
    ref: str,
    kind: type,
) -> None:
    monkeypatch.setenv("VAULT_TOKEN", vault.create_token(policies=["app"]))
    context = resolver.Resolver().for_cluster(CLUSTER)
    # values were read (and logged about) before the failure
    assert context.resolve_string("ref+vault://secret/data/app/db#/password") == PLAINTEXTS[0]
    assert context.resolve_string("ref+vault://secret/data/app/db#/user") == PLAINTEXTS[1]
    with pytest.raises(kind) as caught:
        context.resolve_object(
            {"kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": f"pre {ref} post"}}
        )
    shown = "".join(traceback.format_exception(caught.value)) + repr(caught.value) + str(caught.value.args)
    assert "cluster prod: ConfigMap cm field data.k" in str(caught.value)
    assert any("secret reference resolved" in r.getMessage() for r in fleet_logs.records)
    for plaintext in PLAINTEXTS:
        assert plaintext not in shown
        assert plaintext not in fleet_logs.text
        for record in fleet_logs.records:
            assert plaintext not in str(getattr(record, "fields", ""))


def test_errors_keep_their_class_and_retry_hint_through_the_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:9")
    monkeypatch.setenv("VAULT_TOKEN", "t")
    with pytest.raises(providers.ProviderUnavailable) as caught:
        resolver.Resolver().for_cluster(CLUSTER).resolve_object(
            {"kind": "ConfigMap", "data": {"k": "ref+vault://kv/a/b"}}
        )
    assert caught.value.retryable and caught.value.retry_after == 10.0
    assert caught.value.ref == "ref+vault://kv/a/b"


def test_a_scheme_that_is_not_enabled_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / "token").write_text("worker-vault-token")
    context = resolver.Resolver().for_cluster(
        CLUSTER
    )  # "file" is opt-in: manifests must not read worker files
    with pytest.raises(refs.BadReference, match="scheme 'file' is not enabled"):
        context.resolve_string(f"ref+file://{tmp_path}/token")
