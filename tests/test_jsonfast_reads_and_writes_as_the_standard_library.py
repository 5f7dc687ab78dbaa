"""``fleet.jsonfast`` (orjson on the hot paths) gives exactly what the standard library gives, also
where orjson alone would not: integers beyond 64 bits (orjson reads them as floats), numbers beyond
a double (orjson refuses them), keys that are not strings."""

from __future__ import annotations

import json

import pytest

from fleet import jsonfast

TEXTS = {
    "plain": '{"a": 1, "b": [1.5, null, true, "x"], "c": {"d": "ünïcode \\"quoted\\""}}',
    "int64-max": '{"n": 9223372036854775807}',
    "below-int64": '{"n": -9223372036854775809}',
    "beyond-uint64": '{"n": 123456789012345678901234567890}',
    "beyond-double": '{"n": 1e400}',
    "digits-in-a-string": '{"s": "12345678901234567890123"}',
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
    assert jsonfast.loads(text) == json.loads(json.dumps(value))
