"""JSON objects to and from Kubernetes' protobuf messages, driven by the schema table.

The mapping is the one Go's types give the API server, so an object decoded here is the JSON the
real server would have made of the same bytes:

- **Decoding** keeps what Go's JSON encoder would print: a zero scalar is dropped when its field
  is ``omitempty`` and not a pointer; structs are always printed (``"strategy": {}``); a zero
  ``Time`` is ``null`` (``creationTimestamp: null`` in pod templates). Fields the table does not
  know (a newer client's) are skipped, as Go skips them.
- **Encoding** writes what Go's generated marshallers (gogo) write: every non-pointer field, zero
  or not, in field-number order, map entries sorted by key. A Go client's request therefore
  decodes and re-encodes to the same bytes.

Messages whose JSON is not an object of their fields (``Time``, ``MicroTime``, ``Quantity``,
``IntOrString``, ``RawExtension``, ``FieldsV1``, ``JSON`` and the ``JSONSchemaPropsOr*`` unions
of CRDs) are mapped by hand in ``_SPECIAL_*`` below.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

from fleet.clusters.sim.protobuf import schema, wire

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_GO_ZERO_TIME = -62135596800  # time.Time{}.Unix(): Go's zero time, printed as null


class CodecError(ValueError):
    """A value does not fit its field (encoding) or the bytes do not fit the message (decoding).

    ``path`` names the field (``spec.template.spec.containers[0].ports``).
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path or '<root>'}: {problem}")
        self.path = path
        self.problem = problem


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# -- decoding -------------------------------------------------------------------------------------


def _scalar_from_wire(f: schema.Field, type_: str, wire_type: int, value: object, path: str) -> Any:
    if type_ == "string":
        if wire_type != wire.LENGTH:
            raise CodecError(path, f"expected a string, got wire type {wire_type}")
        try:
            return bytes(value).decode()  # type: ignore[call-overload]
        except UnicodeDecodeError:
            raise CodecError(path, "string is not valid UTF-8") from None
    if type_ == "bytes":
        if wire_type != wire.LENGTH:
            raise CodecError(path, f"expected bytes, got wire type {wire_type}")
        return base64.b64encode(bytes(value)).decode()  # type: ignore[call-overload]
    if type_ == "double":
        if wire_type != wire.FIXED64:
            raise CodecError(path, f"expected a 64-bit float, got wire type {wire_type}")
        result = wire.double(value)  # type: ignore[arg-type]
        return int(result) if result.is_integer() else result
    if type_ == "float":
        if wire_type != wire.FIXED32:
            raise CodecError(path, f"expected a 32-bit float, got wire type {wire_type}")
        return wire.float32(value)  # type: ignore[arg-type]
    if wire_type != wire.VARINT:
        raise CodecError(path, f"expected a varint, got wire type {wire_type}")
    number = int(value)  # type: ignore[call-overload]
    if type_ == "bool":
        return number != 0
    if type_ == "int32":
        return wire.signed(number, 32)
    if type_ == "int64":
        return wire.signed(number, 64)
    if type_ == "uint32":
        return number & 0xFFFFFFFF
    return number  # uint64


def _is_zero(value: Any) -> bool:
    return value is False or value == 0 or value == "" or value is None


class Decoder:
    def __init__(self, table: schema.Schema) -> None:
        self.table = table

    def message(self, name: str, data: bytes | memoryview, path: str = "") -> Any:
        msg = self.table.message(name)
        if msg.special:
            return _SPECIAL_DECODE[name](self, data, path)
        out: dict[str, Any] = {}
        try:
            items = list(wire.fields(data))
        except wire.WireError as exc:
            raise CodecError(path, str(exc)) from None
        for number, wire_type, value in items:
            f = msg.by_number.get(number)
            if f is None:
                continue  # a field this table does not know (a newer client): Go skips it too
            where = _join(path, f.json)
            if f.map_key is not None:
                key, item = self._map_entry(f, value, where)
                out.setdefault(f.json, {})[key] = item
            elif f.repeated:
                items_out = out.setdefault(f.json, [])
                if wire_type == wire.LENGTH and not f.is_message and f.type not in ("string", "bytes"):
                    for raw in wire.packed_varints(value):  # type: ignore[arg-type]
                        items_out.append(_scalar_from_wire(f, f.type, wire.VARINT, raw, where))
                else:
                    items_out.append(self._value(f, wire_type, value, f"{where}[{len(items_out)}]"))
            elif f.inline:
                out.update(self._value(f, wire_type, value, path) or {})
            else:
                out[f.json] = self._value(f, wire_type, value, where)
        for f in msg.fields:
            if f.json not in out or f.repeated or f.map_key is not None or f.inline:
                continue
            if not f.pointer and not f.always and not f.is_message and _is_zero(out[f.json]):
                del out[f.json]  # Go's omitempty
        return out

    def _value(self, f: schema.Field, wire_type: int, value: object, path: str) -> Any:
        if f.is_message:
            if wire_type != wire.LENGTH:
                raise CodecError(path, f"expected a message, got wire type {wire_type}")
            return self.message(f.type, value, path)  # type: ignore[arg-type]
        return _scalar_from_wire(f, f.type, wire_type, value, path)

    def _map_entry(self, f: schema.Field, value: object, path: str) -> tuple[str, Any]:
        if not isinstance(value, memoryview):
            raise CodecError(path, "map entry is not a message")
        key: Any = "" if f.map_key == "string" else 0
        item: Any = None
        for number, wire_type, raw in wire.fields(value):
            if number == 1:
                key = _scalar_from_wire(f, f.map_key or "string", wire_type, raw, path)
            elif number == 2:
                item = self._value(f, wire_type, raw, f"{path}[{key}]")
        if item is None:
            item = self.message(f.type, b"", path) if f.is_message else _ZERO_JSON.get(f.type, "")
        return str(key), item


_ZERO_JSON: dict[str, Any] = {"string": "", "bytes": "", "bool": False, "double": 0, "float": 0.0}


def _time_from_wire(decoder: Decoder, data: bytes | memoryview, path: str, *, micro: bool) -> Any:
    seconds = nanos = 0
    present = False
    for number, _, value in wire.fields(data):
        present = True
        if number == 1:
            seconds = wire.signed(int(value), 64)  # type: ignore[call-overload]
        elif number == 2:
            nanos = wire.signed(int(value), 32)  # type: ignore[call-overload]
    if not present or (seconds == _GO_ZERO_TIME and nanos == 0):
        return None
    try:
        moment = _EPOCH + dt.timedelta(seconds=seconds)
    except OverflowError:
        raise CodecError(path, f"time {seconds}s is out of range") from None
    if micro:
        # metav1.MicroTime keeps microseconds (RFC3339Micro); metav1.Time drops the nanoseconds on
        # decode as the Go type does (JSON never carried them).
        moment += dt.timedelta(microseconds=nanos // 1000)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _raw_json_from_wire(decoder: Decoder, data: bytes | memoryview, path: str) -> Any:
    raw = b""
    for number, _, value in wire.fields(data):
        if number == 1:
            raw = bytes(value)  # type: ignore[call-overload]
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise CodecError(path, "embedded raw value is not JSON") from None


def _quantity_from_wire(decoder: Decoder, data: bytes | memoryview, path: str) -> Any:
    text = "0"
    for number, _, value in wire.fields(data):
        if number == 1:
            text = bytes(value).decode()  # type: ignore[call-overload]
    return text


def _int_or_string_from_wire(decoder: Decoder, data: bytes | memoryview, path: str) -> Any:
    kind, number_value, text = 0, 0, ""
    for number, _, value in wire.fields(data):
        if number == 1:
            kind = int(value)  # type: ignore[call-overload]
        elif number == 2:
            number_value = wire.signed(int(value), 32)  # type: ignore[call-overload]
        elif number == 3:
            text = bytes(value).decode()  # type: ignore[call-overload]
    return text if kind == 1 else number_value


_PROPS = "apiextensions/v1.JSONSchemaProps"


def _props_or_array_from_wire(decoder: Decoder, data: bytes | memoryview, path: str) -> Any:
    single: Any = None
    many: list[Any] = []
    for number, _, value in wire.fields(data):
        if number == 1:
            single = decoder.message(_PROPS, value, path)  # type: ignore[arg-type]
        elif number == 2:
            many.append(decoder.message(_PROPS, value, f"{path}[{len(many)}]"))  # type: ignore[arg-type]
    return many if many else single


def _props_or_bool_from_wire(decoder: Decoder, data: bytes | memoryview, path: str) -> Any:
    allows, props = False, None
    for number, _, value in wire.fields(data):
        if number == 1:
            allows = bool(value)
        elif number == 2:
            props = decoder.message(_PROPS, value, path)  # type: ignore[arg-type]
    return props if props is not None else allows


def _props_or_strings_from_wire(decoder: Decoder, data: bytes | memoryview, path: str) -> Any:
    props: Any = None
    strings: list[str] = []
    for number, _, value in wire.fields(data):
        if number == 1:
            props = decoder.message(_PROPS, value, path)  # type: ignore[arg-type]
        elif number == 2:
            strings.append(bytes(value).decode())  # type: ignore[call-overload]
    return strings if strings else props


_SPECIAL_DECODE: dict[str, Callable[[Decoder, bytes | memoryview, str], Any]] = {
    "meta/v1.Time": lambda d, b, p: _time_from_wire(d, b, p, micro=False),
    "meta/v1.MicroTime": lambda d, b, p: _time_from_wire(d, b, p, micro=True),
    "meta/v1.FieldsV1": _raw_json_from_wire,
    "runtime.RawExtension": _raw_json_from_wire,
    "apiextensions/v1.JSON": _raw_json_from_wire,
    "resource.Quantity": _quantity_from_wire,
    "intstr.IntOrString": _int_or_string_from_wire,
    "apiextensions/v1.JSONSchemaPropsOrArray": _props_or_array_from_wire,
    "apiextensions/v1.JSONSchemaPropsOrBool": _props_or_bool_from_wire,
    "apiextensions/v1.JSONSchemaPropsOrStringArray": _props_or_strings_from_wire,
}


# -- encoding -------------------------------------------------------------------------------------


def _int(value: Any, path: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CodecError(path, f"expected an integer, got {type(value).__name__}")
    if isinstance(value, float):
        if not value.is_integer():
            raise CodecError(path, f"expected an integer, got {value}")
        value = int(value)
    if not low <= value <= high:
        raise CodecError(path, f"{value} is out of range")
    return value


def _scalar_to_wire(number: int, type_: str, value: Any, path: str) -> bytes:
    if type_ == "string":
        if not isinstance(value, str):
            raise CodecError(path, f"expected a string, got {type(value).__name__}")
        return wire.length_delimited(number, value.encode())
    if type_ == "bytes":
        if not isinstance(value, str):
            raise CodecError(path, f"expected base64 text, got {type(value).__name__}")
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise CodecError(path, "is not valid base64") from None
        return wire.length_delimited(number, raw)
    if type_ == "bool":
        if not isinstance(value, bool):
            raise CodecError(path, f"expected a boolean, got {type(value).__name__}")
        return wire.tag(number, wire.VARINT) + (b"\x01" if value else b"\x00")
    if type_ == "int32":
        return wire.tag(number, wire.VARINT) + wire.varint(_int(value, path, low=-(2**31), high=2**31 - 1))
    if type_ == "int64":
        return wire.tag(number, wire.VARINT) + wire.varint(_int(value, path, low=-(2**63), high=2**63 - 1))
    if type_ == "uint32":
        return wire.tag(number, wire.VARINT) + wire.varint(_int(value, path, low=0, high=2**32 - 1))
    if type_ == "uint64":
        return wire.tag(number, wire.VARINT) + wire.varint(_int(value, path, low=0, high=2**64 - 1))
    if type_ in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CodecError(path, f"expected a number, got {type(value).__name__}")
        if type_ == "double":
            return wire.tag(number, wire.FIXED64) + wire.pack_double(float(value))
        return wire.tag(number, wire.FIXED32) + wire.pack_float32(float(value))
    raise CodecError(path, f"unknown scalar type {type_}")


_ZERO_SCALAR: dict[str, Any] = {
    "string": "",
    "bool": False,
    "int32": 0,
    "int64": 0,
    "uint32": 0,
    "uint64": 0,
    "double": 0.0,
    "float": 0.0,
}


class Encoder:
    def __init__(self, table: schema.Schema) -> None:
        self.table = table
        self._zero: dict[str, bytes] = {}

    def message(self, name: str, obj: Any, path: str = "") -> bytes:
        msg = self.table.message(name)
        if msg.special:
            return _SPECIAL_ENCODE[name](self, obj, path)
        if obj is None:
            return self.zero(name)
        if not isinstance(obj, Mapping):
            raise CodecError(path, f"expected an object, got {type(obj).__name__}")
        out = bytearray()
        for f in msg.fields:
            if f.inline:
                # The embedded struct's fields sit in this object's JSON; Go always writes it.
                out += wire.length_delimited(f.number, self.message(f.type, obj, path))
                continue
            where = _join(path, f.json)
            value = obj.get(f.json)
            if f.map_key is not None:
                if value is None:
                    continue
                if not isinstance(value, Mapping):
                    raise CodecError(where, f"expected an object, got {type(value).__name__}")
                for key in sorted(value):
                    entry = _scalar_to_wire(1, f.map_key, key, where) + self._single(
                        2, f, value[key], f"{where}[{key}]"
                    )
                    out += wire.length_delimited(f.number, entry)
            elif f.repeated:
                if value is None:
                    continue
                if not isinstance(value, list):
                    raise CodecError(where, f"expected a list, got {type(value).__name__}")
                for index, item in enumerate(value):
                    out += self._single(f.number, f, item, f"{where}[{index}]")
            elif value is None:
                if f.pointer or f.type == "bytes":
                    continue  # nil pointers and nil byte slices are not written
                if f.is_message:
                    out += wire.length_delimited(f.number, self.zero(f.type))
                else:
                    out += _scalar_to_wire(f.number, f.type, _ZERO_SCALAR[f.type], where)
            else:
                out += self._single(f.number, f, value, where)
        return bytes(out)

    def _single(self, number: int, f: schema.Field, value: Any, path: str) -> bytes:
        if f.is_message:
            return wire.length_delimited(number, self.message(f.type, value, path))
        if value is None:
            value = _ZERO_SCALAR.get(f.type, "")
        return _scalar_to_wire(number, f.type, value, path)

    def zero(self, name: str) -> bytes:
        """What Go writes for a zero struct of this message (cached: it never changes)."""
        found = self._zero.get(name)
        if found is None:
            msg = self.table.message(name)
            found = _SPECIAL_ENCODE[name](self, None, "") if msg.special else self.message(name, {})
            self._zero[name] = found
        return found


def _parse_time(value: Any, path: str) -> dt.datetime:
    if not isinstance(value, str):
        raise CodecError(path, f"expected an RFC 3339 time, got {type(value).__name__}")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CodecError(path, f"{value!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def _time_to_wire(encoder: Encoder, value: Any, path: str, *, micro: bool) -> bytes:
    if value is None:
        return b""  # Go's zero Time marshals to nothing
    moment = _parse_time(value, path)
    delta = moment - _EPOCH
    seconds = delta.days * 86400 + delta.seconds
    # metav1.Time is second-precision in JSON, so a Go client sends nanos 0; MicroTime keeps
    # microseconds.
    nanos = delta.microseconds * 1000 if micro else 0
    return wire.tag(1, wire.VARINT) + wire.varint(seconds) + wire.tag(2, wire.VARINT) + wire.varint(nanos)


def _raw_json_to_wire(encoder: Encoder, value: Any, path: str) -> bytes:
    if value is None:
        return b""
    return wire.length_delimited(1, json.dumps(value, separators=(",", ":")).encode())


def _quantity_text(value: Any, path: str) -> str:
    if value is None:
        return "0"
    if isinstance(value, bool):
        raise CodecError(path, "expected a quantity, got a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value
    raise CodecError(path, f"expected a quantity, got {type(value).__name__}")


def _quantity_to_wire(encoder: Encoder, value: Any, path: str) -> bytes:
    return wire.length_delimited(1, _quantity_text(value, path).encode())


def _int_or_string_to_wire(encoder: Encoder, value: Any, path: str) -> bytes:
    if value is None:
        value = 0
    if isinstance(value, str):
        return b"\x08\x01\x10\x00" + wire.length_delimited(3, value.encode())
    number = _int(value, path, low=-(2**31), high=2**31 - 1)
    return b"\x08\x00" + wire.tag(2, wire.VARINT) + wire.varint(number) + b"\x1a\x00"


def _props_or_array_to_wire(encoder: Encoder, value: Any, path: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, list):
        return b"".join(
            wire.length_delimited(2, encoder.message(_PROPS, item, f"{path}[{i}]"))
            for i, item in enumerate(value)
        )
    return wire.length_delimited(1, encoder.message(_PROPS, value, path))


def _props_or_bool_to_wire(encoder: Encoder, value: Any, path: str) -> bytes:
    if value is None or isinstance(value, bool):
        return b"\x08\x01" if value else b"\x08\x00"
    return b"\x08\x01" + wire.length_delimited(2, encoder.message(_PROPS, value, path))


def _props_or_strings_to_wire(encoder: Encoder, value: Any, path: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, list):
        return b"".join(_scalar_to_wire(2, "string", item, f"{path}[{i}]") for i, item in enumerate(value))
    return wire.length_delimited(1, encoder.message(_PROPS, value, path))


_SPECIAL_ENCODE: dict[str, Callable[[Encoder, Any, str], bytes]] = {
    "meta/v1.Time": lambda e, v, p: _time_to_wire(e, v, p, micro=False),
    "meta/v1.MicroTime": lambda e, v, p: _time_to_wire(e, v, p, micro=True),
    "meta/v1.FieldsV1": _raw_json_to_wire,
    "runtime.RawExtension": _raw_json_to_wire,
    "apiextensions/v1.JSON": _raw_json_to_wire,
    "resource.Quantity": _quantity_to_wire,
    "intstr.IntOrString": _int_or_string_to_wire,
    "apiextensions/v1.JSONSchemaPropsOrArray": _props_or_array_to_wire,
    "apiextensions/v1.JSONSchemaPropsOrBool": _props_or_bool_to_wire,
    "apiextensions/v1.JSONSchemaPropsOrStringArray": _props_or_strings_to_wire,
}
