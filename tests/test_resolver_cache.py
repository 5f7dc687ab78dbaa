"""Caching without persistence: a document is read once per run and cluster; in long-running mode
a TTL cache spans runs, and rotation is seen after expiry, ``refresh()`` or a new refresh
generation (``fleet secrets refresh``), never before. Backend reads are counted at the server."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from fleet import models
from fleet.secrets import resolver
from tests.servers.vault_server import VaultServer

REF = "ref+vault://secret/data/app/db#/password"
A = models.Cluster(name="a", server="https://a")
B = models.Cluster(name="b", server="https://b")


class Clock:
    """A hand-driven monotonic clock for TTL expiry."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def vault(vault_env: VaultServer) -> VaultServer:
    vault_env.put_secret("secret", "app/db", {"user": "app", "password": "pw-1"})
    return vault_env


def reads(server: VaultServer) -> int:
    return server.request_count("secret/data/app/db")


def rotate(server: VaultServer, password: str) -> None:
    server.put_secret("secret", "app/db", {"user": "app", "password": password})


def test_a_document_is_read_once_per_run_however_often_it_is_referenced(vault: VaultServer) -> None:
    manifest = {
        "kind": "ConfigMap",
        "data": {"a": REF, "b": REF, "c": f"x-{REF}+-y", "user": "ref+vault://secret/data/app/db#/user"},
    }
    context = resolver.Resolver().for_cluster(A)
    resolved, _ = context.resolve_object(manifest)
    context.resolve_object(manifest)
    assert resolved["data"] == {"a": "pw-1", "b": "pw-1", "c": "x-pw-1-y", "user": "app"}
    assert reads(vault) == 1


def test_each_cluster_and_each_run_has_its_own_cache(vault: VaultServer) -> None:
    resolve_with = resolver.Resolver()  # no ttl: nothing outlives a run
    resolve_with.for_cluster(A).resolve_string(REF)
    resolve_with.for_cluster(B).resolve_string(REF)
    assert reads(vault) == 2
    rotate(vault, "pw-2")
    assert resolve_with.for_cluster(A).resolve_string(REF) == "pw-2"
    assert reads(vault) == 3


def test_concurrent_lookups_of_one_document_read_it_once(vault: VaultServer) -> None:
    context = resolver.Resolver().for_cluster(A)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(context.resolve_string(REF))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["pw-1"] * 8
    assert reads(vault) == 1


def test_the_ttl_cache_hides_a_rotation_until_the_value_expires(vault: VaultServer) -> None:
    clock = Clock()
    resolve_with = resolver.Resolver(ttl=300, clock=clock)
    assert resolve_with.for_cluster(A).resolve_string(REF) == "pw-1"
    rotate(vault, "pw-2")
    clock.now += 299
    assert resolve_with.for_cluster(A).resolve_string(REF) == "pw-1"  # next run, still cached
    assert reads(vault) == 1
    clock.now += 2
    assert resolve_with.for_cluster(A).resolve_string(REF) == "pw-2"
    assert reads(vault) == 2


def test_refresh_drops_the_ttl_cache_at_once(vault: VaultServer) -> None:
    resolve_with = resolver.Resolver(ttl=3600)
    assert resolve_with.for_cluster(A).resolve_string(REF) == "pw-1"
    rotate(vault, "pw-2")
    assert resolve_with.for_cluster(A).resolve_string(REF) == "pw-1"
    resolve_with.refresh()
    assert resolve_with.for_cluster(A).resolve_string(REF) == "pw-2"


def test_a_new_refresh_generation_drops_the_cache_at_the_next_run(vault: VaultServer, tmp_path: Path) -> None:
    generation = resolver.generation_path(tmp_path)
    resolve_with = resolver.Resolver(ttl=3600, generation_file=generation)
    assert resolve_with.for_cluster(A).resolve_string(REF) == "pw-1"
    rotate(vault, "pw-2")
    assert resolve_with.for_cluster(A).resolve_string(REF) == "pw-1"
    assert resolver.bump_generation(generation) == 1
    assert resolve_with.for_cluster(A).resolve_string(REF) == "pw-2"
    assert resolve_with.for_cluster(A).resolve_string(REF) == "pw-2"
    assert reads(vault) == 2
    assert "pw" not in generation.read_text()  # a counter and a timestamp, never a value


def test_the_refresh_generation_file_must_be_readable(tmp_path: Path) -> None:
    from fleet import errors

    bad = tmp_path / "secrets-generation.json"
    bad.write_text("not json")
    with pytest.raises(errors.InputError, match="secrets-generation.json"):
        resolver.Resolver(generation_file=bad).for_cluster(A)
