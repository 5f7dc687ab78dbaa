"""Protocol Buffers wire format: varints, tags and length-delimited fields, read and written.

Hand-written on purpose (issue 10 asks for it): the ``protobuf`` runtime works from compiled
descriptors, which Kubernetes does not ship for Python, and the part of the format Kubernetes
uses is small: wire types 0 (varint), 1 (64-bit), 2 (length-delimited) and 5 (32-bit).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
_MASK64 = (1 << 64) - 1


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """The unsigned varint at ``pos`` and the position after it."""
    result = shift = 0
    end = len(data)
    while True:
        if pos >= end:
            raise WireError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireError("varint longer than 10 bytes")


def fields(data: bytes | memoryview) -> Iterator[tuple[int, int, object]]:
    """``(number, wire type, value)`` for every field of one message, in wire order.

    Varints come back as unsigned ints, fixed-width values as their raw bytes, and
    length-delimited values as ``memoryview`` slices (no copies of nested messages).
    """
    view = memoryview(data) if not isinstance(data, memoryview) else data
    pos, end = 0, len(view)
    while pos < end:
        key, pos = read_varint(view, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire_type == VARINT:
            value, pos = read_varint(view, pos)
            yield number, wire_type, value
        elif wire_type == LENGTH:
            size, pos = read_varint(view, pos)
            if pos + size > end:
                raise WireError(f"field {number}: length {size} runs past the end of the message")
            yield number, wire_type, view[pos : pos + size]
            pos += size
        elif wire_type == FIXED64:
            if pos + 8 > end:
                raise WireError(f"field {number}: truncated 64-bit value")
            yield number, wire_type, bytes(view[pos : pos + 8])
            pos += 8
        elif wire_type == FIXED32:
            if pos + 4 > end:
                raise WireError(f"field {number}: truncated 32-bit value")
            yield number, wire_type, bytes(view[pos : pos + 4])
            pos += 4
        else:
            raise WireError(f"field {number}: unsupported wire type {wire_type}")


def varint(value: int) -> bytes:
    """An unsigned varint; negative values as their 64-bit two's complement (10 bytes), as Go
    writes negative int32 and int64."""
    value &= _MASK64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint((number << 3) | wire_type)


def signed(value: int, bits: int) -> int:
    """A varint read as a two's complement signed integer of ``bits`` bits."""
    value &= (1 << 64) - 1
    if bits == 32:
        value &= 0xFFFFFFFF
        return value - (1 << 32) if value & 0x80000000 else value
    return value - (1 << 64) if value & (1 << 63) else value


def length_delimited(number: int, payload: bytes) -> bytes:
    return tag(number, LENGTH) + varint(len(payload)) + payload


def double(raw: bytes) -> float:
    return float(struct.unpack("<d", raw)[0])


def float32(raw: bytes) -> float:
    return float(struct.unpack("<f", raw)[0])


def pack_double(value: float) -> bytes:
    return struct.pack("<d", value)


def pack_float32(value: float) -> bytes:
    return struct.pack("<f", value)


def packed_varints(data: memoryview) -> Iterator[int]:
    """The values of a packed repeated varint field (proto3 style; accepted on input)."""
    pos = 0
    while pos < len(data):
        value, pos = read_varint(data, pos)
        yield value
