"""Go's ``%v`` formatting and Argo CD's SanitizeName in fleet.generators.params.

Two independent implementations of the same Go behaviour exist (this one, used for flattening
and matrix combination, and the template engine's ``fmt``), so each checks the other.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet import gotemplate
from fleet.generators import params

KNOWN = [
    (3.0, "3"),
    (1.5, "1.5"),
    (1234567.0, "1.234567e+06"),
    (123456.0, "123456"),
    (1e6, "1e+06"),
    (0.0001, "0.0001"),
    (0.00001, "1e-05"),
    (-2.5, "-2.5"),
    (1e21, "1e+21"),
    (0.1, "0.1"),
    (float("inf"), "+Inf"),
    (-0.0, "-0"),
]


@pytest.mark.parametrize("value, expected", KNOWN, ids=[repr(v) for v, _ in KNOWN])
def test_floats_print_as_go_prints_float64(value: float, expected: str) -> None:
    assert params.go_float(value) == expected


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False))
def test_float_formatting_agrees_with_the_template_engine(value: float) -> None:
    assert params.go_sprint(value) == gotemplate.go_format("%v", value)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
        max_leaves=8,
    )
)
def test_value_formatting_agrees_with_the_template_engine(value: object) -> None:
    assert params.go_sprint(value) == gotemplate.go_format("%v", value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_sanitize_name_agrees_with_the_template_engines_normalize(name: str) -> None:
    assert params.sanitize_name(name) == gotemplate.normalize(name)


FLATTEN = [
    ("nested maps", {"a": {"b": {"c": "d"}}}, {"a.b.c": "d"}),
    ("list items by index", {"z": ["x", {"y": 1.0}]}, {"z.0": "x", "z.1.y": "1"}),
    ("empty containers vanish", {"e": {}, "l": [], "k": "v"}, {"k": "v"}),
    ("nil", {"n": None}, {"n": "<nil>"}),
    ("a Go []string is one value", {"s": gotemplate.StrList(["a", "b"])}, {"s": "[a b]"}),
]


@pytest.mark.parametrize("value, expected", [c[1:] for c in FLATTEN], ids=[c[0] for c in FLATTEN])
def test_flatten_makes_dotted_string_keys(value: dict[str, object], expected: dict[str, str]) -> None:
    assert params.flatten(value) == expected


def test_nan_prints_as_go_does() -> None:
    assert params.go_float(math.nan) == "NaN"
