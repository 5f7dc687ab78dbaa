"""Watch streams: ``GET ...?watch=1`` answered with one event per JSON line (or per
length-prefixed protobuf frame, when the client negotiated protobuf) until timeout.

A watch registers its ``store.Watcher`` and takes its starting events in the same step (the loop
is single-threaded, so nothing can happen in between): synthetic ADDED events for the current
objects when no resourceVersion is given (or with ``sendInitialEvents=true``, followed by the
``k8s.io/initial-events-end`` bookmark), otherwise the logged events after that resourceVersion,
or a 410 Expired ERROR event when the log no longer reaches back that far.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from fleet.clusters.sim import answer, protobuf, resources, selectors, status, store
from fleet.clusters.sim import cluster as cluster_mod

DEFAULT_TIMEOUT = 1800.0  # the API server's --min-request-timeout
BOOKMARK_INTERVAL = 30.0


def _line(type_: str, raw: bytes) -> bytes:
    return b'{"type":"' + type_.encode() + b'","object":' + raw + b"}\n"


def _bookmark_object(api_version: str, kind: str, rv: int, *, initial_end: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": kind, "apiVersion": api_version, "metadata": meta}


class _Framing:
    """How events go on the wire: JSON lines, or protobuf ``WatchEvent`` frames."""

    def __init__(
        self,
        cluster: cluster_mod.SimCluster,
        rt: resources.ResourceType,
        version: str,
        reply: answer.Answer | None,
        encode: Callable[[store.Entry], bytes] | None,
    ) -> None:
        self.cluster, self.rt, self.version, self.encode = cluster, rt, version, encode
        self.reply = reply
        self.view = reply.view if reply is not None else None
        self.protobuf = reply is not None and reply.protobuf and encode is None
        self.api_version = reply.api_version if reply is not None else rt.api_version(version)
        self.kind = reply.kind if reply is not None else rt.kind
        if reply is not None and reply.metadata_only:  # bookmarks come as the events' kind
            self.api_version, self.kind = answer.META_API_VERSION, "PartialObjectMetadata"
        self.content_type = protobuf.WATCH_MEDIA_TYPE if self.protobuf else "application/json"

    def event(self, type_: str, entry: store.Entry) -> bytes:
        if self.encode is not None:
            return _line(type_, self.encode(entry))
        if self.protobuf and self.reply is not None:
            return protobuf.watch_frame(type_, self.reply.enveloped(entry))
        if self.reply is not None:
            return _line(type_, self.reply.raw(entry))
        return _line(type_, self.cluster.raw_at(self.rt, entry, self.version, self.view))

    def bookmark(self, rv: int, *, initial_end: bool = False) -> bytes:
        obj = _bookmark_object(self.api_version, self.kind, rv, initial_end=initial_end)
        if self.protobuf:
            return protobuf.watch_frame("BOOKMARK", protobuf.encode(obj))
        return _line("BOOKMARK", json.dumps(obj, separators=(",", ":")).encode())

    def error(self, exc: status.ApiError) -> bytes:
        if self.protobuf:
            return protobuf.watch_frame("ERROR", protobuf.encode(exc.body()))
        return _line("ERROR", exc.raw())


async def serve(
    request: web.Request,
    cluster: cluster_mod.SimCluster,
    rt: resources.ResourceType,
    version: str,
    namespace: str | None,
    name: str | None,
    query: Mapping[str, str],
    closing: asyncio.Event,
    *,
    encode: Callable[[store.Entry], bytes] | None = None,
    reply: answer.Answer | None = None,
) -> web.StreamResponse:
    """Stream events; ``encode`` replaces the object encoding (server-side printing: Tables);
    ``reply`` carries the negotiated encoding and the view the objects are served through."""
    framing = _Framing(cluster, rt, version, reply, encode)
    try:
        by_label = selectors.parse_label_selector(query.get("labelSelector"))
        by_field = selectors.parse_field_selector(
            query.get("fieldSelector"), aliases=selectors.FIELD_ALIASES.get((rt.group, rt.kind))
        )
    except selectors.SelectorError as exc:
        raise status.bad_request(str(exc)) from None
    if name is not None:
        only_name = name
        by_field_inner = by_field
        by_field = lambda obj: (
            obj["metadata"]["name"] == only_name and (by_field_inner is None or by_field_inner(obj))
        )

    def match(obj: Mapping[str, Any]) -> bool:
        return (by_label is None or by_label(obj)) and (by_field is None or by_field(obj))

    try:
        timeout = float(query.get("timeoutSeconds") or DEFAULT_TIMEOUT)
    except ValueError:
        raise status.bad_request("timeoutSeconds must be a number") from None
    bookmarks = status.flag(query.get("allowWatchBookmarks"))
    send_initial = status.flag(query.get("sendInitialEvents"))
    rv_text = query.get("resourceVersion") or ""
    ns = namespace if rt.namespaced else None
    watcher = store.Watcher(rt.key, ns, match)
    initial: list[bytes] = []
    expired = False
    if send_initial or rv_text in ("", "0"):
        for entry in cluster.store.iter(rt.key, ns):
            if match(entry.obj):
                initial.append(framing.event("ADDED", entry))
        if send_initial:
            initial.append(framing.bookmark(cluster.store.rv, initial_end=True))
    else:
        try:
            since = int(rv_text)
        except ValueError:
            raise status.bad_request(f"invalid resourceVersion {rv_text!r}") from None
        events = cluster.store.events_since(since)
        if events is None:
            expired = True
        else:
            for event in events:
                if watcher.wants(event):
                    initial.append(framing.event(event.type, event.entry))
    response = web.StreamResponse(headers={"Content-Type": framing.content_type, "Cache-Control": "no-cache"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    if expired:
        gone = status.ApiError(
            410, status.StatusReason.GONE, f"too old resource version: {rv_text} ({cluster.store.rv})"
        )
        await response.write(framing.error(gone))
        return response
    cluster.store.add_watcher(watcher)
    try:
        if initial:
            await response.write(b"".join(initial))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        next_bookmark = loop.time() + BOOKMARK_INTERVAL
        while not closing.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            wait = min(remaining, next_bookmark - loop.time()) if bookmarks else remaining
            try:
                queued = await asyncio.wait_for(watcher.queue.get(), timeout=max(wait, 0.001))
            except TimeoutError:
                if bookmarks and loop.time() >= next_bookmark:
                    await response.write(framing.bookmark(cluster.store.rv))
                    next_bookmark = loop.time() + BOOKMARK_INTERVAL
                continue
            if queued is None:
                break
            chunk = [framing.event(queued.type, queued.entry)]
            ended = False
            while not watcher.queue.empty():  # write what is already queued in one go
                more = watcher.queue.get_nowait()
                if more is None:
                    ended = True
                    break
                chunk.append(framing.event(more.type, more.entry))
            await response.write(b"".join(chunk))
            if ended:
                break
    except ConnectionResetError:
        pass  # the client went away
    finally:
        cluster.store.remove_watcher(watcher)
    return response
