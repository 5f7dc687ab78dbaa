"""Templates of text and ``{{ .a.b }}`` or ``{{ index .a "b" }}`` fields (the usual ApplicationSet field) print straight from
dot's maps when every field is a string found in a map (issue 15), and exactly as Go prints them
otherwise: numbers with Go's formatting, ``<no value>`` or the missingkey error for a missing key,
Go's error for a field of a non-map."""

from __future__ import annotations

from typing import Any

import pytest

from fleet import gotemplate

CASES = [
    ("strings", "{{ .a.b }}-{{ .c }}", {"a": {"b": "x"}, "c": "y"}, "default", "x-y"),
    ("comment and trimming", "{{/* note */}}{{ .a -}} / {{- .c }}", {"a": "x", "c": "y"}, "default", "x/y"),
    (
        "a map[string]string",
        "{{ .labels.env }}",
        {"labels": gotemplate.StrMap({"env": "prod"})},
        "default",
        "prod",
    ),
    ("a number", "n={{ .a.n }}", {"a": {"n": 1234567.0}}, "default", "n=1.234567e+06"),
    ("a boolean", "{{ .on }}", {"on": True}, "default", "true"),
    ("a list", "{{ .l }}", {"l": ["a", "b"]}, "default", "[a b]"),
    ("a missing key", "[{{ .a.b }}]", {"a": {}}, "default", "[<no value>]"),
    ("a missing key, zero", "[{{ .a.b }}]", {"a": {}}, "zero", "[<no value>]"),
    ("a missing map", "[{{ .a.b }}]", {}, "default", "[<no value>]"),
    ("a nil value", "[{{ .a }}]", {"a": None}, "default", "[<no value>]"),
    (
        "index of a map[string]string",
        '{{ index .m "k" }}',
        {"m": gotemplate.StrMap({"k": "v"})},
        "default",
        "v",
    ),
    ("index, two keys", '{{ index .m "a" "b" }}', {"m": {"a": {"b": "v"}}}, "default", "v"),
    (
        "index, missing in map[string]string",
        '[{{ index .m "k" }}]',
        {"m": gotemplate.StrMap()},
        "default",
        "[]",
    ),
    ("index, missing in a map", '[{{ index .m "k" }}]', {"m": {}}, "default", "[<no value>]"),
    ("index, missing, missingkey=error", '[{{ index .m "k" }}]', {"m": {}}, "error", "[<no value>]"),
]


@pytest.mark.parametrize(
    "text, data, missingkey, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_field_templates_print_as_go_prints_them(
    text: str, data: Any, missingkey: str, expected: str
) -> None:
    assert gotemplate.parse(text).execute(data, missingkey=missingkey) == expected


ERRORS = [
    ("missingkey=error", "{{ .a.b }}", {"a": {}}, "error", 'map has no entry for key "b"'),
    ("a field of a string", "{{ .a.b }}", {"a": "text"}, "default", "can't evaluate field b"),
]


@pytest.mark.parametrize(
    "text, data, missingkey, message", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS]
)
def test_field_templates_fail_as_go_fails(text: str, data: Any, missingkey: str, message: str) -> None:
    with pytest.raises(gotemplate.ExecError, match=message):
        gotemplate.parse(text).execute(data, missingkey=missingkey)


def test_a_function_map_redefining_index_is_used() -> None:
    template = gotemplate.parse('{{ index .m "k" }}', funcs={"index": lambda *args: "custom"})
    assert template.execute({"m": {"k": "v"}}) == "custom"
