"""Kubernetes' protobuf answers to metadata-only requests, read on the client side: the
``runtime.Unknown`` envelope and the ``meta.k8s.io/v1`` messages ``PartialObjectMetadata`` and
``PartialObjectMetadataList``, turned into the JSON the API server sends for the same request.

Where it sits: ``client.ClusterClient.list(metadata_only=True)`` asks for a LIST's metadata in
protobuf first, as client-go's metadata client does (``application/vnd.kubernetes.protobuf;
as=PartialObjectMetadataList;g=meta.k8s.io;v=v1``), and hands the answer here when the server chose
protobuf: the same metadata in 0.7 to 0.85 times the bytes of its JSON (issue 15). The simulator's
codec (``fleet.clusters.sim.protobuf``) is the server side and is not imported: a client must not
depend on the test double it talks to.

The messages are declared below as descriptors, with the field numbers and types of upstream
``k8s.io/apimachinery`` ``pkg/apis/meta/v1/generated.proto`` and ``pkg/runtime/generated.proto``
(API v1.32, proto2), and the ``protobuf`` runtime parses them; only the mapping to Go's JSON is
written here, because Kubernetes ships no Python bindings for its messages.
"""

from __future__ import annotations

import functools
import json
import time
from typing import Any

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
META_API_VERSION = "meta.k8s.io/v1"
_META = "k8s.io.apimachinery.pkg.apis.meta.v1"
_RUNTIME = "k8s.io.apimachinery.pkg.runtime"

# message -> (JSON name, field number, type, repeated): a type is a scalar name, "map" (string to
# string) or another message of the same file.
_MESSAGES: dict[str, tuple[tuple[str, int, str, bool], ...]] = {
    "Time": (("seconds", 1, "int64", False), ("nanos", 2, "int32", False)),
    "FieldsV1": (("Raw", 1, "bytes", False),),
    "ManagedFieldsEntry": (
        ("manager", 1, "string", False),
        ("operation", 2, "string", False),
        ("apiVersion", 3, "string", False),
        ("time", 4, "Time", False),
        ("fieldsType", 6, "string", False),
        ("fieldsV1", 7, "FieldsV1", False),
        ("subresource", 8, "string", False),
    ),
    "OwnerReference": (
        ("kind", 1, "string", False),
        ("name", 3, "string", False),
        ("uid", 4, "string", False),
        ("apiVersion", 5, "string", False),
        ("controller", 6, "bool", False),
        ("blockOwnerDeletion", 7, "bool", False),
    ),
    "ObjectMeta": (
        ("name", 1, "string", False),
        ("generateName", 2, "string", False),
        ("namespace", 3, "string", False),
        ("selfLink", 4, "string", False),
        ("uid", 5, "string", False),
        ("resourceVersion", 6, "string", False),
        ("generation", 7, "int64", False),
        ("creationTimestamp", 8, "Time", False),
        ("deletionTimestamp", 9, "Time", False),
        ("deletionGracePeriodSeconds", 10, "int64", False),
        ("labels", 11, "map", True),
        ("annotations", 12, "map", True),
        ("ownerReferences", 13, "OwnerReference", True),
        ("finalizers", 14, "string", True),
        ("managedFields", 17, "ManagedFieldsEntry", True),
    ),
    "ListMeta": (
        ("selfLink", 1, "string", False),
        ("resourceVersion", 2, "string", False),
        ("continue", 3, "string", False),
        ("remainingItemCount", 4, "int64", False),
    ),
    "PartialObjectMetadata": (("metadata", 1, "ObjectMeta", False),),
    "PartialObjectMetadataList": (
        ("metadata", 1, "ListMeta", False),
        ("items", 2, "PartialObjectMetadata", True),
    ),
}
_ENVELOPE: dict[str, tuple[tuple[str, int, str, bool], ...]] = {
    "TypeMeta": (("apiVersion", 1, "string", False), ("kind", 2, "string", False)),
    "Unknown": (
        ("typeMeta", 1, "TypeMeta", False),
        ("raw", 2, "bytes", False),
        ("contentEncoding", 3, "string", False),
        ("contentType", 4, "string", False),
    ),
}


class ProtobufError(ValueError):
    """An answer that is not a well-formed protobuf metadata answer (the server's fault)."""


def is_protobuf(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == MEDIA_TYPE


@functools.cache
def _classes() -> dict[str, Any]:
    """The message classes, built once from the declarations above (the protobuf runtime is
    imported only by a process that reads a protobuf answer)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    types = descriptor_pb2.FieldDescriptorProto
    scalars = {
        "string": types.TYPE_STRING,
        "bytes": types.TYPE_BYTES,
        "bool": types.TYPE_BOOL,
        "int32": types.TYPE_INT32,
        "int64": types.TYPE_INT64,
    }
    pool = descriptor_pool.DescriptorPool()
    for package, messages in ((_META, _MESSAGES), (_RUNTIME, _ENVELOPE)):
        proto = descriptor_pb2.FileDescriptorProto(
            name=package.replace(".", "/") + "/generated.proto", package=package, syntax="proto2"
        )
        for name, fields in messages.items():
            message = proto.message_type.add(name=name)
            for json_name, number, kind, repeated in fields:
                field = message.field.add(name=json_name, number=number, json_name=json_name)
                field.label = types.LABEL_REPEATED if repeated else types.LABEL_OPTIONAL
                if kind == "map":
                    entry_name = json_name[0].upper() + json_name[1:] + "Entry"
                    entry = message.nested_type.add(name=entry_name)
                    entry.options.map_entry = True
                    for key, key_number in (("key", 1), ("value", 2)):
                        entry.field.add(
                            name=key, number=key_number, type=types.TYPE_STRING, label=types.LABEL_OPTIONAL
                        )
                    field.type = types.TYPE_MESSAGE
                    field.type_name = f".{package}.{name}.{entry_name}"
                elif kind in scalars:
                    field.type = scalars[kind]
                else:
                    field.type = types.TYPE_MESSAGE
                    field.type_name = f".{package}.{kind}"
        pool.Add(proto)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{name}"))
        for package, messages in ((_META, _MESSAGES), (_RUNTIME, _ENVELOPE))
        for name in messages
    }


def _time(value: Any) -> str:
    # metav1.Time prints whole seconds in UTC (RFC 3339), whatever nanos the wire carries
    # (time.gmtime: a datetime per timestamp cost more than the rest of an item's metadata).
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(value.seconds)))


def _object_meta(meta: Any, *, managed_fields: bool = True) -> dict[str, Any]:
    """ObjectMeta as Go's JSON prints it (omitempty fields left out when empty; managedFields
    too unless asked for)."""
    out: dict[str, Any] = {}
    for name in ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion"):
        if getattr(meta, name):
            out[name] = getattr(meta, name)
    if meta.generation:
        out["generation"] = int(meta.generation)
    if meta.HasField("creationTimestamp") and meta.creationTimestamp.seconds:
        out["creationTimestamp"] = _time(meta.creationTimestamp)
    if meta.HasField("deletionTimestamp"):
        out["deletionTimestamp"] = _time(meta.deletionTimestamp)
    if meta.HasField("deletionGracePeriodSeconds"):
        out["deletionGracePeriodSeconds"] = int(meta.deletionGracePeriodSeconds)
    if meta.labels:
        out["labels"] = dict(meta.labels)
    if meta.annotations:
        out["annotations"] = dict(meta.annotations)
    if meta.ownerReferences:
        out["ownerReferences"] = [_owner(ref) for ref in meta.ownerReferences]
    if meta.finalizers:
        out["finalizers"] = list(meta.finalizers)
    if managed_fields and meta.managedFields:
        out["managedFields"] = [_managed(entry) for entry in meta.managedFields]
    return out


def _owner(ref: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": ref.apiVersion, "kind": ref.kind, "name": ref.name, "uid": ref.uid}
    for flag in ("controller", "blockOwnerDeletion"):
        if ref.HasField(flag):
            out[flag] = bool(getattr(ref, flag))
    return out


def _managed(entry: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("manager", "operation", "apiVersion"):
        if getattr(entry, name):
            out[name] = getattr(entry, name)
    if entry.HasField("time"):
        out["time"] = _time(entry.time)
    if entry.fieldsType:
        out["fieldsType"] = entry.fieldsType
    if entry.HasField("fieldsV1"):
        try:
            out["fieldsV1"] = json.loads(entry.fieldsV1.Raw) if entry.fieldsV1.Raw else {}
        except ValueError as exc:
            raise ProtobufError(
                f"managedFields of the metadata answer: fieldsV1 is not JSON: {exc}"
            ) from None
    if entry.subresource:
        out["subresource"] = entry.subresource
    return out


def decode_metadata(body: bytes, *, managed_fields: bool = True) -> dict[str, Any]:
    """A protobuf ``PartialObjectMetadata`` or ``PartialObjectMetadataList`` answer as the JSON
    the server would have sent (``kind``, ``apiVersion``, ``metadata``, and ``items``); without
    the managedFields when ``managed_fields`` is false (decoding them is most of the work)."""
    from google.protobuf import message as pb_message

    if not body.startswith(MAGIC):
        raise ProtobufError("the protobuf answer does not start with the k8s\\x00 prefix")
    classes = _classes()
    try:
        envelope = classes["Unknown"].FromString(body[len(MAGIC) :])
        kind, api_version = envelope.typeMeta.kind, envelope.typeMeta.apiVersion
        if envelope.contentEncoding:
            raise ProtobufError(f"unsupported contentEncoding {envelope.contentEncoding!r}")
        if api_version != META_API_VERSION or kind not in (
            "PartialObjectMetadata",
            "PartialObjectMetadataList",
        ):
            raise ProtobufError(
                f"expected {META_API_VERSION} PartialObjectMetadata(List), got {api_version} {kind}"
            )
        decoded = classes[kind].FromString(envelope.raw)
    except pb_message.DecodeError as exc:
        raise ProtobufError(f"the protobuf answer is malformed: {exc}") from None
    if kind == "PartialObjectMetadata":
        return {
            "kind": kind,
            "apiVersion": api_version,
            "metadata": _object_meta(decoded.metadata, managed_fields=managed_fields),
        }
    list_meta: dict[str, Any] = {}
    for name in ("selfLink", "resourceVersion", "continue"):
        if getattr(decoded.metadata, name):
            list_meta[name] = getattr(decoded.metadata, name)
    if decoded.metadata.HasField("remainingItemCount"):
        list_meta["remainingItemCount"] = int(decoded.metadata.remainingItemCount)
    return {
        "kind": kind,
        "apiVersion": api_version,
        "metadata": list_meta,
        "items": [
            {
                "kind": "PartialObjectMetadata",
                "apiVersion": api_version,
                "metadata": _object_meta(item.metadata, managed_fields=managed_fields),
            }
            for item in decoded.items
        ],
    }
