"""Label and field selectors, as LIST, WATCH and DELETECOLLECTION requests send them.

Parsed once per request into a predicate over stored objects. Label selectors are those of
``k8s.io/apimachinery/pkg/labels`` and are parsed by ``fleet.clusters.selectors`` (the same
grammar the fleet's own ``--selector`` uses); field selectors (``a=b``, ``a==b``, ``a!=b`` on
dotted paths, joined by commas) are simple enough to parse here. There is no Python library for
either.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from fleet import errors
from fleet.clusters import selectors as label_selectors

Predicate = Callable[[Mapping[str, Any]], bool]


class SelectorError(ValueError):
    """The selector text is malformed; the message says which part."""


def _split(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
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


def _on_labels(selector: label_selectors.Selector) -> Predicate:
    def predicate(obj: Mapping[str, Any]) -> bool:
        return selector.matches((obj.get("metadata") or {}).get("labels") or {})

    return predicate


def parse_label_selector(text: str | None) -> Predicate | None:
    """A predicate over an object's labels, or None for "everything"."""
    if not text or not text.strip():
        return None
    try:
        return _on_labels(label_selectors.parse(text, where="labelSelector"))
    except errors.InputError as exc:
        raise SelectorError(str(exc)) from None


def match_labels_selector(selector: Mapping[str, Any] | None) -> Predicate | None:
    """The predicate of a structured ``LabelSelector`` (matchLabels + matchExpressions)."""
    if selector is None:
        return None
    try:
        return _on_labels(label_selectors.from_label_selector(selector))
    except errors.InputError as exc:
        raise SelectorError(str(exc)) from None


def labels_match(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    predicate = match_labels_selector(selector)
    return predicate is None or predicate({"metadata": {"labels": labels}})


# Field labels that are not paths of the object, per (group, kind), as the API server defines them.
FIELD_ALIASES: dict[tuple[str, str], dict[str, str]] = {
    ("", "Event"): {"source": "source.component"},
}


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


def _field_test(obj: Mapping[str, Any], *, path: str, value: str, equal: bool) -> bool:
    """One ``path=value`` (``equal``) or ``path!=value`` term of a field selector."""
    return (_field(obj, path) == value) is equal


def _terms(text: str) -> list[tuple[str, str, str]]:
    """``(path, operator, value)`` of each comma-separated term of a field selector."""
    out = []
    for part in _split(text):
        for op in ("!=", "==", "="):
            if op in part:
                path, _, value = part.partition(op)
                path, value = path.strip(), value.strip()
                if not path:
                    raise SelectorError(f"invalid field selector {text!r}: empty field in {part!r}")
                out.append((path, op, value))
                break
        else:
            raise SelectorError(f"invalid field selector {text!r}: {part!r} has no operator")
    return out


def rename_fields(text: str, rename: Callable[[str], str]) -> str:
    """The same field selector with every path passed through ``rename`` (views serve objects
    under other field names than they are stored with)."""
    return ",".join(f"{rename(path)}{op}{value}" for path, op, value in _terms(text))


def parse_field_selector(text: str | None, *, aliases: Mapping[str, str] | None = None) -> Predicate | None:
    """Field selectors: ``=``, ``==`` and ``!=`` on dotted paths (metadata.name, status.phase,
    spec.nodeName, type, involvedObject.name, ...), which is what kubectl and controllers send.
    ``aliases`` maps a kind's field labels that are not paths (an Event's ``source`` is
    ``source.component``)."""
    if not text or not text.strip():
        return None
    tests: list[Callable[[Mapping[str, Any]], bool]] = []
    for path, op, value in _terms(text):
        path = (aliases or {}).get(path, path)
        tests.append(functools.partial(_field_test, path=path, value=value, equal=op != "!="))

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
