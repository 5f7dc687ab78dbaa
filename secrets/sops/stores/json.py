"""The JSON store: key order kept, Go's number rules, Go's ``encoding/json`` text, tab indent.

Numbers that are integers within int64 become ``int``, every other number ``float`` (so ``1.0``
is a float and is written back as ``1``, as Go does); strings are escaped the way Go escapes
them (``<``, ``>``, ``&``, U+2028 and U+2029 as ``\\u`` escapes); output is indented with one tab
per level and ends with a newline (FORMATS.md A.9).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from fleet.secrets.sops import errors, metadata, tree
from fleet.secrets.sops.cipher import format_float_json

_INT64 = (-(2**63), 2**63 - 1)


def _parse_int(text: str) -> int | float:
    value = int(text)
    return value if _INT64[0] <= value <= _INT64[1] else float(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _pairs(pairs: list[tuple[str, Any]]) -> tree.Branch:
    return tree.Branch(tree.Item(key, value) for key, value in pairs)


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_int=_parse_int, parse_constant=_reject_constant)


def load(data: bytes, *, file: str | None = None) -> list[tree.Branch]:
    """The JSON object of a file as a tree (one document)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.FormatError(
            "could not unmarshal input data: the file is not valid UTF-8", file=file
        ) from None
    try:
        value, _end = _DECODER.raw_decode(text.lstrip())
    except json.JSONDecodeError as exc:
        raise errors.FormatError(
            f"could not unmarshal input data: {exc.msg} (line {exc.lineno}, column {exc.colno})", file=file
        ) from None
    except ValueError as exc:
        raise errors.FormatError(f"could not unmarshal input data: {exc}", file=file) from None
    if not isinstance(value, tree.Branch):
        raise errors.FormatError(
            "SOPS only supports JSON files with a top-level object (starting with '{'); "
            'wrap other values in an object, e.g. {"data": [...]}',
            file=file,
        )
    return [value]


_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_HTML_PATTERN = re.compile("[<>&\u2028\u2029]")


def encode_string(value: str) -> str:
    """Go ``json.Marshal`` of a string (invalid UTF-8 becomes U+FFFD, as in Go)."""
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = json.dumps(value, ensure_ascii=False)
    return _HTML_PATTERN.sub(lambda match: _HTML_ESCAPES[match.group(0)], text)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise errors.FormatError("JSON cannot hold NaN or infinity")
        return format_float_json(value)
    if isinstance(value, tree.GoTime):
        return encode_string(value.text)
    if isinstance(value, bytes):
        import base64

        return encode_string(base64.b64encode(value).decode())
    if isinstance(value, str):
        return encode_string(value)
    raise errors.FormatError(f"cannot write a {type(value).__name__} as JSON")


def encode(value: Any, depth: int = 0) -> str:
    """``value`` as Go's ``json.Indent(..., "", "\\t")`` would lay it out (comments dropped)."""
    inner = "\t" * (depth + 1)
    if isinstance(value, tree.Branch):
        items = [(item.key, item.value) for item in value if isinstance(item.key, str)]
        if not items:
            return "{}"
        parts = [f"{inner}{encode_string(key)}: {encode(item, depth + 1)}" for key, item in items]
        return "{\n" + ",\n".join(parts) + "\n" + "\t" * depth + "}"
    if isinstance(value, list):
        elements = [element for element in value if not isinstance(element, tree.Comment)]
        if not elements:
            return "[]"
        parts = [f"{inner}{encode(element, depth + 1)}" for element in elements]
        return "[\n" + ",\n".join(parts) + "\n" + "\t" * depth + "]"
    return _scalar(value)


def emit(branches: list[tree.Branch]) -> bytes:
    if len(branches) != 1:
        raise errors.FormatError("a JSON file holds exactly one document")
    return (encode(branches[0]) + "\n").encode("utf-8")


class JsonStore:
    """The JSON store (``.json``)."""

    def load(self, data: bytes, *, file: str | None) -> list[tree.Branch]:
        return load(data, file=file)

    def load_encrypted(self, data: bytes, *, file: str | None) -> tuple[list[tree.Branch], tree.Branch]:
        return metadata.extract(load(data, file=file), file=file)

    def emit_plain(self, branches: list[tree.Branch]) -> bytes:
        return emit(branches)

    def emit_encrypted(self, branches: list[tree.Branch], meta: tree.Branch) -> bytes:
        from fleet.secrets.sops.stores import append_nested_metadata

        return emit(append_nested_metadata(branches, meta))

    def has_metadata(self, branches: list[tree.Branch]) -> bool:
        return metadata.has_metadata(branches)
