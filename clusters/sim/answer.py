"""How the simulator answers a request: JSON or protobuf, negotiated from ``Accept`` as the API
server does, for one object, a list, a Status or an error.

The resource handlers (``server``) build one ``Answer`` per request once the route is known and
hand it stored entries or plain objects; the encodings of stored entries are cached on the
entries (``store.Entry.form``), so a LIST of unchanged objects encodes nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from fleet.clusters.sim import cluster as cluster_mod
from fleet.clusters.sim import protobuf, resources, status, store, views
from fleet.clusters.sim.protobuf import codec

JSON = "application/json"
META_API_VERSION = "meta.k8s.io/v1"


def accepts_metadata(accept: str) -> bool:
    """Whether the client asked for metadata only (``as=PartialObjectMetadata`` or
    ``...List;g=meta.k8s.io``), as client-go's metadata client and ``kubectl get`` do."""
    return "as=PartialObjectMetadata" in accept and "g=meta.k8s.io" in accept


def metadata_format(accept: str) -> protobuf.Format:
    """The encoding of a metadata-only answer: the media type of the client's first range that
    asks for ``PartialObjectMetadata`` (client-go's metadata client lists protobuf first, then
    JSON). Metadata is a ``meta.k8s.io`` type, so protobuf serves every kind, custom resources too,
    as the API server's own negotiation does."""
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        if "as=PartialObjectMetadata" in params and "g=meta.k8s.io" in params:
            if media.strip().lower() == protobuf.MEDIA_TYPE:
                return protobuf.Format.PROTOBUF
            return protobuf.Format.JSON
    return protobuf.Format.JSON


def metadata_raw(entry: store.Entry) -> bytes:
    """An object as ``PartialObjectMetadata``: its kind and its whole metadata, nothing else;
    cached on the entry like its other encodings."""
    return entry.form(
        "meta",
        lambda: json.dumps(
            {
                "kind": "PartialObjectMetadata",
                "apiVersion": META_API_VERSION,
                "metadata": entry.obj["metadata"],
            },
            separators=(",", ":"),
        ).encode(),
    )


def metadata_message(entry: store.Entry) -> bytes:
    """An object as a ``PartialObjectMetadata`` protobuf message (no envelope); cached."""
    return entry.form(
        "meta-pb",
        lambda: protobuf.encode_message(
            {"kind": "PartialObjectMetadata", "metadata": entry.obj["metadata"]},
            api_version=META_API_VERSION,
        ),
    )


def _json(body: Any, code: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    return web.Response(body=raw, status=code, content_type=JSON, headers=headers)


def _protobuf(body: bytes, code: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        body=body, status=code, headers={"Content-Type": protobuf.MEDIA_TYPE, **(headers or {})}
    )


def not_acceptable() -> status.ApiError:
    return status.ApiError(
        406,
        status.StatusReason.NOT_ACCEPTABLE,
        "only the following media types are accepted: application/json, application/yaml, "
        f"{protobuf.MEDIA_TYPE} (protobuf for built-in kinds only)",
    )


def error(exc: status.ApiError, accept: str) -> web.Response:
    """A failed request's ``Status``, in protobuf when that is what the client prefers."""
    if protobuf.negotiate(accept, protobuf_ok=True) is protobuf.Format.PROTOBUF:
        return _protobuf(protobuf.encode(exc.body()), exc.code, exc.headers)
    return _json(exc.raw(), exc.code, exc.headers)


class Answer:
    """The encoding of one request's answer, and what it is served as (version, view)."""

    def __init__(
        self,
        sim: cluster_mod.SimCluster,
        accept: str,
        rt: resources.ResourceType,
        version: str,
        view: views.RenamingView | None = None,
    ) -> None:
        self.sim = sim
        self.rt = rt
        self.version = version
        self.view = view
        # Metadata only (PartialObjectMetadata), in JSON or protobuf: what a client that only
        # compares resourceVersions or annotations asks for (issue 15).
        self.metadata_only = accepts_metadata(accept)
        if self.metadata_only:
            accept = protobuf.MEDIA_TYPE if metadata_format(accept) is protobuf.Format.PROTOBUF else JSON
        self.api_version = view.api_version if view is not None else rt.api_version(version)
        self.kind = view.kind if view is not None else rt.kind
        encodable = self.metadata_only or (not rt.custom and protobuf.supports(self.api_version, self.kind))
        chosen = protobuf.negotiate(accept, protobuf_ok=encodable)
        if chosen is None:
            raise not_acceptable()
        self.format = chosen
        self._accept = accept
        self._json_ok = protobuf.negotiate(accept, protobuf_ok=False) is not None

    @property
    def protobuf(self) -> bool:
        return self.format is protobuf.Format.PROTOBUF

    def _fallback(self, exc: codec.CodecError) -> None:
        """A stored value that fits no protobuf field: JSON if the client takes it, else 500."""
        if not self._json_ok:
            raise status.ApiError(
                500,
                status.StatusReason.INTERNAL_ERROR,
                f"the {self.kind} cannot be encoded as {protobuf.MEDIA_TYPE}: {exc}",
            ) from None
        self.format = protobuf.Format.JSON

    def raw(self, entry: store.Entry) -> bytes:
        """One stored object's JSON as this answer serves it (its version, view, or metadata)."""
        if self.metadata_only:
            return metadata_raw(entry)
        return self.sim.raw_at(self.rt, entry, self.version, self.view)

    def message(self, entry: store.Entry) -> bytes:
        """One stored object's protobuf message (no envelope) as this answer serves it."""
        if self.metadata_only:
            return metadata_message(entry)
        return self.sim.message_at(self.rt, entry, self.version, self.view)

    def enveloped(self, entry: store.Entry) -> bytes:
        """One stored object's protobuf message in its ``runtime.Unknown`` envelope."""
        if self.metadata_only:
            return protobuf.wrap(META_API_VERSION, "PartialObjectMetadata", metadata_message(entry))
        return protobuf.wrap(self.api_version, self.kind, self.message(entry))

    def entry(self, entry: store.Entry, code: int = 200) -> web.Response:
        """One stored object."""
        if self.protobuf:
            try:
                return _protobuf(self.enveloped(entry), code)
            except codec.CodecError as exc:
                self._fallback(exc)
        return _json(self.raw(entry), code)

    def entries(self, entries: Sequence[store.Entry], rv: int, cont: str | None) -> web.Response:
        """A list of stored objects, with its resourceVersion and continue token."""
        list_kind = "PartialObjectMetadataList" if self.metadata_only else f"{self.kind}List"
        api_version = META_API_VERSION if self.metadata_only else self.api_version
        if self.protobuf:
            try:
                meta: dict[str, Any] = {"resourceVersion": str(rv)}
                if cont:
                    meta["continue"] = cont
                items = [self.message(e) for e in entries]
                return _protobuf(protobuf.encode_list(api_version, list_kind, meta, items))
            except codec.CodecError as exc:
                self._fallback(exc)
        meta_raw = b'{"resourceVersion":"' + str(rv).encode() + b'"'
        if cont:
            meta_raw += b',"continue":"' + cont.encode() + b'"'
        meta_raw += b"}"
        items_raw = b",".join(self.raw(e) for e in entries)
        body = (
            b'{"kind":"'
            + list_kind.encode()
            + b'","apiVersion":"'
            + api_version.encode()
            + b'","metadata":'
            + meta_raw
            + b',"items":['
            + items_raw
            + b"]}"
        )
        return _json(body)

    def obj(self, obj: Mapping[str, Any], code: int = 200) -> web.Response:
        """An object that is not stored (a Scale, a TokenRequest, a Status): its own kind decides."""
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        if protobuf.negotiate(self._accept, protobuf_ok=protobuf.supports(api_version, kind)) is (
            protobuf.Format.PROTOBUF
        ):
            try:
                return _protobuf(protobuf.encode(obj), code)
            except codec.CodecError as exc:
                self._fallback(exc)
        return _json(dict(obj), code)

    def table(self, body: Mapping[str, Any]) -> web.Response:
        """Server-side printing: Tables are always JSON (kubectl asks for them so)."""
        return _json(dict(body))


async def read_object(request: web.Request, *, yaml_ok: bool = False) -> Any:
    """A create/update body: JSON, or protobuf (``application/vnd.kubernetes.protobuf``).

    A protobuf body of a kind without a protobuf schema (a custom resource) is 415, and a
    malformed one 400, each saying so; neither is ever reported as bad JSON.
    """
    raw = await request.read()
    if protobuf.is_protobuf(request.headers.get("Content-Type", "")):
        if not raw:
            raise status.bad_request("the request body is empty")
        try:
            return protobuf.decode(raw)
        except protobuf.Unsupported as exc:
            raise status.ApiError(415, status.StatusReason.UNSUPPORTED_MEDIA_TYPE, str(exc)) from None
        except protobuf.Malformed as exc:
            raise status.bad_request(str(exc)) from None
    return cluster_mod.parse_body(raw, yaml_ok=yaml_ok)
