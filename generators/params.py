"""Parameter sets: the values generators produce and templates consume, with Go's formatting.

In fasttemplate mode Argo CD's parameter sets are flat ``map[string]string`` with dotted keys; in
goTemplate mode they are nested JSON-like values. Several steps turn values into strings with
Go's ``fmt.Sprintf("%v", v)`` (flattening git files, combining matrix children, matching
post-selectors), so this module reproduces that formatting exactly: float64 numbers print as
``3``, ``1.5`` or ``1.234567e+06``, nil as ``<nil>``, maps as ``map[k:v]``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

Params = dict[str, Any]

_INVALID_DNS_CHARS = re.compile(r"[^-a-z0-9.]")
MAX_DNS_NAME_LENGTH = 253


def sanitize_name(name: str) -> str:
    """Argo CD's ``normalize`` (SanitizeName): lowercase, other characters to ``-``, trimmed.

    No collapsing of repeated ``-`` (``a__b`` -> ``a--b``); cut to 253 bytes before trimming.
    """
    name = _INVALID_DNS_CHARS.sub("-", name.lower())
    if len(name.encode()) > MAX_DNS_NAME_LENGTH:
        name = name.encode()[:MAX_DNS_NAME_LENGTH].decode(errors="ignore")
    return name.strip("-.")


def go_float(value: float) -> str:
    """Go's ``%v`` for a float64 (strconv 'g', shortest): exponent form when exp < -4 or exp >= 6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    # repr() gives the shortest round-tripping digits, as strconv.FormatFloat(f, 'g', -1, 64).
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    digit_text = "".join(str(d) for d in digits)
    exp10 = len(digit_text) + int(exponent) - 1  # position of the decimal point, scientific
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:
        mantissa = digit_text[0] + ("." + digit_text[1:] if len(digit_text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if exp10 < 0:
        return f"{prefix}0.{'0' * (-exp10 - 1)}{digit_text}"
    if len(digit_text) <= exp10 + 1:
        return f"{prefix}{digit_text}{'0' * (exp10 + 1 - len(digit_text))}"
    return f"{prefix}{digit_text[: exp10 + 1]}.{digit_text[exp10 + 1 :]}"


def go_sprint(value: Any) -> str:
    """Go's ``fmt.Sprintf("%v", value)`` for the values JSON decoding produces."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "<nil>"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Mapping):
        # fmt prints maps with their keys sorted (Go 1.12+).
        inner = " ".join(f"{go_sprint(k)}:{go_sprint(value[k])}" for k in sorted(value, key=str))
        return f"map[{inner}]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_sprint(v) for v in value) + "]"
    return str(value)


@functools.cache
def _go_values() -> Any:
    """The Go template engine's stand-ins for Go's typed containers (imported when first needed;
    cached: an import statement per cluster and parameter set cost more than the set itself)."""
    from fleet.gotemplate import values

    return values


def str_list(items: list[str]) -> list[str]:
    """A Go ``[]string`` (git path ``segments``): templates see a list, flattening one value."""
    return _go_values().StrList(items)


def str_map(items: Mapping[str, str]) -> dict[str, str]:
    """A Go ``map[string]string`` (cluster labels and annotations, ``values``).

    The distinction is visible in templates: Sprig's ``hasKey`` only takes ``map[string]interface{}``.
    """
    return _go_values().StrMap(items)


def is_go_string_list(value: Any) -> bool:
    """A Go ``[]string`` (path segments): flattening treats it as one value, not a list."""
    return type(value).__name__ == "StrList"


def flatten(params: Mapping[str, Any]) -> dict[str, str]:
    """Dotted string keys, as Argo CD flattens a parameter set for post-selectors.

    Nested maps become ``a.b``, list items ``a.0``; empty maps and lists vanish (jeremywohl/flatten).
    A Go ``[]string`` is not a ``[]interface{}``, so it stays one value printed with ``%v``.
    """
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list) and not is_go_string_list(value):
            for i, v in enumerate(value):
                walk(f"{prefix}.{i}" if prefix else str(i), v)
        else:
            out[prefix] = go_sprint(value)

    for key, value in params.items():
        walk(key, value) if isinstance(value, (Mapping, list)) else out.__setitem__(key, go_sprint(value))
    return out


def stringify(params: Mapping[str, Any]) -> dict[str, str]:
    """Every value through ``%v`` (Argo CD's ConvertToMapStringString)."""
    return {k: v if type(v) is str else go_sprint(v) for k, v in params.items()}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged over a copy of ``base``: maps merge key by key, anything else is replaced.

    This is what mergo.Merge(..., WithOverride) does to parameter maps (lists are replaced, not
    appended). Sub-maps are copied, never shared, so merged sets can be changed independently.
    """
    out = type(base)(base) if isinstance(base, dict) else dict(base)  # a StrMap stays a StrMap
    for key, value in override.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            out[key] = deep_merge(current, value)
        else:
            out[key] = value
    return out


def copy_params(value: Any) -> Any:
    """A copy of a parameter set that a template may change without changing ``value``.

    Only ``map[string]interface{}`` values (plain dicts, also inside plain lists) can be changed
    by a template (Sprig's ``set``, ``unset``, ``merge``...); Go's typed containers (StrMap,
    StrList) and scalars are shared.
    """
    if type(value) is dict:
        return {k: copy_params(v) if type(v) is dict or type(v) is list else v for k, v in value.items()}
    if type(value) is list:
        return [copy_params(v) if type(v) is dict or type(v) is list else v for v in value]
    return value


def json_key(value: Any) -> str:
    """Go's json.Marshal of a merge-key map (sorted keys, compact) used to index param sets."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def short(params: Mapping[str, Any], *, limit: int = 240) -> str:
    """A parameter set as one short line for error messages."""
    text = json.dumps(params, sort_keys=True, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."
