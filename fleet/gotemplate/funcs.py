"""Go's builtin template functions: and, or, not, len, index, slice, print, printf, println,
html, js, urlquery, call and the comparisons eq, ne, lt, le, gt, ge.

They follow Go's rules and error texts (``index of untyped nil``, ``incompatible types for
comparison: float64 and int``). ``and``, ``or`` and ``call`` are evaluated by the engine itself
(short-circuit, callee name in errors); the entries here carry their signatures.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from fleet.gotemplate import gofmt, gofunc, values
from fleet.gotemplate.errors import FuncError
from fleet.gotemplate.gofunc import ANY, STRING, VALUE
from fleet.gotemplate.values import MISSING


def _concrete(value: Any) -> Any:
    """Go's indirectInterface: a nil interface becomes no value."""
    return MISSING if value is None else value


def _not_called(*args: Any) -> Any:  # pragma: no cover - the engine evaluates these itself
    raise FuncError("unreachable")


@gofunc.func("not", VALUE)
def not_(value: Any) -> bool:
    return not values.truth(value)


@gofunc.func("len", VALUE)
def length(item: Any) -> int:
    if item is None:
        raise FuncError("len of nil pointer")
    if item is MISSING:
        # Go asks the zero reflect.Value for its type, which panics with this message.
        raise FuncError("reflect: call of reflect.Value.Type on zero Value")
    if isinstance(item, str):
        return item_len(item)
    if isinstance(item, (dict, list, tuple)):
        return len(item)
    raise FuncError(f"len of type {values.type_name(item)}")


def item_len(text: str) -> int:
    """len() of a Go string: its length in UTF-8 bytes."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogateescape"))


def _index_arg(index: Any, cap: int) -> int:
    if values.is_int(index):
        position = int(index)
    elif index is MISSING or index is None:
        raise FuncError("cannot index slice/array with nil")
    else:
        raise FuncError(f"cannot index slice/array with type {values.type_name(index)}")
    if position < 0 or position > cap:
        raise FuncError(f"index out of range: {position}")
    return position


@gofunc.func("index", VALUE, variadic=VALUE)
def index(item: Any, *indexes: Any) -> Any:
    item = _concrete(item)
    if item is MISSING:
        raise FuncError("index of untyped nil")
    for raw in indexes:
        key = _concrete(raw)
        if item is None:
            raise FuncError("index of nil pointer")
        if isinstance(item, str):
            data = item.encode("utf-8", "surrogateescape")
            position = _index_arg(key, len(data))
            if position == len(data):
                raise FuncError("reflect: string index out of range")
            item = data[position]  # a byte (uint8)
        elif isinstance(item, (list, tuple)):
            position = _index_arg(key, len(item))
            if position == len(item):
                raise FuncError("reflect: slice index out of range")
            item = item[position]
        elif isinstance(item, dict):
            if key is MISSING:
                raise FuncError("value is nil; should be of type string")
            if not isinstance(key, str):
                raise FuncError(f"value has type {values.type_name(key)}; should be string")
            found = item.get(key, MISSING)
            if found is MISSING:
                found = "" if isinstance(item, values.StrMap) else None
            item = found
        else:
            raise FuncError(f"can't index item of type {values.type_name(item)}")
    return item


@gofunc.func("slice", VALUE, variadic=VALUE)
def slice_(item: Any, *indexes: Any) -> Any:
    item = _concrete(item)
    if item is MISSING:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        data = item.encode("utf-8", "surrogateescape")
        size = len(data)
    elif isinstance(item, (list, tuple)):
        size = len(item)
    else:
        raise FuncError(f"can't slice item of type {values.type_name(item)}")
    bounds = [0, size, size]
    for position, raw in enumerate(indexes):
        bounds[position] = _index_arg(_concrete(raw), size)
    if bounds[0] > bounds[1]:
        raise FuncError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    if len(indexes) == 3 and bounds[1] > bounds[2]:
        raise FuncError(f"invalid slice index: {bounds[1]} > {bounds[2]}")
    if isinstance(item, str):
        return data[bounds[0] : bounds[1]].decode("utf-8", "surrogateescape")
    return (
        type(item)(item[bounds[0] : bounds[1]])
        if isinstance(item, list)
        else list(item[bounds[0] : bounds[1]])
    )


@gofunc.func("print", variadic=ANY)
def print_(*args: Any) -> str:
    return gofmt.sprint(args)


@gofunc.func("printf", STRING, variadic=ANY)
def printf(fmt: str, *args: Any) -> str:
    return gofmt.sprintf(fmt, args)


@gofunc.func("println", variadic=ANY)
def println(*args: Any) -> str:
    return gofmt.sprintln(args)


def _eval_args(args: tuple[Any, ...]) -> str:
    """fmt.Sprint of the arguments, except that nil prints ``<no value>`` (Go's evalArgs)."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return gofmt.sprint(["<no value>" if arg is None or arg is MISSING else arg for arg in args])


_HTML = {"\0": "\ufffd", '"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;"}


@gofunc.func("html", variadic=ANY)
def html(*args: Any) -> str:
    text = _eval_args(args)
    if not any(ch in text for ch in _HTML):
        return text
    return "".join(_HTML.get(ch, ch) for ch in text)


_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026", "=": "\\u003D"}


@gofunc.func("js", variadic=ANY)
def js(*args: Any) -> str:
    text = _eval_args(args)
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if ch in _JS:
            out.append(_JS[ch])
        elif code < 0x20:
            out.append(f"\\u00{code:02X}")
        elif code < 0x80 or gofmt._is_print(ch):
            out.append(ch)
        else:
            out.append(f"\\u{code:04X}")
    return "".join(out)


@gofunc.func("urlquery", variadic=ANY)
def urlquery(*args: Any) -> str:
    return urllib.parse.quote_plus(_eval_args(args).encode("utf-8", "surrogateescape"), safe="-_.~")


# -- comparisons ---------------------------------------------------------------------------

_BOOL, _INT, _FLOAT, _STRING, _COMPLEX, _INVALID = range(6)


def _basic_kind(value: Any) -> int:
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, int):
        return _INT
    if isinstance(value, float):
        return _FLOAT
    if isinstance(value, str):
        return _STRING
    if isinstance(value, complex):
        return _COMPLEX
    return _INVALID


def _is_nil(value: Any) -> bool:
    return value is MISSING or value is None


@gofunc.func("eq", VALUE, variadic=VALUE)
def eq(arg1: Any, *others: Any) -> bool:
    arg1 = _concrete(arg1)
    if not others:
        raise FuncError("missing argument for comparison")
    k1 = _basic_kind(arg1)
    for raw in others:
        arg = _concrete(raw)
        k2 = _basic_kind(arg)
        truth = False
        if k1 != k2:
            if arg1 is not MISSING and arg is not MISSING:
                raise FuncError(
                    f"incompatible types for comparison: {values.type_name(arg1)} and {values.type_name(arg)}"
                )
        elif k1 != _INVALID:
            truth = arg1 == arg
        else:
            if _is_nil(arg1) or _is_nil(arg):
                truth = _is_nil(arg1) == _is_nil(arg)
            elif values.kind_name(arg1) != values.kind_name(arg):
                raise FuncError(
                    f"non-comparable types {gofmt.sprintf('%s', [arg1])}: {values.type_name(arg1)}, "
                    f"{values.type_name(arg)}: {gofmt.sprint_value(arg)}"
                )
            elif isinstance(arg, (dict, list, tuple)) or callable(arg):
                raise FuncError(f"non-comparable type {gofmt.sprintf('%s', [arg])}: {values.type_name(arg)}")
            else:
                truth = arg1 == arg
        if truth:
            return True
    return False


@gofunc.func("ne", VALUE, VALUE)
def ne(arg1: Any, arg2: Any) -> bool:
    return not eq.fn(arg1, arg2)


@gofunc.func("lt", VALUE, VALUE)
def lt(arg1: Any, arg2: Any) -> bool:
    arg1 = _concrete(arg1)
    k1 = _basic_kind(arg1)
    if k1 == _INVALID:
        raise FuncError("invalid type for comparison")
    arg2 = _concrete(arg2)
    k2 = _basic_kind(arg2)
    if k2 == _INVALID:
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError(
            f"incompatible types for comparison: {values.type_name(arg1)} and {values.type_name(arg2)}"
        )
    if k1 in (_BOOL, _COMPLEX):
        raise FuncError("invalid type for comparison")
    return bool(arg1 < arg2)


@gofunc.func("le", VALUE, VALUE)
def le(arg1: Any, arg2: Any) -> bool:
    return lt.fn(arg1, arg2) or eq.fn(arg1, arg2)


@gofunc.func("gt", VALUE, VALUE)
def gt(arg1: Any, arg2: Any) -> bool:
    return not le.fn(arg1, arg2)


@gofunc.func("ge", VALUE, VALUE)
def ge(arg1: Any, arg2: Any) -> bool:
    return not lt.fn(arg1, arg2)


AND = gofunc.GoFunc("and", _not_called, (VALUE,), VALUE)
OR = gofunc.GoFunc("or", _not_called, (VALUE,), VALUE)
CALL = gofunc.GoFunc("call", _not_called, (VALUE,), VALUE)
INDEX = index  # Go's own index, which a template of map lookups may be read without (execute.fields_only)

BUILTINS: dict[str, gofunc.GoFunc] = {
    f.name: f
    for f in (
        AND,
        OR,
        CALL,
        not_,
        length,
        index,
        slice_,
        print_,
        printf,
        println,
        html,
        js,
        urlquery,
        eq,
        ne,
        lt,
        le,
        gt,
        ge,
    )
}
