"""Render cache: the same source at the same commit renders once, however many clusters use it.

Key: repository URL, resolved revision (a commit SHA), source path, a hash of everything else that
changes the output (the tool options; Helm's effective release name, namespace and ``$ref``
revisions; the Application name and namespace only where ``$ARGOCD_APP_*`` substitution can use
them), and the versions of the tools. No cluster-specific input is part of a render, so 200
clusters share one entry unless their parameters differ.

Two tiers: an in-memory LRU per process, and an optional directory shared by processes
(``FLEET_RENDER_CACHE_DIR`` or ``DiskCache(path)``), one JSON file per key, written atomically.
Entries are stored as JSON text, so every hit returns fresh objects that a caller may change.

What is cached never holds a resolved secret: rendering runs before secret references are
resolved, and SOPS decryption runs after the cache (``fleet.render._decrypt_objects``). A source
rendered without a revision (a local directory, not a commit) is never cached.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fleet import log, render

_log = log.get_logger(__name__)
CACHE_DIR_ENV = "FLEET_RENDER_CACHE_DIR"


@dataclass(frozen=True, slots=True)
class CacheKey:
    repo_url: str
    revision: str
    path: str
    params: str  # sha256 of the render parameters
    tools: str

    @property
    def digest(self) -> str:
        text = "\x00".join((self.repo_url, self.revision, self.path, self.params, self.tools))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def cacheable(self) -> bool:
        return bool(self.revision)


def cache_key(ctx: render.RenderContext, *, kind: str, tool_versions: str) -> CacheKey:
    src = ctx.source
    text = src.plain_text()  # once: the fingerprint and the $VAR check both read it
    fingerprint = hashlib.sha256(text.encode()).hexdigest()
    params: dict[str, Any] = {"kind": kind, "source": fingerprint}
    uses_env = "$" in text
    if kind == "Helm":
        options = src.helm or render.HelmOptions()
        params["release"] = options.release_name or ctx.app_name
        params["namespace"] = options.namespace or ctx.namespace
        # Ref checkouts are named by commit, not by where they sit on this machine.
        params["refs"] = sorted((name, ctx.ref_revisions.get(name, "")) for name in ctx.refs)
        if any(not ctx.ref_revisions.get(name) for name in ctx.refs):
            # A ref checkout without a known commit may change under the same key: do not cache.
            return CacheKey(src.repo_url, "", src.path or src.chart, "", tool_versions)
    if kind == "Helm" and src.chart:
        from fleet.render import helmrepo

        # The version alone is not the content: a chart may be republished under it.
        params["chart_sha256"] = helmrepo.archive_digest(ctx.app_dir)
    if kind in ("Helm", "Kustomize"):
        params["kube"] = [ctx.kube_version, list(ctx.api_versions)]
    if uses_env:
        params["env"] = ctx.env()
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
    return CacheKey(src.repo_url, ctx.revision, src.path or src.chart, digest, tool_versions)


class RenderCache(Protocol):
    """Where rendered manifests are kept between renders."""

    def get(self, key: CacheKey) -> list[dict[str, Any]] | None: ...

    def put(self, key: CacheKey, manifests: list[dict[str, Any]]) -> None: ...


class NullCache:
    """Caches nothing (``render_source(..., cache=NO_CACHE)``)."""

    def get(self, key: CacheKey) -> list[dict[str, Any]] | None:
        return None

    def put(self, key: CacheKey, manifests: list[dict[str, Any]]) -> None:
        return None


NO_CACHE = NullCache()


class MemoryCache:
    """A thread-safe LRU of rendered manifests (stored as JSON text) with hit/miss counters."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._items: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: CacheKey) -> list[dict[str, Any]] | None:
        if not key.cacheable:
            return None
        with self._lock:
            text = self._items.get(key.digest)
            if text is None:
                self.misses += 1
                return None
            self._items.move_to_end(key.digest)
            self.hits += 1
        return json.loads(text)

    def put(self, key: CacheKey, manifests: list[dict[str, Any]]) -> None:
        if not key.cacheable:
            return
        text = json.dumps(manifests, separators=(",", ":"))
        with self._lock:
            self._items[key.digest] = text
            self._items.move_to_end(key.digest)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)


class DiskCache:
    """One JSON file per key under ``directory`` (shared by worker processes on one machine)."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0

    def _file(self, key: CacheKey) -> Path:
        digest = key.digest
        return self.directory / digest[:2] / f"{digest}.json"

    def get(self, key: CacheKey) -> list[dict[str, Any]] | None:
        if not key.cacheable:
            return None
        try:
            data = json.loads(self._file(key).read_text())
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return data

    def put(self, key: CacheKey, manifests: list[dict[str, Any]]) -> None:
        if not key.cacheable:
            return
        target = self._file(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "w") as handle:
                json.dump(manifests, handle, separators=(",", ":"))
            os.replace(tmp, target)
        except OSError as exc:  # a full or read-only disk only costs a re-render
            _log.warning("render cache write failed", extra={"fields": {"error": type(exc).__name__}})


class TieredCache:
    """Memory first, then disk (a disk hit is promoted to memory); puts go to both."""

    def __init__(self, memory: MemoryCache, disk: DiskCache | None = None) -> None:
        self.memory = memory
        self.disk = disk

    def get(self, key: CacheKey) -> list[dict[str, Any]] | None:
        found = self.memory.get(key)
        if found is None and self.disk is not None:
            found = self.disk.get(key)
            if found is not None:
                self.memory.put(key, found)
        return found

    def put(self, key: CacheKey, manifests: list[dict[str, Any]]) -> None:
        self.memory.put(key, manifests)
        if self.disk is not None:
            self.disk.put(key, manifests)


_default: TieredCache | None = None
_default_lock = threading.Lock()


def default_cache() -> TieredCache:
    """The process-wide cache (memory, plus ``$FLEET_RENDER_CACHE_DIR`` when set)."""
    global _default
    with _default_lock:
        if _default is None:
            directory = os.environ.get(CACHE_DIR_ENV)
            _default = TieredCache(MemoryCache(), DiskCache(directory) if directory else None)
        return _default


def reset_default_cache() -> None:
    global _default
    with _default_lock:
        _default = None
