"""API discovery: which resource serves an (apiVersion, kind), and whether it is namespaced.

The client needs this before it can build any URL for an unstructured object. Discovery is
fetched lazily, one group version at a time (``/api/v1`` or ``/apis/GROUP/VERSION``), so a sync
that only touches Deployments and ConfigMaps costs two discovery requests per cluster, and the
result is cached in a ``DiscoveryCache`` that clients of the same API server share.

A kind that is not in the cached list is looked up again (a CRD may have been applied since), at
most once per ``REFRESH_INTERVAL`` per group version, so a thousand objects of a kind that really
does not exist cost one extra request, not a thousand. Applying a CRD invalidates its group.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

REFRESH_INTERVAL = 0.5  # seconds between two look-ups of the same group version for a missing kind


@dataclass(frozen=True)
class Resource:
    """One API resource, as discovery describes it."""

    group: str  # "" for the core group
    version: str
    kind: str
    plural: str  # the URL segment, e.g. "deployments"
    namespaced: bool
    verbs: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # e.g. ("status", "scale")
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    def base_path(self) -> str:
        """The path of this resource's group version: ``/api/v1`` or ``/apis/GROUP/VERSION``."""
        return group_version_path(self.api_version)

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


def group_version_path(api_version: str) -> str:
    return f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def parse_resource_list(doc: Mapping[str, Any]) -> dict[str, Resource]:
    """An ``APIResourceList`` as ``{kind: Resource}`` (subresources folded into their resource)."""
    group, version = split_api_version(str(doc.get("groupVersion", "")))
    items = [r for r in doc.get("resources") or [] if isinstance(r, Mapping)]
    subresources: dict[str, list[str]] = {}
    for item in items:
        name = str(item.get("name", ""))
        if "/" in name:
            parent, _, sub = name.partition("/")
            subresources.setdefault(parent, []).append(sub)
    out: dict[str, Resource] = {}
    for item in items:
        name = str(item.get("name", ""))
        if not name or "/" in name or not item.get("kind"):
            continue
        resource = Resource(
            group=str(item.get("group") or group),
            version=str(item.get("version") or version),
            kind=str(item["kind"]),
            plural=name,
            namespaced=bool(item.get("namespaced", False)),
            verbs=tuple(item.get("verbs") or ()),
            subresources=tuple(sorted(subresources.get(name, []))),
            short_names=tuple(item.get("shortNames") or ()),
        )
        out.setdefault(resource.kind, resource)  # the first resource of a kind is its main one
    return out


@dataclass
class _Entry:
    resources: dict[str, Resource] | None  # None: the server does not serve this group version
    fetched_at: float


class DiscoveryCache:
    """Thread-safe ``{group version: {kind: Resource}}`` for one API server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def get(self, group_version: str) -> _Entry | None:
        with self._lock:
            return self._entries.get(group_version)

    def put(
        self, group_version: str, resources: dict[str, Resource] | None, *, now: float | None = None
    ) -> None:
        with self._lock:
            self._entries[group_version] = _Entry(resources, time.monotonic() if now is None else now)

    def invalidate(self, group_versions: Iterable[str] | None = None) -> None:
        """Forget some group versions (all with None): the next look-up asks the server again."""
        with self._lock:
            if group_versions is None:
                self._entries.clear()
            else:
                for gv in group_versions:
                    self._entries.pop(gv, None)

    def invalidate_group(self, group: str) -> None:
        with self._lock:
            for gv in [gv for gv in self._entries if split_api_version(gv)[0] == group]:
                del self._entries[gv]

    def group_versions(self) -> list[str]:
        with self._lock:
            return sorted(self._entries)


_shared_lock = threading.Lock()
_shared: dict[str, DiscoveryCache] = {}


def shared_cache(server: str) -> DiscoveryCache:
    """The process-wide cache for an API server URL (path prefix included), shared by its clients."""
    key = server.rstrip("/")
    with _shared_lock:
        cache = _shared.get(key)
        if cache is None:
            cache = _shared[key] = DiscoveryCache()
        return cache
