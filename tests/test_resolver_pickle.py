"""A Resolver crosses process boundaries (Ray workers) as configuration only: no values, no live
clients, no tokens travel with it, and the receiving process resolves on its own."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

from fleet import models
from fleet.secrets import providers, refs, resolver
from tests.servers.vault_server import VaultServer

REF = "ref+vault://secret/data/app/db#/password"
CLUSTER = models.Cluster(name="prod", server="https://prod", labels={"env": "prod"})


@pytest.fixture
def vault(vault_env: VaultServer) -> VaultServer:
    vault_env.put_secret("secret", "app/db", {"password": "Pickle-pw-Value"})
    return vault_env


def test_a_used_resolver_pickles_without_values_clients_or_tokens(vault: VaultServer) -> None:
    resolve_with = resolver.Resolver(ttl=600)
    assert resolve_with.for_cluster(CLUSTER).resolve_string(REF) == "Pickle-pw-Value"
    data = pickle.dumps(resolve_with)
    assert b"Pickle-pw-Value" not in data
    assert b"root" not in data  # the Vault token of the session
    copy = pickle.loads(data)
    assert copy.schemes == resolve_with.schemes and copy.ttl == 600
    vault.reset_requests()
    assert copy.for_cluster(CLUSTER).resolve_string(REF) == "Pickle-pw-Value"
    assert vault.request_count("secret/data/app/db") == 1  # the copy started with an empty cache


def test_explicit_provider_instances_and_settings_travel(vault: VaultServer) -> None:
    settings = providers.ProviderSettings(options={"vault": {"address": vault.url}})
    resolve_with = resolver.Resolver({"echo": providers.EchoProvider(), "vault": "vault"}, settings=settings)
    copy = pickle.loads(pickle.dumps(resolve_with))
    assert copy.for_cluster(CLUSTER).resolve_string("ref+echo://x/{{metadata.labels.env}}") == "x/prod"
    assert copy.settings.for_scheme("vault") == {"address": vault.url}


def test_errors_pickle_with_their_class_message_and_retry_hint() -> None:
    for error in (
        providers.SecretNotFound("cluster a: ref+vault://kv/x#/y: not found", ref="ref+vault://kv/x#/y"),
        providers.ProviderUnavailable("vault down", ref="ref+vault://kv/x", retry_after=10.0),
        refs.BadReference("ref+x://y: unknown scheme", ref="ref+x://y"),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error) and copy.ref == error.ref and copy.retry_after == error.retry_after


def _resolve_in_worker(data: bytes) -> str:
    worker_resolver = pickle.loads(data)
    return worker_resolver.for_cluster(CLUSTER).resolve_string(REF)


def test_a_worker_process_builds_its_own_providers_from_the_pickled_config(vault: VaultServer) -> None:
    data = pickle.dumps(resolver.Resolver())
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        assert pool.submit(_resolve_in_worker, data).result(timeout=120) == "Pickle-pw-Value"
