"""JSON text to Python and back on the hot paths of a sync, with orjson (Rust), falling back to the
standard library where orjson's answer could differ.

Why: a no-op resync of 200 clusters spent a sixth of its CPU in the standard library's decoder
(API answers, the live copies ``fleet.reconcile.livecache`` keeps as text); orjson decodes the
same text in about a third of the time. Where they differ: orjson reads an integer beyond 64 bits
as a float (the standard library keeps it exact) and refuses a number beyond a double's range
(and, encoding, integers beyond 64 bits and keys that are not strings). A custom resource may
hold such numbers, so any text with a run of 19 or more digits takes the standard library's path,
and so does whatever orjson refuses: the value is the standard library's either way.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# The shortest integer orjson may not keep exact: -9223372036854775809 has 19 digits.
_LONG_DIGITS = re.compile(r"\d{19}")
_LONG_DIGITS_BYTES = re.compile(rb"\d{19}")


def loads(data: bytes | str) -> Any:
    """The value of a JSON text, exactly as ``json.loads`` gives it."""
    found = _LONG_DIGITS.search(data) if isinstance(data, str) else _LONG_DIGITS_BYTES.search(data)
    if found is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # e.g. 1e400, which the standard library reads as infinity; or not JSON at all
    return json.loads(data)


def dumps(value: Any) -> str:
    """Compact JSON text, as ``json.dumps(value, separators=(",", ":"))`` writes it."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, a key that is not a string, ...
        return json.dumps(value, separators=(",", ":"))
