"""Label and field selectors, as LIST, WATCH and DELETECOLLECTION requests send them.

Parsed once per request into a predicate over stored objects. The grammar is that of
``k8s.io/apimachinery/pkg/labels``: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``,
``a`` (exists) and ``!a`` (does not exist), joined by commas. There is no Python library for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]

_SET_RE = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


class SelectorError(ValueError):
    """The selector text is malformed; the message says which part."""


def _split(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text: str | None) -> Predicate | None:
    """A predicate over a labels mapping, or None for "everything"."""
    if not text or not text.strip():
        return None
    tests: list[Callable[[Mapping[str, str]], bool]] = []
    for part in _split(text):
        match = _SET_RE.match(part)
        if match:
            key, op, values_text = match.groups()
            values = frozenset(v.strip() for v in values_text.split(",") if v.strip())
            if op == "in":
                tests.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                tests.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
            continue
        for op in ("!=", "==", "="):
            if op in part:
                key, _, value = part.partition(op)
                key, value = key.strip(), value.strip()
                if not key:
                    raise SelectorError(f"invalid label selector {text!r}: empty key in {part!r}")
                if op == "!=":
                    tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
                else:
                    tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
                break
        else:
            if part.startswith("!"):
                key = part[1:].strip()
                _check_key(key, text)
                tests.append(lambda labels, k=key: k not in labels)
            else:
                _check_key(part, text)
                tests.append(lambda labels, k=part: k in labels)

    def predicate(obj: Mapping[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(test(labels) for test in tests)

    return predicate


def _check_key(key: str, text: str) -> None:
    if not key or any(c in key for c in " ()!=") or key.count("/") > 1:
        raise SelectorError(f"invalid label selector {text!r}: bad key {key!r}")


def match_labels_selector(selector: Mapping[str, Any] | None) -> Predicate | None:
    """The predicate of a structured ``LabelSelector`` (matchLabels + matchExpressions)."""
    if selector is None:
        return None
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    if not parts:
        return lambda obj: True
    return parse_label_selector(",".join(parts))


def labels_match(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    predicate = match_labels_selector(selector)
    return predicate is None or predicate({"metadata": {"labels": labels}})


def _field(obj: Mapping[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def parse_field_selector(text: str | None) -> Predicate | None:
    """Field selectors: ``=``, ``==`` and ``!=`` on dotted paths (metadata.name, status.phase,
    spec.nodeName, type, involvedObject.name, ...), which is what kubectl and controllers send."""
    if not text or not text.strip():
        return None
    tests: list[Callable[[Mapping[str, Any]], bool]] = []
    for part in _split(text):
        for op in ("!=", "==", "="):
            if op in part:
                path, _, value = part.partition(op)
                path, value = path.strip(), value.strip()
                if not path:
                    raise SelectorError(f"invalid field selector {text!r}: empty field in {part!r}")
                if op == "!=":
                    tests.append(lambda obj, p=path, v=value: _field(obj, p) != v)
                else:
                    tests.append(lambda obj, p=path, v=value: _field(obj, p) == v)
                break
        else:
            raise SelectorError(f"invalid field selector {text!r}: {part!r} has no operator")

    def predicate(obj: Mapping[str, Any]) -> bool:
        return all(test(obj) for test in tests)

    return predicate


def field_selector_name(text: str | None) -> str | None:
    """The single ``metadata.name=X`` of a field selector, used to look one object up directly."""
    if not text:
        return None
    parts = _split(text)
    for part in parts:
        for op in ("==", "="):
            path, sep, value = part.partition(op)
            if sep and path.strip() == "metadata.name" and "!" not in path:
                return value.strip()
    return None
