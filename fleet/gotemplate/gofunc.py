"""Template functions with Go signatures.

Go checks every argument against the parameter type of the function it calls, and those checks
are visible to users: ``{{ upper .replicas }}`` fails with "wrong type for value; expected
string; got float64", ``{{ trunc "3" .x }}`` with "expected integer; found \\"3\\"". A
:class:`GoFunc` carries the parameter types so the engine can make the same checks and report
them the same way; the Python function then receives values that already have the right type.

Plain Python callables given to :func:`fleet.gotemplate.parse` are wrapped as variadic
``...interface {}`` functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fleet.gotemplate import nodes, values
from fleet.gotemplate.values import MISSING


class ArgError(Exception):
    """An argument does not fit its parameter; the message is Go's, the engine adds context."""


class GoType:
    """A Go parameter type: how a value is checked and how a literal argument is read."""

    __slots__ = ("accepts", "can_be_nil", "literal_kind", "name")

    def __init__(
        self, name: str, literal_kind: str, can_be_nil: bool, accepts: Callable[[Any], bool]
    ) -> None:
        self.name = name
        self.literal_kind = literal_kind  # how literals convert: any, value, string, int, ...
        self.can_be_nil = can_be_nil
        self.accepts = accepts

    def __repr__(self) -> str:
        return f"GoType({self.name})"

    def validate(self, value: Any) -> Any:
        """Go's validateType: the value as the function receives it, or ArgError."""
        if value is MISSING:
            if self.can_be_nil:
                return MISSING if self is VALUE else None
            raise ArgError(f"invalid value; expected {self.name}")
        if self.accepts(value):
            return value
        if self is ANY:
            return value
        if value is None:
            raise ArgError(f"wrong type for value; expected {self.name}; got interface {{}}")
        raise ArgError(f"wrong type for value; expected {self.name}; got {values.type_name(value)}")

    def literal(self, node: nodes.Node) -> Any:
        """Go's evalArg for a literal (bool, number, string) argument of this type."""
        kind = self.literal_kind
        if kind in ("any", "value"):
            return ideal_constant(node)
        if kind == "bool" and isinstance(node, nodes.BoolNode):
            return node.value
        if kind == "string" and isinstance(node, nodes.StringNode):
            return node.text
        if kind in ("int", "int64") and isinstance(node, nodes.NumberNode) and node.is_int:
            return values.Int64(node.int_value) if kind == "int64" else node.int_value
        if kind == "float" and isinstance(node, nodes.NumberNode) and node.is_float:
            return node.float_value
        if kind == "uint32" and isinstance(node, nodes.NumberNode) and node.is_uint:
            if node.uint_value >= 1 << 32:
                raise ArgError(f"{node} overflows uint32")
            return node.uint_value
        expected = {
            "bool": "bool",
            "string": "string",
            "int": "integer",
            "int64": "integer",
            "float": "float",
            "uint32": "unsigned integer",
        }.get(kind)
        if expected is None:
            raise ArgError(f"can't handle {node} for arg of type {self.name}")
        raise ArgError(f"expected {expected}; found {node}")


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_int(value: Any) -> bool:
    return type(value) is int or (isinstance(value, int) and not isinstance(value, (bool, values.Int64)))


def _is_int64(value: Any) -> bool:
    return type(value) is values.Int64


def _is_float(value: Any) -> bool:
    return isinstance(value, float)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_map(value: Any) -> bool:
    return isinstance(value, dict) and not isinstance(value, values.StrMap)


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and not isinstance(value, (values.StrList, values.IntList))


def _is_time(value: Any) -> bool:
    return type(value).__name__ == "GoTime"


ANY = GoType("interface {}", "any", True, lambda value: True)
VALUE = GoType("reflect.Value", "value", True, lambda value: True)  # raw: MISSING passes through
STRING = GoType("string", "string", False, _is_str)
INT = GoType("int", "int", False, _is_int)
INT64 = GoType("int64", "int64", False, _is_int64)
FLOAT64 = GoType("float64", "float", False, _is_float)
BOOL = GoType("bool", "bool", False, _is_bool)
MAP = GoType("map[string]interface {}", "map", True, _is_map)
LIST = GoType("[]interface {}", "list", True, _is_list)
TIME = GoType("time.Time", "struct", False, _is_time)
CERTIFICATE = GoType(
    "sprig.certificate", "struct", False, lambda value: type(value).__name__ == "Certificate"
)
UINT32 = GoType("uint32", "uint32", False, lambda value: False)  # only literals can be uint32 here


def ideal_constant(node: nodes.Node) -> Any:
    """A literal argument to an ``interface {}`` parameter: Go picks int, float64 or string."""
    if isinstance(node, nodes.BoolNode):
        return node.value
    if isinstance(node, nodes.StringNode):
        return node.text
    if isinstance(node, nodes.NumberNode):
        text = node.text
        if node.is_complex:
            return node.complex_value
        is_hex_int = len(text) > 2 and text[0] == "0" and text[1] in "xX" and not any(c in text for c in "pP")
        is_rune = text.startswith("'")
        if node.is_float and not is_hex_int and not is_rune and any(c in text for c in ".eEpP"):
            return node.float_value
        if node.is_int:
            return node.int_value
        if node.is_uint:
            raise ArgError(f"{text} overflows int")
        return MISSING
    raise ArgError(f"can't handle assignment of {node} to empty interface argument")


@dataclass(frozen=True, slots=True)
class GoFunc:
    """A template function: the Python callable and its Go parameter types.

    ``params`` are the fixed parameters; ``variadic`` is the element type of a trailing
    ``...T`` parameter, if any. The callable returns the result or raises
    :class:`fleet.gotemplate.errors.FuncError`.
    """

    name: str
    fn: Callable[..., Any]
    params: tuple[GoType, ...] = ()
    variadic: GoType | None = None

    def param_type(self, index: int, count: int) -> GoType:
        """The type of argument ``index`` of a call with ``count`` arguments."""
        if self.variadic is not None and index >= len(self.params):
            return self.variadic
        return self.params[index]

    def arity_error(self, count: int) -> str | None:
        """Go's "wrong number of args" message for a call with ``count`` arguments, if wrong."""
        if self.variadic is not None:
            if count < len(self.params):
                return f"wrong number of args for {self.name}: want at least {len(self.params)} got {count}"
            return None
        if count != len(self.params):
            return f"wrong number of args for {self.name}: want {len(self.params)} got {count}"
        return None


def func(
    name: str, *params: GoType, variadic: GoType | None = None
) -> Callable[[Callable[..., Any]], GoFunc]:
    """Decorator: declare a template function with its Go signature."""

    def wrap(fn: Callable[..., Any]) -> GoFunc:
        return GoFunc(name, fn, tuple(params), variadic)

    return wrap


def as_gofunc(name: str, value: Any) -> GoFunc:
    """A GoFunc for a function map entry (plain callables become ``func(...interface {})``)."""
    if isinstance(value, GoFunc):
        return value if value.name == name else GoFunc(name, value.fn, value.params, value.variadic)
    if not callable(value):
        raise TypeError(f"value for template function {name!r} is not callable")
    return GoFunc(name, value, (), ANY)


def func_map(functions: Mapping[str, Any]) -> dict[str, GoFunc]:
    return {name: as_gofunc(name, value) for name, value in functions.items()}
