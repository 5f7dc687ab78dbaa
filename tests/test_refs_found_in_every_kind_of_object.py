"""``refs.has_references`` and ``refs.find_references`` find a reference wherever resolution would look (nested strings, a
Secret's base64 ``data``, a Secret inside a List), also in objects its quick look at the JSON text
cannot write (keys that are not strings, values JSON lacks), and says no for objects without one."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from fleet.secrets import refs

REF = "ref+vault://secret/data/db#/password"
B64_REF = base64.b64encode(REF.encode()).decode()


def secret(data: dict[str, str]) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": data}


CASES = {
    "plain-configmap": ({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}}, False),
    "nested-string": ({"kind": "Deployment", "spec": {"env": [{"value": f"dsn={REF}"}]}}, True),
    "secret-base64-data": (secret({"password": B64_REF}), True),
    "secret-plain-data": (secret({"password": base64.b64encode(b"hunter2").decode()}), False),
    "secret-in-a-list": ({"kind": "List", "items": [secret({"p": B64_REF})]}, True),
    "integer-keys": ({"kind": "ConfigMap", "data": {1: REF}}, True),
    "integer-keys-no-ref": ({"kind": "ConfigMap", "data": {1: "x"}}, False),
    "a-date-value": ({"kind": "ConfigMap", "data": {"when": dt.date(2026, 1, 1), "v": REF}}, True),
    "ref-plus-but-no-reference": ({"kind": "ConfigMap", "data": {"a": "ref+ not a scheme"}}, False),
}


@pytest.mark.parametrize(("obj", "expected"), CASES.values(), ids=CASES.keys())
def test_a_reference_is_found_wherever_resolution_looks(obj, expected: bool) -> None:
    assert refs.has_references(obj) is expected
    found = refs.find_references(obj)
    assert [r.text for r in found] == ([REF] if expected else [])
