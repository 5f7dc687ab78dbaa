"""Sprig's template functions (github.com/Masterminds/sprig v3 ``GenericFuncMap``).

Argo CD renders ApplicationSet templates with every Sprig function except ``env``,
``expandenv`` and ``getHostByName``; the Sealed Secrets controller uses the same set for
``spec.template.data``. :data:`SPRIG_FUNCS` therefore leaves those three out on purpose: they
would let a template read the controller's environment or probe the network.

Each function is declared with its Go signature (see :mod:`fleet.gotemplate.gofunc`) and
re-implements the documented behaviour, including the quirks users rely on: ``default``
treats 0, "" and false as unset, ``trunc`` cuts bytes, ``add`` converts strings with base-0
parsing, ``first`` of a non-list fails with "Cannot find first on type string".

Go maps have no order, so functions that list a map's keys or values (``keys``, ``values``)
return them sorted by key here, where Go would give a random order.
"""

from __future__ import annotations

import base64
import binascii
import decimal
import hashlib
import math
import secrets as std_secrets
import string
import uuid
import zlib
from typing import Any

from fleet.gotemplate import gofmt, golib, values
from fleet.gotemplate.errors import FuncError
from fleet.gotemplate.gofunc import ANY, BOOL, FLOAT64, INT, MAP, STRING, TIME, GoFunc, func
from fleet.gotemplate.values import MISSING, Int64, IntList, StrList, StrMap

_REGISTRY: list[GoFunc] = []


def sprig(name: str, *params: Any, variadic: Any = None, aliases: tuple[str, ...] = ()) -> Any:
    """Declare a Sprig function (and its aliases) with its Go signature."""

    def wrap(fn: Any) -> GoFunc:
        declared = func(name, *params, variadic=variadic)(fn)
        _REGISTRY.append(declared)
        for alias in aliases:
            _REGISTRY.append(GoFunc(alias, fn, declared.params, declared.variadic))
        return declared

    return wrap


def _kind_error(what: str, value: Any) -> FuncError:
    if value is None or value is MISSING:
        # reflect.TypeOf(nil).Kind() dereferences a nil pointer in Go.
        return FuncError("runtime error: invalid memory address or nil pointer dereference")
    return FuncError(f"{what} {values.kind_name(value)}")


def _as_list(value: Any, what: str) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise _kind_error(what, value)


# -- strings -----------------------------------------------------------------------------------


@sprig("hello")
def hello() -> str:
    return "Hello!"


@sprig("abbrev", INT, STRING)
def abbrev(width: int, text: str) -> str:
    if width < 4 or text == "" or golib.byte_len(text) <= width:
        return text
    return golib.byte_slice(text, 0, width - 3) + "..."


@sprig("abbrevboth", INT, INT, STRING)
def abbrevboth(left: int, right: int, text: str) -> str:
    if right < 4 or (left > 0 and right < 7):
        return text
    length = golib.byte_len(text)
    if text == "" or length <= right:
        return text
    offset = min(left, length)
    if length - offset < right - 3:
        offset = length - (right - 3)
    if offset <= 4:
        return golib.byte_slice(text, 0, right - 3) + "..."
    if offset + right - 3 < length:
        return "..." + abbrev.fn(right - 3, golib.byte_slice(text, offset, None))
    return "..." + golib.byte_slice(text, length - (right - 3), None)


@sprig("trunc", INT, STRING)
def trunc(count: int, text: str) -> str:
    length = golib.byte_len(text)
    if count < 0 and length + count > 0:
        return golib.byte_slice(text, length + count, None)
    if count >= 0 and length > count:
        return golib.byte_slice(text, 0, count)
    return text


@sprig("trim", STRING)
def trim(text: str) -> str:
    return golib.go_trim_space(text)


@sprig("upper", STRING)
def upper(text: str) -> str:
    # Go maps rune by rune; Python's str.upper() may change the length ("ß" -> "SS").
    return text.upper() if text.isascii() else golib.map_runes(text, golib.to_upper)


@sprig("lower", STRING)
def lower(text: str) -> str:
    return text.lower() if text.isascii() else golib.map_runes(text, golib.to_lower)


def _is_title_separator(ch: str) -> bool:
    # strings.Title's isSeparator: ASCII alphanumerics and underscore are not separators,
    # other ASCII is; letters and digits are not; otherwise only spaces are.
    if ch.isascii():
        return not (ch.isalnum() or ch == "_")
    if ch.isalpha() or ch.isdigit():
        return False
    return ch in golib.GO_SPACE


@sprig("title", STRING)
def title(text: str) -> str:
    out = []
    previous = " "
    for ch in text:
        if _is_title_separator(previous):
            out.append(golib.to_title(ch))
        else:
            out.append(ch)
        previous = ch
    return "".join(out)


@sprig("untitle", STRING)
def untitle(text: str) -> str:
    out = []
    next_word = True
    for ch in text:
        if ch in golib.GO_SPACE:
            next_word = True
            out.append(ch)
        elif next_word:
            out.append(golib.to_lower(ch))
            next_word = False
        else:
            out.append(ch)
    return "".join(out)


@sprig("substr", INT, INT, STRING)
def substr(start: int, end: int, text: str) -> str:
    length = golib.byte_len(text)
    if start < 0:
        golib.slice_panic(None, end, length)
        return golib.byte_slice(text, 0, end)
    if end < 0 or end > length:
        golib.slice_panic(start, None, length)
        return golib.byte_slice(text, start, None)
    golib.slice_panic(start, end, length)
    return golib.byte_slice(text, start, end)


@sprig("repeat", INT, STRING)
def repeat(count: int, text: str) -> str:
    if count < 0:
        raise FuncError("strings: negative Repeat count")
    if count and golib.byte_len(text) * count > 1 << 30:
        raise FuncError("strings: Repeat output length overflow")
    return text * count


@sprig("trimAll", STRING, STRING, aliases=("trimall",))
def trim_all(cutset: str, text: str) -> str:
    return text.strip(cutset) if cutset else text


@sprig("trimSuffix", STRING, STRING)
def trim_suffix(suffix: str, text: str) -> str:
    return text[: -len(suffix)] if suffix and text.endswith(suffix) else text


@sprig("trimPrefix", STRING, STRING)
def trim_prefix(prefix: str, text: str) -> str:
    return text.removeprefix(prefix)


@sprig("nospace", STRING)
def nospace(text: str) -> str:
    # goutils walks the string byte by byte, each byte taken as a Latin-1 rune: non-ASCII text
    # comes out mangled whenever a space was removed, as in Go.
    runes = golib.latin1_bytes(text)
    kept = [ch for ch in runes if ch not in golib.GO_SPACE]
    return text if len(kept) == len(runes) else "".join(kept)


@sprig("initials", STRING)
def initials(text: str) -> str:
    out = []
    take = True
    for ch in golib.latin1_bytes(text):  # byte by byte, as goutils does
        if ch in golib.GO_SPACE:
            take = True
        elif take:
            out.append(ch)
            take = False
    return "".join(out)


def _random(count: int, alphabet: str) -> str:
    if count < 0:
        raise FuncError(f"Requested random string length {count} is less than 0.")
    return "".join(std_secrets.choice(alphabet) for _ in range(count))


@sprig("randAlphaNum", INT)
def rand_alpha_num(count: int) -> str:
    return _random(count, string.ascii_letters + string.digits)


@sprig("randAlpha", INT)
def rand_alpha(count: int) -> str:
    return _random(count, string.ascii_letters)


@sprig("randAscii", INT)
def rand_ascii(count: int) -> str:
    return _random(count, "".join(chr(code) for code in range(32, 127)))


@sprig("randNumeric", INT)
def rand_numeric(count: int) -> str:
    return _random(count, string.digits)


@sprig("randBytes", INT)
def rand_bytes(count: int) -> str:
    if count < 0:
        raise FuncError("runtime error: makeslice: len out of range")
    return base64.b64encode(std_secrets.token_bytes(count)).decode()


@sprig("randInt", INT, INT)
def rand_int(low: int, high: int) -> int:
    if high - low <= 0:
        raise FuncError("invalid argument to Intn")
    return low + std_secrets.randbelow(high - low)


@sprig("swapcase", STRING)
def swapcase(text: str) -> str:
    """goutils.SwapCase: upper and title to lower, lower to upper (to title after a space)."""
    out = []
    whitespace = True
    for ch in text:
        if golib.is_upper(ch) or golib.is_title(ch):
            out.append(golib.to_lower(ch))
            whitespace = False
        elif golib.is_lower(ch):
            out.append(golib.to_title(ch) if whitespace else golib.to_upper(ch))
            whitespace = False
        else:
            out.append(ch)
            whitespace = ch in golib.GO_SPACE
    return "".join(out)


@sprig("shuffle", STRING)
def shuffle(text: str) -> str:
    chars = list(text)
    for index in range(len(chars) - 1, 0, -1):
        other = std_secrets.randbelow(index + 1)
        chars[index], chars[other] = chars[other], chars[index]
    return "".join(chars)


# xstrings word splitting for snakecase / kebabcase / camelcase.

_INVALID, _NUMBER, _UPPER, _ALPHA, _CONNECTOR, _PUNCT, _OTHER = range(7)


def _is_connector(ch: str) -> bool:
    return ch in ("-", "_") or ch in golib.GO_SPACE


def _is_punct(ch: str) -> bool:
    import unicodedata

    return unicodedata.category(ch).startswith("P")


def _is_alphabet(ch: str) -> bool:
    return ch.isalpha()


def _is_number(ch: str) -> bool:
    import unicodedata

    return unicodedata.category(ch).startswith("N")


def _next_word(text: str) -> tuple[int, str, str]:
    if not text:
        return _INVALID, "", ""
    first = text[0]
    size = 1
    if _is_connector(first):
        kind = _CONNECTOR
        while size < len(text) and _is_connector(text[size]):
            size += 1
    elif _is_punct(first):
        kind = _PUNCT
        while size < len(text) and _is_punct(text[size]):
            size += 1
    elif golib.is_upper(first):
        kind = _UPPER
        if size < len(text):
            second = text[size]
            if golib.is_upper(second):
                size += 1
                while size < len(text) and golib.is_upper(text[size]):
                    size += 1
                if size < len(text) and _is_alphabet(text[size]):
                    size -= 1  # "HTTPServer": the last capital starts the next word
            elif _is_alphabet(second):
                size += 1
                while size < len(text) and _is_alphabet(text[size]) and not golib.is_upper(text[size]):
                    size += 1
    elif _is_alphabet(first):
        kind = _ALPHA
        while size < len(text) and _is_alphabet(text[size]) and not golib.is_upper(text[size]):
            size += 1
    elif _is_number(first):
        kind = _NUMBER
        while size < len(text) and _is_number(text[size]):
            size += 1
    else:
        kind = _OTHER
        while size < len(text):
            ch = text[size]
            if _is_connector(ch) or _is_alphabet(ch) or _is_number(ch) or _is_punct(ch):
                break
            size += 1
    return kind, text[:size], text[size:]


def _to_lower(out: list[str], kind: int, word: str, connector: str) -> None:
    if kind not in (_UPPER, _CONNECTOR):
        out.append(word)
        return
    for ch in word:
        if _is_connector(ch):
            out.append(connector)
        elif golib.is_upper(ch):
            out.append(golib.to_lower(ch))
        else:
            out.append(ch)


def _camel_to_lower(text: str, connector: str) -> str:
    """xstrings' camelCaseToLowerCase: "HTTPServer2Go" -> "http_server_2_go"."""
    if not text:
        return ""
    out: list[str] = []
    kind, word, remaining = _next_word(text)
    while remaining:
        if kind != _CONNECTOR:
            _to_lower(out, kind, word, connector)
        previous, last = kind, word
        kind, word, remaining = _next_word(remaining)
        if previous == _NUMBER:
            while kind in (_ALPHA, _NUMBER):
                _to_lower(out, kind, word, connector)
                kind, word, remaining = _next_word(remaining)
            if kind not in (_INVALID, _PUNCT, _CONNECTOR):
                out.append(connector)
        elif previous == _CONNECTOR:
            _to_lower(out, previous, last, connector)
        elif previous == _PUNCT:
            pass
        else:
            if kind != _NUMBER:
                if kind not in (_CONNECTOR, _PUNCT):
                    out.append(connector)
                continue
            if not remaining:
                continue
            last = word
            kind, word, remaining = _next_word(remaining)
            if kind != _ALPHA:
                _to_lower(out, _NUMBER, last, connector)
                if kind not in (_CONNECTOR, _PUNCT):
                    out.append(connector)
                continue
            out.append(connector)
            _to_lower(out, _NUMBER, last, connector)
            while kind in (_ALPHA, _NUMBER):
                _to_lower(out, kind, word, connector)
                kind, word, remaining = _next_word(remaining)
            if kind not in (_INVALID, _CONNECTOR, _PUNCT):
                out.append(connector)
    _to_lower(out, kind, word, connector)
    return "".join(out)


@sprig("snakecase", STRING)
def snakecase(text: str) -> str:
    return _camel_to_lower(text, "_")


@sprig("kebabcase", STRING)
def kebabcase(text: str) -> str:
    return _camel_to_lower(text, "-")


_upper_rune = golib.to_upper
_lower_rune = golib.to_lower


@sprig("camelcase", STRING)
def camelcase(text: str) -> str:
    """xstrings.ToPascalCase: "http_server" -> "HttpServer" (connectors dropped)."""
    if not text:
        return ""
    out: list[str] = []
    index = 0
    current = ""
    while index < len(text):
        current = text[index]
        index += 1
        if not _is_connector(current):
            first_upper = golib.is_upper(current)
            current = _upper_rune(current)
            break
        out.append(current)
    if index >= len(text):  # (xstrings writes the last rune again after all-connector input)
        out.append(current)
        return "".join(out)
    while index < len(text):
        previous = current
        current = text[index]
        index += 1
        if _is_connector(current) and _is_connector(previous):
            out.append(previous)
            continue
        if _is_connector(previous):
            first_upper = golib.is_upper(current)
            current = _upper_rune(current)
        else:
            if first_upper:
                if golib.is_upper(current):
                    current = _lower_rune(current)
                else:
                    first_upper = False
            out.append(previous)
    out.append(current)
    return "".join(out)


def _wrap(text: str, width: int, newline: str, wrap_long: bool) -> str:
    """goutils.WrapCustom: break lines at spaces so they fit in ``width`` bytes."""
    if text == "":
        return ""
    data = golib.utf8(text)
    sep = golib.utf8(newline or "\n")
    width = max(width, 1)
    offset = 0
    out: list[bytes] = []
    while len(data) - offset > width:
        if data[offset : offset + 1] == b" ":
            offset += 1
            continue
        space = data.rfind(b" ", offset, offset + width + 1)
        if space >= offset:
            out += [data[offset:space], sep]
            offset = space + 1
        elif wrap_long:
            out += [data[offset : offset + width], sep]
            offset += width
        else:
            space = data.find(b" ", offset + width)
            if space < 0:
                out.append(data[offset:])
                offset = len(data)
            else:
                out += [data[offset:space], sep]
                offset = space + 1
    out.append(data[offset:])
    return golib.from_utf8(b"".join(out))


@sprig("wrap", INT, STRING)
def wrap(width: int, text: str) -> str:
    return _wrap(text, width, "", False)


@sprig("wrapWith", INT, STRING, STRING)
def wrap_with(width: int, newline: str, text: str) -> str:
    return _wrap(text, width, newline, True)


@sprig("contains", STRING, STRING)
def contains(needle: str, text: str) -> bool:
    return needle in text


@sprig("hasPrefix", STRING, STRING)
def has_prefix(prefix: str, text: str) -> bool:
    return text.startswith(prefix)


@sprig("hasSuffix", STRING, STRING)
def has_suffix(suffix: str, text: str) -> bool:
    return text.endswith(suffix)


@sprig("quote", variadic=ANY)
def quote(*items: Any) -> str:
    return " ".join(gofmt.quote(golib.strval(item)) for item in items if item is not None)


@sprig("squote", variadic=ANY)
def squote(*items: Any) -> str:
    return " ".join("'" + gofmt.sprint_value(item) + "'" for item in items if item is not None)


@sprig("cat", variadic=ANY)
def cat(*items: Any) -> str:
    return " ".join(gofmt.sprint_value(item) for item in items if item is not None)


@sprig("indent", INT, STRING)
def indent(spaces: int, text: str) -> str:
    if spaces < 0:
        raise FuncError("strings: negative Repeat count")
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


@sprig("nindent", INT, STRING)
def nindent(spaces: int, text: str) -> str:
    return "\n" + indent.fn(spaces, text)


@sprig("replace", STRING, STRING, STRING)
def replace(old: str, new: str, text: str) -> str:
    if old == "":
        # strings.Replace with an empty old string inserts `new` around every rune.
        return new + new.join(text) + new if text else new
    return text.replace(old, new)


@sprig("plural", STRING, STRING, INT)
def plural(one: str, many: str, count: int) -> str:
    return one if count == 1 else many


@sprig("sha1sum", STRING)
def sha1sum(text: str) -> str:
    return hashlib.sha1(golib.utf8(text)).hexdigest()


@sprig("sha256sum", STRING)
def sha256sum(text: str) -> str:
    return hashlib.sha256(golib.utf8(text)).hexdigest()


@sprig("sha512sum", STRING)
def sha512sum(text: str) -> str:
    return hashlib.sha512(golib.utf8(text)).hexdigest()


@sprig("adler32sum", STRING)
def adler32sum(text: str) -> str:
    return str(zlib.adler32(golib.utf8(text)))


@sprig("toString", ANY)
def to_string(value: Any) -> str:
    return golib.strval(value)


@sprig("toStrings", ANY)
def to_strings(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return StrList(golib.strval(item) for item in value if item is not None)
    if value is None:
        return StrList()
    return StrList([golib.strval(value)])


@sprig("split", STRING, STRING)
def split(sep: str, text: str) -> dict[str, str]:
    return StrMap((f"_{index}", part) for index, part in enumerate(_go_split(text, sep, -1)))


@sprig("splitList", STRING, STRING)
def split_list(sep: str, text: str) -> list[str]:
    return StrList(_go_split(text, sep, -1))


@sprig("splitn", STRING, INT, STRING)
def splitn(sep: str, count: int, text: str) -> dict[str, str]:
    return StrMap((f"_{index}", part) for index, part in enumerate(_go_split(text, sep, count)))


def _go_split(text: str, sep: str, count: int) -> list[str]:
    """strings.SplitN: n > 0 at most n parts, 0 none, < 0 all; "" splits into runes."""
    if count == 0:
        return []
    if sep == "":
        chars = list(text)
        if 0 < count < len(chars):
            return chars[: count - 1] + ["".join(chars[count - 1 :])]
        return chars
    if count < 0:
        return text.split(sep)
    return text.split(sep, count - 1)


@sprig("join", STRING, ANY)
def join(sep: str, items: Any) -> str:
    return sep.join(to_strings.fn(items))


@sprig("sortAlpha", ANY)
def sort_alpha(items: Any) -> list[str]:
    if isinstance(items, (list, tuple)):
        return StrList(sorted(to_strings.fn(items), key=golib.utf8))
    return StrList([golib.strval(items)])


# -- numbers -------------------------------------------------------------------------------------


@sprig("atoi", STRING)
def atoi(text: str) -> int:
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not body.isascii() or not body.isdigit():
        return 0
    value = int(text)
    return value if values.INT64_MIN <= value <= values.INT64_MAX else 0


@sprig("int64", ANY)
def to_int64(value: Any) -> int:
    return Int64(golib.to_int64(value))


@sprig("int", ANY)
def to_int(value: Any) -> int:
    return golib.to_int64(value)


@sprig("float64", ANY)
def to_float64(value: Any) -> float:
    return golib.to_float64(value)


@sprig("toDecimal", ANY)
def to_decimal(value: Any) -> int:
    text = gofmt.sprint_value(value)
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or any(ch not in "01234567" for ch in body):
        return Int64(0)
    parsed = int(text, 8)
    return Int64(parsed if values.INT64_MIN <= parsed <= values.INT64_MAX else 0)


@sprig("add1", ANY)
def add1(value: Any) -> int:
    return Int64(values.wrap_int64(golib.to_int64(value) + 1))


@sprig("add", variadic=ANY)
def add(*items: Any) -> int:
    return Int64(values.wrap_int64(sum(golib.to_int64(item) for item in items)))


@sprig("sub", ANY, ANY)
def sub(left: Any, right: Any) -> int:
    return Int64(values.wrap_int64(golib.to_int64(left) - golib.to_int64(right)))


def _go_div(left: int, right: int) -> int:
    if right == 0:
        raise FuncError("runtime error: integer divide by zero")
    quotient = abs(left) // abs(right)
    return quotient if (left >= 0) == (right >= 0) else -quotient


@sprig("div", ANY, ANY)
def div(left: Any, right: Any) -> int:
    return Int64(values.wrap_int64(_go_div(golib.to_int64(left), golib.to_int64(right))))


@sprig("mod", ANY, ANY)
def mod(left: Any, right: Any) -> int:
    a, b = golib.to_int64(left), golib.to_int64(right)
    return Int64(a - _go_div(a, b) * b)


@sprig("mul", ANY, variadic=ANY)
def mul(first: Any, *rest: Any) -> int:
    result = golib.to_int64(first)
    for item in rest:
        result = values.wrap_int64(result * golib.to_int64(item))
    return Int64(result)


@sprig("max", ANY, variadic=ANY, aliases=("biggest",))
def max_(first: Any, *rest: Any) -> int:
    result = golib.to_int64(first)
    for item in rest:
        result = max(result, golib.to_int64(item))
    return Int64(result)


@sprig("min", ANY, variadic=ANY)
def min_(first: Any, *rest: Any) -> int:
    result = golib.to_int64(first)
    for item in rest:
        result = min(result, golib.to_int64(item))
    return Int64(result)


def _go_max(a: float, b: float) -> float:
    if (math.isinf(a) and a > 0) or (math.isinf(b) and b > 0):
        return math.inf
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return max(a, b)


def _go_min(a: float, b: float) -> float:
    if (math.isinf(a) and a < 0) or (math.isinf(b) and b < 0):
        return -math.inf
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return min(a, b)


@sprig("maxf", ANY, variadic=ANY)
def maxf(first: Any, *rest: Any) -> float:
    result = golib.to_float64(first)
    for item in rest:
        result = _go_max(result, golib.to_float64(item))
    return result


@sprig("minf", ANY, variadic=ANY)
def minf(first: Any, *rest: Any) -> float:
    result = golib.to_float64(first)
    for item in rest:
        result = _go_min(result, golib.to_float64(item))
    return result


@sprig("floor", ANY)
def floor(value: Any) -> float:
    number = golib.to_float64(value)
    return float(math.floor(number)) if math.isfinite(number) else number


@sprig("ceil", ANY)
def ceil(value: Any) -> float:
    number = golib.to_float64(value)
    return float(math.ceil(number)) if math.isfinite(number) else number


@sprig("round", ANY, INT, variadic=FLOAT64)
def round_(value: Any, places: int, *round_on: float) -> float:
    threshold = round_on[0] if round_on else 0.5
    number = golib.to_float64(value)
    try:
        power = math.pow(10, float(places))
    except OverflowError:
        power = math.inf  # Go's math.Pow overflows to +Inf
    digit = power * number
    if not math.isfinite(digit):
        return _ieee_div(digit, power)
    fraction = math.modf(digit)[0]
    rounded = math.ceil(digit) if fraction >= threshold else math.floor(digit)
    return _ieee_div(float(rounded), power)


def _ieee_div(a: float, b: float) -> float:
    """Float division as Go does it: x/0 is ±Inf or NaN, never an error."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _decimal(value: Any) -> decimal.Decimal:
    number = golib.to_float64(value)
    if not math.isfinite(number):
        raise FuncError(f"Cannot create a Decimal from {gofmt.format_float(number, 'g', -1)}")
    return decimal.Decimal(repr(number))


def _decimal_float(value: decimal.Decimal) -> float:
    return float(value)


def _decimal_op(first: Any, rest: tuple[Any, ...], op: str) -> float:
    context = decimal.Context(prec=100, rounding=decimal.ROUND_HALF_UP)
    result = _decimal(first)
    for item in rest:
        other = _decimal(item)
        if op == "add":
            result = context.add(result, other)
        elif op == "sub":
            result = context.subtract(result, other)
        elif op == "mul":
            result = context.multiply(result, other)
        else:
            if other == 0:
                raise FuncError("decimal division by zero")
            # shopspring/decimal divides with 16 digits after the point, rounding half up.
            result = context.divide(result, other).quantize(decimal.Decimal(1).scaleb(-16), context=context)
    return _decimal_float(result)


@sprig("add1f", ANY)
def add1f(value: Any) -> float:
    return _decimal_op(value, (1,), "add")


@sprig("addf", variadic=ANY)
def addf(*items: Any) -> float:
    return _decimal_op(0.0, items, "add")


@sprig("subf", ANY, variadic=ANY)
def subf(first: Any, *rest: Any) -> float:
    return _decimal_op(first, rest, "sub")


@sprig("mulf", ANY, variadic=ANY)
def mulf(first: Any, *rest: Any) -> float:
    return _decimal_op(first, rest, "mul")


@sprig("divf", ANY, variadic=ANY)
def divf(first: Any, *rest: Any) -> float:
    return _decimal_op(first, rest, "div")


def _until_step(start: int, stop: int, step: int) -> list[int]:
    if stop < start:
        if step >= 0:
            return IntList()
        return IntList(range(start, stop, step))
    if step <= 0:
        return IntList()
    return IntList(range(start, stop, step))


@sprig("until", INT)
def until(count: int) -> list[int]:
    return _until_step(0, count, -1 if count < 0 else 1)


@sprig("untilStep", INT, INT, INT)
def until_step(start: int, stop: int, step: int) -> list[int]:
    return _until_step(start, stop, step)


@sprig("seq", variadic=INT)
def seq(*params: int) -> str:
    if len(params) == 1:
        start, end = 1, params[0]
        increment = -1 if end < start else 1
        numbers = _until_step(start, end + increment, increment)
    elif len(params) == 2:
        start, end = params
        step = -1 if end < start else 1
        numbers = _until_step(start, end + step, step)
    elif len(params) == 3:
        start, step, end = params
        increment = 1
        if end < start:
            increment = -1
            if step > 0:
                return ""
        numbers = _until_step(start, end + increment, step)
    else:
        return ""
    return " ".join(str(number) for number in numbers)


# -- defaults, JSON, flow control ------------------------------------------------------------


@sprig("default", ANY, variadic=ANY)
def default(fallback: Any, *given: Any) -> Any:
    if not given or golib.is_empty(given[0]):
        return fallback
    return given[0]


@sprig("empty", ANY)
def empty(value: Any) -> bool:
    return golib.is_empty(value)


@sprig("coalesce", variadic=ANY)
def coalesce(*items: Any) -> Any:
    for item in items:
        if not golib.is_empty(item):
            return item
    return None


@sprig("all", variadic=ANY)
def all_(*items: Any) -> bool:
    return all(not golib.is_empty(item) for item in items)


@sprig("any", variadic=ANY)
def any_(*items: Any) -> bool:
    return any(not golib.is_empty(item) for item in items)


@sprig("fromJson", STRING)
def from_json(text: str) -> Any:
    try:
        return golib.from_json(text)
    except FuncError:
        return None


@sprig("mustFromJson", STRING)
def must_from_json(text: str) -> Any:
    return golib.from_json(text)


@sprig("toJson", ANY)
def to_json(value: Any) -> str:
    try:
        return golib.to_json(value)
    except FuncError:
        return ""


@sprig("mustToJson", ANY)
def must_to_json(value: Any) -> str:
    return golib.to_json(value)


@sprig("toPrettyJson", ANY)
def to_pretty_json(value: Any) -> str:
    try:
        return golib.to_json(value, indent="  ")
    except FuncError:
        return ""


@sprig("mustToPrettyJson", ANY)
def must_to_pretty_json(value: Any) -> str:
    return golib.to_json(value, indent="  ")


@sprig("toRawJson", ANY)
def to_raw_json(value: Any) -> str:
    return golib.to_json(value, escape_html=False)


@sprig("mustToRawJson", ANY)
def must_to_raw_json(value: Any) -> str:
    return golib.to_json(value, escape_html=False)


@sprig("ternary", ANY, ANY, BOOL)
def ternary(if_true: Any, if_false: Any, condition: bool) -> Any:
    return if_true if condition else if_false


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return type(value)((key, _deep_copy(item)) for key, item in value.items())
    if isinstance(value, list):
        return type(value)(_deep_copy(item) for item in value)
    if isinstance(value, tuple):
        return [_deep_copy(item) for item in value]
    return value


@sprig("deepCopy", ANY)
def deep_copy(value: Any) -> Any:
    return _deep_copy(value)


@sprig("mustDeepCopy", ANY)
def must_deep_copy(value: Any) -> Any:
    return _deep_copy(value)


@sprig("fail", STRING)
def fail(message: str) -> str:
    raise FuncError(message)


# -- reflection ----------------------------------------------------------------------------------


@sprig("typeOf", ANY)
def type_of(value: Any) -> str:
    return values.type_name(value)


@sprig("typeIs", STRING, ANY)
def type_is(target: str, value: Any) -> bool:
    return target == values.type_name(value)


@sprig("typeIsLike", STRING, ANY)
def type_is_like(target: str, value: Any) -> bool:
    name = values.type_name(value)
    return target == name or "*" + target == name


@sprig("kindOf", ANY)
def kind_of(value: Any) -> str:
    return values.kind_name(value)


@sprig("kindIs", STRING, ANY)
def kind_is(target: str, value: Any) -> bool:
    return target == values.kind_name(value)


@sprig("deepEqual", ANY, ANY)
def deep_equal(left: Any, right: Any) -> bool:
    return golib.deep_equal(left, right)


# -- paths ---------------------------------------------------------------------------------------


def _go_path_clean(path: str) -> str:
    """path.Clean: Go's lexical cleaning (an empty path is ".", "//" stays "/")."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


@sprig("base", STRING, aliases=("osBase",))
def base(path: str) -> str:
    if path == "":
        return "."
    path = path.rstrip("/")
    if path == "":
        return "/"
    return path[path.rfind("/") + 1 :]


@sprig("dir", STRING, aliases=("osDir",))
def dir_(path: str) -> str:
    return _go_path_clean(path[: path.rfind("/") + 1])


@sprig("clean", STRING, aliases=("osClean",))
def clean(path: str) -> str:
    return _go_path_clean(path)


@sprig("ext", STRING, aliases=("osExt",))
def ext(path: str) -> str:
    for index in range(len(path) - 1, -1, -1):
        if path[index] == "/":
            break
        if path[index] == ".":
            return path[index:]
    return ""


@sprig("isAbs", STRING, aliases=("osIsAbs",))
def is_abs(path: str) -> bool:
    return path.startswith("/")


# -- encoding ------------------------------------------------------------------------------------


@sprig("b64enc", STRING)
def b64enc(text: str) -> str:
    return base64.b64encode(golib.utf8(text)).decode()


def _base64_error(data: bytes, alphabet: bytes, pad_len: int) -> str:
    """Go's CorruptInputError position for invalid base64/base32 input."""
    for index, byte in enumerate(data):
        if byte not in alphabet and byte != ord("="):
            return (
                f"illegal base64 data at input byte {index}"
                if pad_len == 4
                else f"illegal base32 data at input byte {index}"
            )
    return (
        f"illegal base64 data at input byte {len(data)}"
        if pad_len == 4
        else f"illegal base32 data at input byte {len(data)}"
    )


_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B32 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@sprig("b64dec", STRING)
def b64dec(text: str) -> str:
    data = golib.utf8(text).replace(b"\r", b"").replace(b"\n", b"")
    try:
        return golib.from_utf8(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return _base64_error(data, _B64, 4)


@sprig("b32enc", STRING)
def b32enc(text: str) -> str:
    return base64.b32encode(golib.utf8(text)).decode()


@sprig("b32dec", STRING)
def b32dec(text: str) -> str:
    data = golib.utf8(text).replace(b"\r", b"").replace(b"\n", b"")
    try:
        return golib.from_utf8(base64.b32decode(data))
    except (binascii.Error, ValueError):
        return _base64_error(data, _B32, 8)


# -- lists ---------------------------------------------------------------------------------------


@sprig("list", variadic=ANY, aliases=("tuple",))
def list_(*items: Any) -> list[Any]:
    return list(items)


@sprig("append", ANY, ANY, aliases=("push",))
def append(items: Any, value: Any) -> list[Any]:
    return _as_list(items, "Cannot push on type") + [value]


@sprig("mustAppend", ANY, ANY, aliases=("mustPush",))
def must_append(items: Any, value: Any) -> list[Any]:
    return append.fn(items, value)


@sprig("prepend", ANY, ANY)
def prepend(items: Any, value: Any) -> list[Any]:
    return [value] + _as_list(items, "Cannot prepend on type")


@sprig("mustPrepend", ANY, ANY)
def must_prepend(items: Any, value: Any) -> list[Any]:
    return prepend.fn(items, value)


@sprig("first", ANY, aliases=("mustFirst",))
def first(items: Any) -> Any:
    items = _as_list(items, "Cannot find first on type")
    return items[0] if items else None


@sprig("last", ANY, aliases=("mustLast",))
def last(items: Any) -> Any:
    items = _as_list(items, "Cannot find last on type")
    return items[-1] if items else None


@sprig("rest", ANY, aliases=("mustRest",))
def rest(items: Any) -> list[Any]:
    return _as_list(items, "Cannot find rest on type")[1:]


@sprig("initial", ANY, aliases=("mustInitial",))
def initial(items: Any) -> list[Any]:
    return _as_list(items, "Cannot find initial on type")[:-1]


@sprig("reverse", ANY, aliases=("mustReverse",))
def reverse(items: Any) -> list[Any]:
    return _as_list(items, "Cannot find reverse on type")[::-1]


@sprig("compact", ANY, aliases=("mustCompact",))
def compact(items: Any) -> list[Any]:
    return [item for item in _as_list(items, "Cannot compact on type") if not golib.is_empty(item)]


@sprig("uniq", ANY, aliases=("mustUniq",))
def uniq(items: Any) -> list[Any]:
    result: list[Any] = []
    for item in _as_list(items, "Cannot find uniq on type"):
        if not any(golib.deep_equal(item, seen) for seen in result):
            result.append(item)
    return result


@sprig("without", ANY, variadic=ANY, aliases=("mustWithout",))
def without(items: Any, *omit: Any) -> list[Any]:
    return [
        item
        for item in _as_list(items, "Cannot find without on type")
        if not any(golib.deep_equal(item, other) for other in omit)
    ]


@sprig("has", ANY, ANY, aliases=("mustHas",))
def has(needle: Any, haystack: Any) -> bool:
    if haystack is None:
        return False
    return any(golib.deep_equal(needle, item) for item in _as_list(haystack, "Cannot find has on type"))


@sprig("slice", ANY, variadic=ANY, aliases=("mustSlice",))
def slice_(items: Any, *indices: Any) -> Any:
    if not isinstance(items, (list, tuple)):
        if items is None:
            raise _kind_error("", items)
        raise FuncError(f"list should be type of slice or array but {values.kind_name(items)}")
    if not items:
        return None
    start = golib.to_int64(indices[0]) if indices else 0
    end = golib.to_int64(indices[1]) if len(indices) > 1 else len(items)
    if start < 0 or end < start or end > len(items):
        if end > len(items) or end < 0:
            raise FuncError("reflect.Value.Slice: slice index out of bounds")
        raise FuncError("reflect.Value.Slice: slice index out of bounds")
    sliced = items[start:end]
    return type(items)(sliced) if isinstance(items, list) else list(sliced)


@sprig("concat", variadic=ANY)
def concat(*lists: Any) -> list[Any]:
    result: list[Any] = []
    for items in lists:
        if not isinstance(items, (list, tuple)):
            if items is None:
                raise _kind_error("", items)
            raise FuncError(f"Cannot concat type {values.kind_name(items)} as list")
        result.extend(items)
    return result


@sprig("chunk", INT, ANY, aliases=("mustChunk",))
def chunk(size: int, items: Any) -> list[list[Any]]:
    items = _as_list(items, "Cannot chunk type")
    if size <= 0:
        raise FuncError(
            "runtime error: integer divide by zero"
            if size == 0
            else "runtime error: makeslice: len out of range"
        )
    return [items[index : index + size] for index in range(0, len(items), size)] or [[]]


# -- dicts ---------------------------------------------------------------------------------------


@sprig("dict", variadic=ANY)
def dict_(*items: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for index in range(0, len(items), 2):
        key = golib.strval(items[index])
        result[key] = items[index + 1] if index + 1 < len(items) else ""
    return result


@sprig("get", MAP, STRING)
def get(mapping: dict[str, Any] | None, key: str) -> Any:
    if mapping is not None and key in mapping:
        return mapping[key]
    return ""


def _nil_map_write() -> FuncError:
    return FuncError("assignment to entry in nil map")


@sprig("set", MAP, STRING, ANY)
def set_(mapping: dict[str, Any] | None, key: str, value: Any) -> dict[str, Any]:
    if mapping is None:
        raise _nil_map_write()
    mapping[key] = value  # Sprig changes the map in place, as Go does
    return mapping


@sprig("unset", MAP, STRING)
def unset(mapping: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    if mapping is not None:
        mapping.pop(key, None)
    return mapping


@sprig("hasKey", MAP, STRING)
def has_key(mapping: dict[str, Any] | None, key: str) -> bool:
    return mapping is not None and key in mapping


@sprig("pluck", STRING, variadic=MAP)
def pluck(key: str, *mappings: dict[str, Any] | None) -> list[Any]:
    return [mapping[key] for mapping in mappings if mapping is not None and key in mapping]


@sprig("keys", variadic=MAP)
def keys(*mappings: dict[str, Any] | None) -> list[str]:
    result = StrList()
    for mapping in mappings:
        if mapping is not None:
            result.extend(sorted(mapping, key=golib.utf8))
    return result


@sprig("values", MAP)
def values_(mapping: dict[str, Any] | None) -> list[Any]:
    if mapping is None:
        return []
    return [mapping[key] for key in sorted(mapping, key=golib.utf8)]


@sprig("pick", MAP, variadic=STRING)
def pick(mapping: dict[str, Any] | None, *names: str) -> dict[str, Any]:
    if mapping is None:
        return {}
    return {name: mapping[name] for name in names if name in mapping}


@sprig("omit", MAP, variadic=STRING)
def omit(mapping: dict[str, Any] | None, *names: str) -> dict[str, Any]:
    if mapping is None:
        return {}
    skip = set(names)
    return {key: item for key, item in mapping.items() if key not in skip}


def _merge_into(dst: dict[str, Any], src: dict[str, Any], overwrite: bool) -> None:
    """dario.cat/mergo Merge / MergeWithOverwrite on map[string]interface{} (changes ``dst``).

    Without overwrite, a key of ``dst`` that is missing or empty ("" 0 false nil, empty map
    or list) takes the value of ``src``; nested maps merge key by key. With overwrite, ``src``
    wins, except that nil in ``src`` only overwrites, and two maps are merged key by key.
    """
    for key, item in src.items():
        current = dst.get(key, MISSING)
        if item is None:
            if overwrite:
                dst[key] = None
            continue
        present = current is not MISSING and not golib.is_empty(current)
        if isinstance(item, dict):
            if isinstance(current, dict):
                _merge_into(current, item, overwrite)
                if present:
                    continue
        elif isinstance(item, (list, tuple)):
            if overwrite:
                dst[key] = item
            if present:
                continue
        if overwrite or not present:
            dst[key] = item


def _merge(dst: dict[str, Any] | None, sources: tuple[Any, ...], overwrite: bool) -> dict[str, Any]:
    if dst is None:
        dst = {}
    for src in sources:
        if src:
            _merge_into(dst, src, overwrite)
    return dst


@sprig("merge", MAP, variadic=MAP, aliases=("mustMerge",))
def merge(dst: dict[str, Any] | None, *sources: dict[str, Any] | None) -> Any:
    return _merge(dst, sources, False)


@sprig("mergeOverwrite", MAP, variadic=MAP, aliases=("mustMergeOverwrite",))
def merge_overwrite(dst: dict[str, Any] | None, *sources: dict[str, Any] | None) -> Any:
    return _merge(dst, sources, True)


@sprig("dig", variadic=ANY)
def dig(*params: Any) -> Any:
    if len(params) < 3:
        raise FuncError("dig needs at least three arguments")
    mapping = params[-1]
    fallback = params[-2]
    if not _is_plain_map(mapping):
        raise FuncError(
            f"interface conversion: interface {{}} is {_assertion_type(mapping)}, "
            "not map[string]interface {}"
        )
    names = params[:-2]
    for name in names:
        if not isinstance(name, str):
            raise FuncError(f"interface conversion: interface {{}} is {_assertion_type(name)}, not string")
    for position, name in enumerate(names):
        if name not in mapping:
            return fallback
        step = mapping[name]
        if position == len(names) - 1:
            return step
        if not _is_plain_map(step):
            raise FuncError(
                f"interface conversion: interface {{}} is {_assertion_type(step)}, "
                "not map[string]interface {}"
            )
        mapping = step
    return fallback


def _assertion_type(value: Any) -> str:
    """How Go names a value's type in a failed type assertion ("nil" for nil)."""
    return "nil" if value is None or value is MISSING else values.type_name(value)


def _is_plain_map(value: Any) -> bool:
    return isinstance(value, dict) and not isinstance(value, StrMap)


# -- identifiers, semver, regex, URLs ------------------------------------------------------------


@sprig("uuidv4")
def uuidv4() -> str:
    return str(uuid.uuid4())


@sprig("semver", STRING)
def semver(version: str) -> Any:
    from fleet.gotemplate import semver as semver_mod

    return semver_mod.parse_version(version)


@sprig("semverCompare", STRING, STRING)
def semver_compare(constraint: str, version: str) -> bool:
    from fleet.gotemplate import semver as semver_mod

    return semver_mod.check(constraint, version)


@sprig("regexMatch", STRING, STRING)
def regex_match(pattern: str, text: str) -> bool:
    try:
        return golib.compile_regexp(pattern).search(text) is not None
    except FuncError:
        return False


@sprig("mustRegexMatch", STRING, STRING)
def must_regex_match(pattern: str, text: str) -> bool:
    return golib.compile_regexp(pattern).search(text) is not None


@sprig("regexFindAll", STRING, STRING, INT)
def regex_find_all(pattern: str, text: str, limit: int) -> list[str]:
    compiled = golib.must_compile(pattern)
    return StrList(match.group(0) for match in golib.find_all(compiled, text, limit))


@sprig("mustRegexFindAll", STRING, STRING, INT)
def must_regex_find_all(pattern: str, text: str, limit: int) -> list[str]:
    compiled = golib.compile_regexp(pattern)
    return StrList(match.group(0) for match in golib.find_all(compiled, text, limit))


@sprig("regexFind", STRING, STRING)
def regex_find(pattern: str, text: str) -> str:
    match = golib.must_compile(pattern).search(text)
    return match.group(0) if match else ""


@sprig("mustRegexFind", STRING, STRING)
def must_regex_find(pattern: str, text: str) -> str:
    match = golib.compile_regexp(pattern).search(text)
    return match.group(0) if match else ""


@sprig("regexReplaceAll", STRING, STRING, STRING)
def regex_replace_all(pattern: str, text: str, replacement: str) -> str:
    return golib.replace_all(golib.must_compile(pattern), text, replacement, literal=False)


@sprig("mustRegexReplaceAll", STRING, STRING, STRING)
def must_regex_replace_all(pattern: str, text: str, replacement: str) -> str:
    return golib.replace_all(golib.compile_regexp(pattern), text, replacement, literal=False)


@sprig("regexReplaceAllLiteral", STRING, STRING, STRING)
def regex_replace_all_literal(pattern: str, text: str, replacement: str) -> str:
    return golib.replace_all(golib.must_compile(pattern), text, replacement, literal=True)


@sprig("mustRegexReplaceAllLiteral", STRING, STRING, STRING)
def must_regex_replace_all_literal(pattern: str, text: str, replacement: str) -> str:
    return golib.replace_all(golib.compile_regexp(pattern), text, replacement, literal=True)


@sprig("regexSplit", STRING, STRING, INT)
def regex_split(pattern: str, text: str, limit: int) -> list[str]:
    return StrList(golib.split(golib.must_compile(pattern), pattern, text, limit))


@sprig("mustRegexSplit", STRING, STRING, INT)
def must_regex_split(pattern: str, text: str, limit: int) -> list[str]:
    return StrList(golib.split(golib.compile_regexp(pattern), pattern, text, limit))


@sprig("regexQuoteMeta", STRING)
def regex_quote_meta(text: str) -> str:
    return golib.quote_meta(text)


@sprig("urlParse", STRING)
def url_parse(text: str) -> dict[str, Any]:
    from fleet.gotemplate import gourl

    return gourl.parse_to_dict(text)


@sprig("urlJoin", MAP)
def url_join(mapping: dict[str, Any] | None) -> str:
    from fleet.gotemplate import gourl

    return gourl.join_dict(mapping or {})


# -- dates ---------------------------------------------------------------------------------------


def _time_arg(value: Any, *, allow_int32: bool = True) -> Any:
    from fleet.gotemplate import gotime

    if isinstance(value, gotime.GoTime):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return gotime.from_unix(int(value))
    return gotime.now()  # Sprig: any other type (float64 from JSON too) means "now"


@sprig("now")
def now() -> Any:
    from fleet.gotemplate import gotime

    return gotime.now()


@sprig("dateInZone", STRING, ANY, STRING, aliases=("date_in_zone",))
def date_in_zone(layout: str, date: Any, zone: str) -> str:
    from fleet.gotemplate import gotime

    location = gotime.load_location(zone) or gotime.load_location("UTC")
    assert location is not None
    return gotime.format_time(gotime.in_zone(_time_arg(date), location), layout)


@sprig("date", STRING, ANY)
def date(layout: str, value: Any) -> str:
    return date_in_zone.fn(layout, value, "Local")


@sprig("htmlDate", ANY)
def html_date(value: Any) -> str:
    return date_in_zone.fn("2006-01-02", value, "Local")


@sprig("htmlDateInZone", ANY, STRING)
def html_date_in_zone(value: Any, zone: str) -> str:
    return date_in_zone.fn("2006-01-02", value, zone)


@sprig("dateModify", STRING, TIME, aliases=("date_modify",))
def date_modify(change: str, value: Any) -> Any:
    try:
        return must_date_modify.fn(change, value)
    except FuncError:
        return value


@sprig("mustDateModify", STRING, TIME, aliases=("must_date_modify",))
def must_date_modify(change: str, value: Any) -> Any:
    import datetime as dt

    from fleet.gotemplate import gotime

    nanos = gotime.parse_duration(change)
    total = value.nanosecond + nanos
    moment = value.moment.replace(microsecond=0) + dt.timedelta(seconds=total // gotime.SECOND)
    rest = total % gotime.SECOND
    return gotime.GoTime(moment.replace(microsecond=rest // 1000), rest)


@sprig("toDate", STRING, STRING)
def to_date(layout: str, text: str) -> Any:
    from fleet.gotemplate import gotime

    try:
        return gotime.parse_time(layout, text, gotime.local_zone())
    except FuncError:
        return gotime.ZERO_TIME


@sprig("mustToDate", STRING, STRING)
def must_to_date(layout: str, text: str) -> Any:
    from fleet.gotemplate import gotime

    return gotime.parse_time(layout, text, gotime.local_zone())


@sprig("unixEpoch", TIME)
def unix_epoch(value: Any) -> str:
    return str(value.unix())


@sprig("ago", ANY)
def ago(value: Any) -> str:
    from fleet.gotemplate import gotime

    return gotime.format_duration(gotime.round_duration(gotime.since(_time_arg(value)), gotime.SECOND))


@sprig("duration", ANY)
def duration(value: Any) -> str:
    from fleet.gotemplate import gotime

    seconds = 0
    if isinstance(value, str):
        seconds = atoi.fn(value) if value.lstrip("+-").isdigit() else 0
    elif type(value) is Int64:
        seconds = int(value)
    return gotime.format_duration(values.wrap_int64(seconds * gotime.SECOND))


@sprig("durationRound", ANY)
def duration_round(value: Any) -> str:
    from fleet.gotemplate import gotime

    nanos = 0
    if isinstance(value, str):
        try:
            nanos = gotime.parse_duration(value)
        except FuncError:
            nanos = 0
    elif type(value) is Int64:
        nanos = int(value)
    elif isinstance(value, gotime.GoTime):
        nanos = gotime.since(value)
    magnitude = abs(nanos)
    day = 24 * gotime.HOUR
    for unit, suffix in (
        (365 * day, "y"),
        (30 * day, "mo"),
        (day, "d"),
        (gotime.HOUR, "h"),
        (gotime.MINUTE, "m"),
        (gotime.SECOND, "s"),
    ):
        if magnitude > unit:
            return f"{magnitude // unit}{suffix}"
    return "0s"


def _all_functions() -> dict[str, GoFunc]:
    from fleet.gotemplate import sprig_crypto

    return {**{declared.name: declared for declared in _REGISTRY}, **sprig_crypto.CRYPTO_FUNCS}


SPRIG_FUNCS: dict[str, GoFunc] = _all_functions()
