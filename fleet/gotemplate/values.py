"""How Python data stands in for Go values while a template runs.

Templates see the parameters an ApplicationSet generator produced, which in Argo CD are the
result of decoding JSON into ``map[string]interface{}``. The mapping is:

=====================  ==========================  =========================================
Python                 Go type                     notes
=====================  ==========================  =========================================
``dict``               ``map[string]interface {}``
``list``, ``tuple``    ``[]interface {}``
``str``                ``string``
``bool``               ``bool``
``int``                ``int``                     JSON numbers are float64 in Argo CD: pass
``float``              ``float64``                 floats (see :func:`json_numbers`) to match
``None``               nil (an ``interface {}``)
:data:`MISSING`        no value (reflect's zero)   a missing map key, printed ``<no value>``
=====================  ==========================  =========================================

Sprig returns a few other Go types that matter for ``typeOf``, ``%T``, ``kindIs`` and for the
type checks Go makes when passing arguments (``hasKey`` wants ``map[string]interface {}`` and
rejects the ``map[string]string`` that ``split`` returns). Those are the small subclasses below.
"""

from __future__ import annotations

from typing import Any


class _Missing:
    """Go's invalid ``reflect.Value``: what a missing map key evaluates to."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class Int64(int):
    """A Go ``int64`` (Sprig's arithmetic returns these); plain ``int`` is Go's ``int``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Int64({int(self)})"


class StrList(list[Any]):
    """A Go ``[]string`` (``splitList``, ``keys``, ``regexFindAll``, ``toStrings``...)."""

    __slots__ = ()


class IntList(list[Any]):
    """A Go ``[]int`` (``until``, ``untilStep``)."""

    __slots__ = ()


class StrMap(dict[str, Any]):
    """A Go ``map[string]string`` (``split``, ``splitn``; also labels and annotations maps)."""

    __slots__ = ()


class GoObject:
    """A Go value with a named type and methods (e.g. ``*semver.Version``).

    ``go_methods`` maps a method name to a zero-argument callable; templates reach them as
    fields (``(semver "1.2.3").Major``). ``__str__`` is the value's ``String()`` method, which
    Go's fmt uses for ``%v`` and ``%s``.
    """

    go_type = "struct {}"
    go_kind = "ptr"

    def go_methods(self) -> dict[str, Any]:
        return {}


INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


def wrap_int64(value: int) -> int:
    """Two's complement wrap-around, as Go's 64-bit integer arithmetic does on overflow."""
    if INT64_MIN <= value <= INT64_MAX:
        return value
    return ((value - INT64_MIN) % (1 << 64)) + INT64_MIN


_TYPE_NAMES: dict[type, str] = {
    str: "string",
    bool: "bool",
    int: "int",
    Int64: "int64",
    float: "float64",
    complex: "complex128",
    dict: "map[string]interface {}",
    StrMap: "map[string]string",
    list: "[]interface {}",
    tuple: "[]interface {}",
    StrList: "[]string",
    IntList: "[]int",
}

_KINDS: dict[type, str] = {
    str: "string",
    bool: "bool",
    int: "int",
    Int64: "int64",
    float: "float64",
    complex: "complex128",
    dict: "map",
    StrMap: "map",
    list: "slice",
    tuple: "slice",
    StrList: "slice",
    IntList: "slice",
}


def type_name(value: Any) -> str:
    """Go's ``reflect.TypeOf(v).String()`` (``%T``); ``<nil>`` for nil and no value."""
    name = _TYPE_NAMES.get(type(value))
    if name is not None:
        return name
    if value is None or value is MISSING:
        return "<nil>"
    if isinstance(value, GoObject):
        return value.go_type
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if callable(value):
        return "func(...interface {}) interface {}"
    return type(value).__name__


def kind_name(value: Any) -> str:
    """Go's ``reflect.Kind`` name (``kindOf``): map, slice, string, int, float64, ..."""
    kind = _KINDS.get(type(value))
    if kind is not None:
        return kind
    if value is None or value is MISSING:
        return "invalid"
    if isinstance(value, GoObject):
        return value.go_kind
    if isinstance(value, dict):
        return "map"
    if isinstance(value, (list, tuple)):
        return "slice"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if callable(value):
        return "func"
    return "struct"


def truth(value: Any) -> bool:
    """Go's template truth: false for the zero value of the type, nil and no value."""
    if value is None or value is MISSING:
        return False
    if isinstance(value, (str, dict, list, tuple, bool, int, float, complex)):
        return bool(value)
    return True


def is_int(value: Any) -> bool:
    """A Go integer kind (int, int64), not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def json_numbers(value: Any) -> Any:
    """Return ``value`` with every integer turned into a float, as Go's JSON decoding does.

    Argo CD builds goTemplate parameters by decoding JSON into ``interface{}``, so every
    number is a ``float64``: ``{{ .replicas }}`` prints ``3`` but ``eq .replicas 3`` fails
    with "incompatible types for comparison". Generators call this to get the same behaviour.
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {key: json_numbers(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_numbers(item) for item in value]
    return value
