"""``fleet.jsonfast`` (orjson on the hot paths) gives what the standard library gives: for every
text an API server writes (Go's int64, uint64 and float64 numbers), and, writing, also where orjson
alone refuses (integers beyond 64 bits, keys that are not strings)."""

from __future__ import annotations

import json

import pytest

from fleet import jsonfast

TEXTS = {
    "plain": '{"a": 1, "b": [1.5, null, true, "x"], "c": {"d": "ünïcode \\"quoted\\""}}',
    "int64-min": '{"n": -9223372036854775808}',
    "uint64-max": '{"n": 18446744073709551615}',
    "float64": '{"n": 1.7976931348623157e308, "m": 5e-324}',
    "beyond-double": '{"n": 1e400}',
}


@pytest.mark.parametrize("text", TEXTS.values(), ids=TEXTS.keys())
def test_a_text_reads_as_the_standard_library_reads_it(text: str) -> None:
    expected = json.loads(text)
    for form in (text, text.encode()):
        value = jsonfast.loads(form)
        assert value == expected
        assert [type(v) for v in value.values()] == [type(v) for v in expected.values()]


def test_text_that_is_not_json_is_refused_as_the_standard_library_refuses_it() -> None:
    with pytest.raises(json.JSONDecodeError):
        jsonfast.loads(b"{not json")


VALUES = {
    "plain": {"a": [1, 2.5, None, True], "b": "ünïcode"},
    "big-integer": {"n": 10**30, "m": -(10**25)},
    "integer-keys": {1: "one", "two": 2},
}


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_a_value_written_reads_back_as_the_standard_library_would_have_written_it(value) -> None:
    text = jsonfast.dumps(value)
    assert " " not in text.replace("ünïcode", "")
    assert json.loads(text) == json.loads(json.dumps(value))
