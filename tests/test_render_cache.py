"""The render cache: one render per source and parameters whatever the cluster, memory and disk
tiers, no caching without a revision, and SOPS plaintext never cached (decrypted after the cache)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from fleet import errors, render
from fleet.render import cache
from tests.render_helpers import DATA


def fresh() -> cache.TieredCache:
    return cache.TieredCache(cache.MemoryCache())


def run(source: dict[str, Any], store: Any, **kwargs: Any) -> list[dict[str, Any]]:
    options: dict[str, Any] = {
        "source_dir": DATA,
        "app_name": "guestbook-eu1",
        "namespace": "shop",
        "revision": "a" * 40,
        "cache": store,
        "decrypt": False,
    }
    options.update(kwargs)
    return render.render_source(source, **options)


def test_the_same_source_for_many_clusters_renders_once() -> None:
    store = fresh()
    source = {"repoURL": "https://git.example.com/r.git", "path": "kustomize/overlays/prod"}
    first = run(source, store)
    for cluster in range(5):
        assert run(source, store, app_name=f"guestbook-c{cluster}", namespace=f"ns{cluster}") == first
    assert (store.memory.misses, store.memory.hits) == (1, 5)


MISS_CASES = [
    ("other-revision", {"revision": "b" * 40}),
    ("other-path", {"source": {"repoURL": "https://git.example.com/r.git", "path": "kustomize/base"}}),
    (
        "other-parameters",
        {
            "source": {
                "repoURL": "https://git.example.com/r.git",
                "path": "kustomize/overlays/prod",
                "kustomize": {"namePrefix": "x-"},
            }
        },
    ),
    (
        "other-repository",
        {"source": {"repoURL": "https://git.example.com/fork.git", "path": "kustomize/overlays/prod"}},
    ),
]


@pytest.mark.parametrize(("name", "change"), MISS_CASES, ids=[c[0] for c in MISS_CASES])
def test_anything_that_changes_the_output_changes_the_key(name: str, change: dict) -> None:
    store = fresh()
    source = {"repoURL": "https://git.example.com/r.git", "path": "kustomize/overlays/prod"}
    run(source, store)
    run(change.pop("source", source), store, **change)
    assert store.memory.misses == 2


def test_helm_release_name_defaults_to_the_application_so_it_is_part_of_the_key() -> None:
    store = fresh()
    source = {"path": "helm/guestbook"}
    run(source, store, app_name="a")
    run(source, store, app_name="b")
    pinned = {"path": "helm/guestbook", "helm": {"releaseName": "web"}}
    run(pinned, store, app_name="a")
    run(pinned, store, app_name="b")
    assert (store.memory.misses, store.memory.hits) == (3, 1)


def test_without_a_revision_nothing_is_cached() -> None:
    store = fresh()
    run({"path": "directory/plain"}, store, revision="")
    run({"path": "directory/plain"}, store, revision="")
    assert len(store.memory) == 0


def test_hits_return_fresh_objects() -> None:
    store = fresh()
    first = run({"path": "directory/plain"}, store)
    first[0]["metadata"]["name"] = "changed"
    assert run({"path": "directory/plain"}, store)[0]["metadata"]["name"] != "changed"


def test_disk_cache_is_shared_between_processes(tmp_path: Path) -> None:
    writer = cache.TieredCache(cache.MemoryCache(), cache.DiskCache(tmp_path))
    expected = run({"path": "directory/plain"}, writer)
    reader = cache.TieredCache(cache.MemoryCache(), cache.DiskCache(tmp_path))  # a new process: empty memory
    assert run({"path": "directory/plain"}, reader) == expected
    assert (reader.disk.hits, reader.memory.hits) == (1, 0)
    assert len(list(tmp_path.rglob("*.json"))) == 1


def test_memory_cache_is_a_bounded_lru() -> None:
    memory = cache.MemoryCache(maxsize=2)
    keys = [cache.CacheKey("r", str(i), "p", "x", "t") for i in range(3)]
    for key in keys:
        memory.put(key, [{"n": key.revision}])
    assert memory.get(keys[0]) is None and memory.get(keys[2]) == [{"n": "2"}]


PLAINTEXT = "correct-horse-battery-staple"


def fake_decrypt(text: str, *, path: str) -> str:
    """Stands in for fleet.secrets.sops.decrypt_if_encrypted: replaces ENC[...] values."""
    obj = json.loads(text)
    assert "sops" in obj and path.endswith(".json")
    obj["stringData"] = dict.fromkeys(obj["stringData"], PLAINTEXT)
    del obj["sops"]
    return json.dumps(obj)


def test_sops_objects_are_decrypted_after_the_cache_and_plaintext_never_reaches_disk(tmp_path: Path) -> None:
    store = cache.TieredCache(cache.MemoryCache(), cache.DiskCache(tmp_path / "cache"))
    for _ in range(2):
        objs = run({"path": "sops"}, store, decrypt=fake_decrypt)
        secret = next(o for o in objs if o["kind"] == "Secret")
        assert secret["stringData"] == {"password": PLAINTEXT} and "sops" not in secret
    assert store.memory.hits == 1
    on_disk = "".join(p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    assert "ENC[AES256_GCM" in on_disk and PLAINTEXT not in on_disk
    assert PLAINTEXT not in "".join(store.memory._items.values())


def test_an_encrypted_manifest_no_key_can_open_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The SOPS layer is always part of fleet (fleet.secrets.sops); what can be missing is a key.
    for name in list(os.environ):
        if name.startswith("SOPS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(errors.FleetError, match=r"sops#Secret/db\.json: no key could decrypt the data key"):
        run({"path": "sops"}, cache.NO_CACHE, decrypt=True)


def test_a_decryptor_that_returns_ciphertext_fails_the_render() -> None:
    with pytest.raises(render.RenderError, match="SOPS-encrypted but was not decrypted"):
        run({"path": "sops"}, cache.NO_CACHE, decrypt=lambda text, *, path: text)


def test_decryption_can_be_turned_off() -> None:
    secret = next(o for o in run({"path": "sops"}, cache.NO_CACHE, decrypt=False) if o["kind"] == "Secret")
    assert "sops" in secret
