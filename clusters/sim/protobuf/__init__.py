"""Kubernetes' protobuf encoding (``application/vnd.kubernetes.protobuf``) for the simulator.

kubectl 1.32 sends its typed commands (``create namespace|configmap|deployment|...``) as protobuf
and many Go clients ask for protobuf answers. On the wire an object is the magic prefix
``k8s\\x00`` followed by a ``runtime.Unknown`` envelope whose ``typeMeta`` names the apiVersion
and kind and whose ``raw`` is the typed message (``schema`` says which message and how its
fields map to JSON; ``codec`` does the mapping; ``wire`` reads and writes the bytes). Lists are
the kind's ``...List`` message; a watch is a stream of ``WatchEvent`` messages, each framed by a
4-byte big-endian length and carrying its object as an enveloped ``RawExtension``.

The server decodes request bodies with ``decode`` and answers with ``encode``/``encode_list``/
``watch_frame`` when content negotiation (``negotiate``) picked protobuf.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fleet.clusters.sim.protobuf import codec, schema, wire
from fleet.clusters.sim.protobuf.codec import CodecError as CodecError

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
WATCH_MEDIA_TYPE = f"{MEDIA_TYPE};stream=watch"
MAGIC = b"k8s\x00"


class Format(StrEnum):
    """The encodings the simulator answers with."""

    JSON = "json"  # application/json (the default, and every kind)
    PROTOBUF = "protobuf"  # application/vnd.kubernetes.protobuf (built-in kinds only)


class Unsupported(Exception):
    """A protobuf body of a kind the table has no message for (answered 415)."""

    def __init__(self, api_version: str, kind: str) -> None:
        super().__init__(
            f"the body of the request was in an unknown format: {MEDIA_TYPE} is not supported for "
            f"{kind or 'objects'} ({api_version or 'no apiVersion'}); accepted media types include: "
            "application/json, application/yaml"
        )
        self.api_version = api_version
        self.kind = kind


class Malformed(ValueError):
    """A protobuf body that is not a well-formed envelope or message (answered 400)."""


@functools.cache
def _coders() -> tuple[schema.Schema, codec.Decoder, codec.Encoder]:
    table = schema.load()
    return table, codec.Decoder(table), codec.Encoder(table)


def is_protobuf(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == MEDIA_TYPE


def supports(api_version: str, kind: str) -> bool:
    """Whether objects of this kind have a protobuf encoding (custom resources do not)."""
    return _coders()[0].for_kind(api_version, kind) is not None


# -- the envelope --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    api_version: str
    kind: str
    raw: bytes
    content_encoding: str = ""
    content_type: str = ""


def unwrap(body: bytes) -> Envelope:
    """The ``runtime.Unknown`` after the magic prefix."""
    if not body.startswith(MAGIC):
        raise Malformed("the protobuf body does not start with the k8s\\x00 prefix")
    api_version = kind = encoding = content_type = ""
    raw = b""
    try:
        for number, wire_type, value in wire.fields(body[len(MAGIC) :]):
            if wire_type != wire.LENGTH:
                continue
            if number == 1:
                for inner, inner_type, text in wire.fields(value):  # type: ignore[arg-type]
                    if inner_type == wire.LENGTH and inner == 1:
                        api_version = bytes(text).decode()  # type: ignore[call-overload]
                    elif inner_type == wire.LENGTH and inner == 2:
                        kind = bytes(text).decode()  # type: ignore[call-overload]
            elif number == 2:
                raw = bytes(value)  # type: ignore[call-overload]
            elif number == 3:
                encoding = bytes(value).decode()  # type: ignore[call-overload]
            elif number == 4:
                content_type = bytes(value).decode()  # type: ignore[call-overload]
    except (wire.WireError, UnicodeDecodeError) as exc:
        raise Malformed(f"the protobuf envelope is malformed: {exc}") from None
    return Envelope(api_version, kind, raw, encoding, content_type)


def wrap(api_version: str, kind: str, raw: bytes) -> bytes:
    """Magic prefix + ``runtime.Unknown`` as Go writes it (empty contentEncoding/contentType)."""
    type_meta = wire.length_delimited(1, api_version.encode()) + wire.length_delimited(2, kind.encode())
    return (
        MAGIC
        + wire.length_delimited(1, type_meta)
        + wire.length_delimited(2, raw)
        + wire.length_delimited(3, b"")
        + wire.length_delimited(4, b"")
    )


# -- objects ---------------------------------------------------------------------------------------


def decode(body: bytes) -> dict[str, Any]:
    """A request body as the JSON object it stands for (with apiVersion and kind)."""
    envelope = unwrap(body)
    if envelope.content_encoding:
        raise Malformed(f"unsupported contentEncoding {envelope.content_encoding!r}")
    table, decoder, _ = _coders()
    message = table.for_kind(envelope.api_version, envelope.kind)
    if message is None:
        raise Unsupported(envelope.api_version, envelope.kind)
    try:
        obj = decoder.message(message.name, envelope.raw)
    except codec.CodecError as exc:
        raise Malformed(f"the {envelope.kind} in the protobuf body cannot be decoded: {exc}") from None
    return {"apiVersion": envelope.api_version, "kind": envelope.kind, **obj}


def decode_message(api_version: str, kind: str, raw: bytes) -> dict[str, Any]:
    """The typed message of a kind (no envelope) as JSON, without apiVersion and kind."""
    table, decoder, _ = _coders()
    message = table.for_kind(api_version, kind)
    if message is None:
        raise Unsupported(api_version, kind)
    result = decoder.message(message.name, raw)
    return dict(result)


def encode_message(obj: Mapping[str, Any], *, api_version: str | None = None) -> bytes:
    """The typed message of an object (no envelope): what list items and the envelope hold."""
    api_version = api_version or str(obj.get("apiVersion", ""))
    kind = str(obj.get("kind", ""))
    table, _, encoder = _coders()
    message = table.for_kind(api_version, kind)
    if message is None:
        raise Unsupported(api_version, kind)
    return encoder.message(message.name, obj)


def encode(obj: Mapping[str, Any], *, api_version: str | None = None) -> bytes:
    api_version = api_version or str(obj.get("apiVersion", ""))
    return wrap(api_version, str(obj.get("kind", "")), encode_message(obj, api_version=api_version))


def encode_list(
    api_version: str,
    list_kind: str,
    metadata: Mapping[str, Any],
    items: Sequence[bytes],
) -> bytes:
    """A ``...List``: its ListMeta plus already-encoded item messages (cached per object)."""
    table, _, encoder = _coders()
    message = table.for_kind(api_version, list_kind)
    if message is None:
        raise Unsupported(api_version, list_kind)
    meta_field = message.by_json["metadata"]
    items_field = message.by_json["items"]
    body = wire.length_delimited(meta_field.number, encoder.message(meta_field.type, metadata))
    body += b"".join(wire.length_delimited(items_field.number, item) for item in items)
    return wrap(api_version, list_kind, body)


def watch_frame(event_type: str, enveloped_object: bytes) -> bytes:
    """One frame of a protobuf watch: length prefix + ``WatchEvent{type, object{raw}}``."""
    event = wire.length_delimited(1, event_type.encode()) + wire.length_delimited(
        2, wire.length_delimited(1, enveloped_object)
    )
    return struct.pack(">I", len(event)) + event


def read_watch_frames(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    """Split a protobuf watch stream into ``(type, object)`` (tests and tools read streams so)."""
    out = []
    pos = 0
    while pos + 4 <= len(data):
        (size,) = struct.unpack(">I", data[pos : pos + 4])
        frame = data[pos + 4 : pos + 4 + size]
        pos += 4 + size
        event_type, raw = "", b""
        for number, _, value in wire.fields(frame):
            if number == 1:
                event_type = bytes(value).decode()  # type: ignore[call-overload]
            elif number == 2:
                for inner, _, payload in wire.fields(value):  # type: ignore[arg-type]
                    if inner == 1:
                        raw = bytes(payload)  # type: ignore[call-overload]
        out.append((event_type, decode(raw)))
    return out


# -- content negotiation ----------------------------------------------------------------------------


def _media_ranges(accept: str) -> list[tuple[str, dict[str, str], float]]:
    ranges = []
    for part in accept.split(","):
        if not part.strip():
            continue
        media, *params = [p.strip() for p in part.split(";")]
        values: dict[str, str] = {}
        for param in params:
            key, _, value = param.partition("=")
            values[key.strip().lower()] = value.strip()
        try:
            quality = float(values.pop("q", "1"))
        except ValueError:
            quality = 1.0
        ranges.append((media.lower(), values, quality))
    # Stable: equal qualities keep the client's order, as the API server's negotiation does.
    return sorted(ranges, key=lambda r: -r[2])


def negotiate(accept: str, *, protobuf_ok: bool) -> Format | None:
    """The encoding to answer in: the client's first acceptable choice, like the API server.

    ``protobuf_ok`` is False for kinds without a protobuf encoding (custom resources, Tables).
    None means nothing the client accepts can be served (406); an absent or empty Accept means
    JSON.
    """
    ranges = _media_ranges(accept or "")
    if not ranges:
        return Format.JSON
    for media, params, quality in ranges:
        if quality <= 0 or params.get("as"):
            continue  # conversions (as=Table, as=PartialObjectMetadata) are chosen elsewhere
        if media == MEDIA_TYPE:
            if protobuf_ok:
                return Format.PROTOBUF
            continue
        if media in ("application/json", "application/*", "*/*", "application/yaml"):
            return Format.JSON
    only_protobuf = all(media == MEDIA_TYPE for media, _, _ in ranges)
    return None if only_protobuf else Format.JSON
