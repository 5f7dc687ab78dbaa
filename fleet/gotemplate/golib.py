"""Small ports of the Go library behaviour that Sprig functions build on.

Sprig's output is decided as much by the Go packages it calls as by Sprig itself: spf13/cast
turns ``"010"`` into 8 (base-0 parsing), encoding/json escapes ``<`` as ``\\u003c`` and writes
``1e+21`` as ``1e+21``, Go's regexp has RE2 syntax and ``$1x`` means the group named ``1x``.
This module holds those rules (re-implemented from their documentation and behaviour, not
copied) so the function definitions in :mod:`fleet.gotemplate.sprig` stay short.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from functools import lru_cache
from typing import Any

import regex as re2  # third-party `regex`: supports \p{..} and [[:alpha:]] as Go's RE2 does

from fleet.gotemplate import gofmt, values
from fleet.gotemplate.errors import FuncError
from fleet.gotemplate.values import MISSING

# Go's unicode.IsSpace: these plus the Unicode Z categories' space separators.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def go_trim_space(text: str) -> str:
    return text.strip(GO_SPACE)


def is_upper(ch: str) -> bool:
    """unicode.IsUpper: category Lu (Python's isupper also counts Other_Uppercase)."""
    return unicodedata.category(ch) == "Lu"


def is_lower(ch: str) -> bool:
    return unicodedata.category(ch) == "Ll"


def is_title(ch: str) -> bool:
    return unicodedata.category(ch) == "Lt"


def to_lower(ch: str) -> str:
    """unicode.ToLower: the simple one-rune mapping (Python's lower() may give two runes)."""
    mapped = ch.lower()
    if len(mapped) == 1:
        return mapped
    return "i" if ch == "\u0130" else ch


def to_upper(ch: str) -> str:
    mapped = ch.upper()
    if len(mapped) == 1:
        return mapped
    titled = ch.title()  # Greek letters with ypogegrammeni: the simple mapping is the titlecase
    return titled if len(titled) == 1 else ch


def to_title(ch: str) -> str:
    titled = ch.title()
    return titled if len(titled) == 1 else ch


def map_runes(text: str, convert: Any) -> str:
    return "".join(convert(ch) for ch in text)


def latin1_bytes(text: str) -> list[str]:
    """Each UTF-8 byte of ``text`` as the rune of the same value, as Go's ``rune(str[i])``."""
    return [chr(byte) for byte in utf8(text)]


def strval(value: Any) -> str:
    """Sprig's strval: strings as they are, Stringers through String(), the rest with %v."""
    if isinstance(value, str):
        return value
    if isinstance(value, values.GoObject):
        return str(value)
    return gofmt.sprint_value(None if value is MISSING else value)


def utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def from_utf8(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def byte_len(text: str) -> int:
    return len(text) if text.isascii() else len(utf8(text))


def byte_slice(text: str, start: int | None, end: int | None) -> str:
    """``text[start:end]`` on the UTF-8 bytes, as Go slices strings (callers check bounds)."""
    if text.isascii():
        return text[start:end]
    return from_utf8(utf8(text)[start:end])


def slice_panic(start: int | None, end: int | None, length: int) -> None:
    """Raise Go's runtime error for ``s[start:end]`` when the bounds are invalid."""
    if end is not None:
        if end < 0:
            raise FuncError(f"runtime error: slice bounds out of range [:{end}]")
        if end > length:
            raise FuncError(f"runtime error: slice bounds out of range [:{end}] with length {length}")
    if start is not None:
        if start < 0:
            raise FuncError(f"runtime error: slice bounds out of range [{start}:]")
        stop = length if end is None else end
        if start > stop:
            raise FuncError(f"runtime error: slice bounds out of range [{start}:{stop}]")


# -- spf13/cast ------------------------------------------------------------------------------


def _trim_zero_decimal(text: str) -> str:
    """cast's trimZeroDecimal: "5.00" -> "5"; other decimals ("5.7") are left to fail parsing."""
    found_zero = False
    for index in range(len(text), 0, -1):
        ch = text[index - 1]
        if ch == ".":
            if found_zero:
                return text[: index - 1]
        elif ch == "0":
            found_zero = True
        else:
            return text
    return text


def _parse_int_base0(text: str) -> int | None:
    from fleet.gotemplate import parser

    return parser.parse_go_int(text, signed=True)


def to_int64(value: Any) -> int:
    """cast.ToInt64: numbers converted (floats truncated), strings parsed, anything else 0."""
    if value is None or value is MISSING:
        return 0
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        return values.wrap_int64(int(value))
    if isinstance(value, float):
        return float_to_int64(value)
    if isinstance(value, str):
        if value == "":
            return 0
        parsed = _parse_int_base0(_trim_zero_decimal(value))
        return parsed if parsed is not None else 0
    return 0


def float_to_int64(value: float) -> int:
    """Go's int64(f) conversion: truncation; out of range and NaN give the minimum int64."""
    if math.isnan(value) or value >= 2.0**63 or value < -(2.0**63):
        return values.INT64_MIN
    return int(value)


def to_float64(value: Any) -> float:
    """cast.ToFloat64: numbers converted, strings parsed with ParseFloat, anything else 0."""
    if value is None or value is MISSING:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        from fleet.gotemplate import parser

        parsed = parser.parse_go_float(value)
        if parsed is None:
            lowered = value.lower().lstrip("+-")
            if lowered in ("inf", "infinity"):
                return -math.inf if value.startswith("-") else math.inf
            if lowered == "nan":
                return math.nan
            return 0.0
        return parsed
    return 0.0


def is_empty(value: Any) -> bool:
    """Sprig's empty(): the zero value of its type, nil and no value."""
    if value is None or value is MISSING:
        return True
    if isinstance(value, (str, dict, list, tuple)):
        return len(value) == 0
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float, complex)):
        return value == 0
    return False


def deep_equal(left: Any, right: Any) -> bool:
    """reflect.DeepEqual: equal values of identical Go types (1 and 1.0 differ)."""
    if values.type_name(left) != values.type_name(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(deep_equal(left[key], right[key]) for key in left)
    if isinstance(left, (list, tuple)):
        return len(left) == len(right) and all(deep_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, float) and math.isnan(left):
        return False
    return bool(left == right)


# -- encoding/json ---------------------------------------------------------------------------


def json_float(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise FuncError(f"json: unsupported value: {gofmt.format_float(value, 'g', -1)}")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        text = gofmt.format_float(value, "e", -1)
        # Go writes e-7 rather than e-07.
        mantissa, _, exponent = text.partition("e")
        sign = exponent[0]
        digits = exponent[1:].lstrip("0") or "0"
        return f"{mantissa}e{sign}{digits}"
    return gofmt.format_float(value, "f", -1)


def json_string(text: str, escape_html: bool = True) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20:
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch) or f"\\u{code:04x}")
        elif (escape_html and ch in "<>&") or code in (0x2028, 0x2029):
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def to_json(value: Any, *, escape_html: bool = True, indent: str | None = None, level: int = 0) -> str:
    """encoding/json.Marshal (or MarshalIndent with ``indent``) of a template value."""
    if value is None or value is MISSING:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return json_float(value)
    if isinstance(value, str):
        return json_string(value, escape_html)
    if isinstance(value, values.GoObject):
        return json_string(str(value), escape_html)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = sorted(value.items())
        if indent is None:
            return (
                "{"
                + ",".join(
                    json_string(str(key), escape_html) + ":" + to_json(item, escape_html=escape_html)
                    for key, item in items
                )
                + "}"
            )
        inner = "\n" + indent * (level + 1)
        return (
            "{"
            + ",".join(
                inner
                + json_string(str(key), escape_html)
                + ": "
                + to_json(item, escape_html=escape_html, indent=indent, level=level + 1)
                for key, item in items
            )
            + "\n"
            + indent * level
            + "}"
        )
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        if indent is None:
            return "[" + ",".join(to_json(item, escape_html=escape_html) for item in value) + "]"
        inner = "\n" + indent * (level + 1)
        return (
            "["
            + ",".join(
                inner + to_json(item, escape_html=escape_html, indent=indent, level=level + 1)
                for item in value
            )
            + "\n"
            + indent * level
            + "]"
        )
    if isinstance(value, complex):
        raise FuncError("json: unsupported type: complex128")
    if callable(value):
        raise FuncError(f"json: unsupported type: {values.type_name(value)}")
    return json_string(str(value), escape_html)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def from_json(text: str) -> Any:
    """encoding/json.Unmarshal into interface{}: numbers become float64."""
    try:
        return json.loads(text, parse_int=float, parse_constant=_reject_constant)
    except ValueError as exc:
        raise FuncError(_json_error(text, exc)) from None


_JSON_ERRORS = {
    "Expecting property name enclosed in double quotes": "looking for beginning of object key string",
    "Expecting value": "looking for beginning of value",
    "Expecting ':' delimiter": "after object key",
    "Extra data": "after top-level value",
    "Invalid control character at": "in string literal",
    "Invalid \\escape": "in string escape code",
}


def _json_error(text: str, exc: ValueError) -> str:
    """Go's encoding/json syntax error wording for Python's JSONDecodeError."""
    if not isinstance(exc, json.JSONDecodeError):
        return "invalid character 'N' looking for beginning of value"
    pos = exc.pos
    if (
        exc.msg.startswith("Unterminated string")
        or pos >= len(text)
        or (exc.msg == "Expecting value" and text[pos:].strip() == "")
    ):
        return "unexpected end of JSON input"
    ch = text[pos]
    context = None
    for prefix, wording in _JSON_ERRORS.items():
        if exc.msg.startswith(prefix):
            context = wording
            break
    if exc.msg.startswith("Expecting ',' delimiter"):
        opener = _innermost_open(text, pos)
        context = "after array element" if opener == "[" else "after object key:value pair"
    if context is None:
        context = "looking for beginning of value"
    if exc.msg.startswith("Invalid \\escape"):
        ch = text[pos + 1] if pos + 1 < len(text) else ch
    return f"invalid character {gofmt.quote_rune(ord(ch))} {context}"


def _innermost_open(text: str, pos: int) -> str:
    depth: list[str] = []
    in_string = False
    escaped = False
    for ch in text[:pos]:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth.append(ch)
        elif ch in "]}" and depth:
            depth.pop()
    return depth[-1] if depth else ""


# -- regexp (RE2) ------------------------------------------------------------------------------
# Go's regexp differs from Python's in a few ways that matter here; `translate_regexp` maps
# them: `$` (without the m flag) and `\z` mean the end of the text only (Python's `$` also
# matches before a final newline, hence `\Z`), `\Q...\E` quotes a literal, `(?<name>...)` is a
# named group, `\d \w \s \b` are ASCII-only (Python's are Unicode-aware), and backreferences and lookaround do not exist
# in RE2 (compiling them is an error, as in Go).

_ASCII_CLASSES = {
    "d": "0-9",
    "w": "0-9A-Za-z_",
    "s": "\\t\\n\\f\\r ",
    "D": "\\D",
    "W": "\\W",
    "S": "\\S",
    "b": "\\b",
    "B": "\\B",
}
_UNSUPPORTED = re.compile(r"\(\?(?:=|!|<=|<!)")


class RegexpError(Exception):
    pass


def _translate(pattern: str) -> str:
    out: list[str] = []
    index = 0
    in_class = False
    multiline = False
    while index < len(pattern):
        ch = pattern[index]
        if ch == "\\" and index + 1 < len(pattern):
            nxt = pattern[index + 1]
            if nxt == "Q":
                end = pattern.find("\\E", index + 2)
                literal = pattern[index + 2 :] if end < 0 else pattern[index + 2 : end]
                out.append(re2.escape(literal))
                index = len(pattern) if end < 0 else end + 2
                continue
            if nxt == "z" and not in_class:
                out.append(r"\Z")
            elif nxt == "Z":
                raise RegexpError("invalid escape sequence: `\\Z`")
            elif nxt.isdigit() and nxt != "0" and not in_class:
                raise RegexpError(f"invalid escape sequence: `\\{nxt}`")
            elif nxt in _ASCII_CLASSES:
                # Go's \d \w \s \b are ASCII-only; \pL and (?i) stay Unicode-aware.
                out.append(_ASCII_CLASSES[nxt] if in_class else f"(?a:\\{nxt})")
            else:
                out.append(ch + nxt)
            index += 2
            continue
        if in_class:
            if ch == "[" and pattern.startswith("[:", index):
                end = pattern.find(":]", index)
                if end > 0:
                    out.append(pattern[index : end + 2])
                    index = end + 2
                    continue
            if ch == "]":
                in_class = False
            out.append(ch)
            index += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            index += 1
            if index < len(pattern) and pattern[index] == "^":
                out.append("^")
                index += 1
            if index < len(pattern) and pattern[index] == "]":
                out.append("\\]")
                index += 1
            continue
        if ch == "(" and pattern.startswith("(?<", index) and not pattern.startswith(("(?<=", "(?<!"), index):
            out.append("(?P<")
            index += 3
            continue
        if ch == "(" and pattern.startswith("(?", index):
            flags = re.match(r"\(\?([imsU-]*)\)", pattern[index:])
            if flags and "m" in flags.group(1).split("-")[0]:
                multiline = True
            if flags and "U" in flags.group(1):
                raise RegexpError("ungreedy flag (?U) is not supported")
        if ch == "$" and not multiline:
            out.append(r"(?:\Z)")
            index += 1
            continue
        out.append(ch)
        index += 1
    return "".join(out)


@lru_cache(maxsize=512)
def compile_regexp(pattern: str) -> Any:
    """Compile a Go regular expression; FuncError with Go's wording when it is invalid."""
    if _UNSUPPORTED.search(pattern):
        found = _UNSUPPORTED.search(pattern)
        assert found is not None
        raise FuncError(f"error parsing regexp: invalid or unsupported Perl syntax: `{found.group(0)}`")
    try:
        return re2.compile(_translate(pattern), re2.V0)
    except RegexpError as exc:
        raise FuncError(f"error parsing regexp: {exc}") from None
    except re2.error as exc:
        raise FuncError(f"error parsing regexp: {_regexp_message(str(exc), pattern)}") from None


def _regexp_message(message: str, pattern: str) -> str:
    if "missing )" in message:
        return f"missing closing ): `{pattern}`"
    if "unbalanced parenthesis" in message:
        return f"unexpected ): `{pattern}`"
    if "unterminated character set" in message:
        return f"missing closing ]: `{pattern[pattern.rfind('[') :]}`"
    if "nothing to repeat" in message or "multiple repeat" in message:
        return f"missing argument to repetition operator: `{pattern}`"
    return message


def must_compile(pattern: str) -> Any:
    """regexp.MustCompile: a compile error is a panic, reported as Go words it."""
    try:
        return compile_regexp(pattern)
    except FuncError as exc:
        quoted = f"`{pattern}`" if gofmt.can_backquote(pattern) else gofmt.quote(pattern)
        raise FuncError(f"regexp: Compile({quoted}): {exc}") from None


def find_all(compiled: Any, text: str, limit: int) -> list[Any]:
    """Go's FindAll: at most ``limit`` matches (all if < 0); an empty match right after the
    previous match is skipped (Python would report it)."""
    if limit == 0:
        return []
    matches = []
    previous_end = -1
    for match in compiled.finditer(text):
        if match.start() == match.end() and match.start() == previous_end:
            continue
        matches.append(match)
        previous_end = match.end()
        if 0 < limit <= len(matches):
            break
    return matches


def expand(template: str, match: Any) -> str:
    """Go's Regexp.Expand: $1, ${1}, $name, ${name}; $$ is a dollar; unknown names are empty."""
    out: list[str] = []
    index = 0
    while index < len(template):
        dollar = template.find("$", index)
        if dollar < 0:
            out.append(template[index:])
            break
        out.append(template[index:dollar])
        index = dollar + 1
        if index < len(template) and template[index] == "$":
            out.append("$")
            index += 1
            continue
        name, index, ok = _extract_name(template, index)
        if not ok:
            out.append("$")
            continue
        out.append(_group(match, name))
    return "".join(out)


def _extract_name(template: str, index: int) -> tuple[str, int, bool]:
    brace = index < len(template) and template[index] == "{"
    start = index + 1 if brace else index
    end = start
    while end < len(template) and (
        template[end].isascii() and (template[end].isalnum() or template[end] == "_")
    ):
        end += 1
    if end == start:
        return "", index, False
    name = template[start:end]
    if brace:
        if end >= len(template) or template[end] != "}":
            return "", index, False
        end += 1
    return name, end, True


def _group(match: Any, name: str) -> str:
    try:
        if name.isdigit():
            number = int(name)
            if number > match.re.groups:
                return ""
            return match.group(number) or ""
        return match.group(name) or ""
    except (IndexError, re2.error):
        return ""


def replace_all(compiled: Any, text: str, replacement: str, *, literal: bool) -> str:
    out: list[str] = []
    last = 0
    for match in find_all(compiled, text, -1):
        out.append(text[last : match.start()])
        out.append(replacement if literal else expand(replacement, match))
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def split(compiled: Any, pattern: str, text: str, limit: int) -> list[str]:
    """Go's Regexp.Split(s, n)."""
    if limit == 0:
        return []
    if pattern and not text:
        return [""]
    parts: list[str] = []
    begin = 0
    end = 0
    for match in find_all(compiled, text, limit):
        if limit > 0 and len(parts) == limit - 1:
            break
        end = match.start()
        if match.end() != 0:
            parts.append(text[begin:end])
        begin = match.end()
    if end != len(text):
        parts.append(text[begin:])
    return parts


_QUOTE_META = re.compile(r"([\\.+*?()|\[\]{}^$])")


def quote_meta(text: str) -> str:
    return _QUOTE_META.sub(r"\\\1", text)
