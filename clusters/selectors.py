"""Kubernetes label selectors: parse them and match them against cluster labels.

Used when a run is narrowed to part of the fleet (``fleet sync --selector``, ``fleet clusters list
--selector``) and by anything that matches a ``LabelSelector`` object (``matchLabels`` and
``matchExpressions``, as the cluster generator does). Pure functions over plain data.

The string grammar is that of ``kubectl get -l`` (apimachinery ``labels.Parse``)::

    env=prod,region in (eu,us),!canary,tier!=db,gpu,replicas>2

A Kubernetes-style selector is hand-parsed here because no maintained Python library parses the
string form; the grammar is small and fixed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fleet import errors

MAX_NAME_LENGTH = 63
MAX_PREFIX_LENGTH = 253
_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class Operator(StrEnum):
    """What a requirement asks of one label."""

    EQUALS = "="  # the label is present and equals the single value
    NOT_EQUALS = "!="  # the label is absent, or present with another value
    IN = "in"  # the label is present and its value is one of the values
    NOT_IN = "notin"  # the label is absent, or its value is none of the values
    EXISTS = "exists"  # the label is present, whatever its value
    DOES_NOT_EXIST = "!"  # the label is absent
    GREATER_THAN = "gt"  # the label is present and is an integer above the single value
    LESS_THAN = "lt"  # the label is present and is an integer below the single value


@dataclass(frozen=True)
class Requirement:
    """One comma-separated term of a selector."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        match self.operator:
            case Operator.EQUALS | Operator.IN:
                return present and value in self.values
            case Operator.NOT_EQUALS | Operator.NOT_IN:
                return not present or value not in self.values
            case Operator.EXISTS:
                return present
            case Operator.DOES_NOT_EXIST:
                return not present
            case Operator.GREATER_THAN | Operator.LESS_THAN:
                if not present:
                    return False
                try:
                    have, want = int(str(value)), int(self.values[0])
                except ValueError:
                    return False
                return have > want if self.operator is Operator.GREATER_THAN else have < want
        raise AssertionError(self.operator)  # every Operator member is handled above

    def __str__(self) -> str:
        match self.operator:
            case Operator.EXISTS:
                return self.key
            case Operator.DOES_NOT_EXIST:
                return f"!{self.key}"
            case Operator.IN | Operator.NOT_IN:
                return f"{self.key} {self.operator.value} ({','.join(self.values)})"
            case Operator.GREATER_THAN:
                return f"{self.key}>{self.values[0]}"
            case Operator.LESS_THAN:
                return f"{self.key}<{self.values[0]}"
        return f"{self.key}{self.operator.value}{self.values[0]}"


@dataclass(frozen=True)
class Selector:
    """All requirements must hold (a logical AND); no requirements selects everything."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(req.matches(labels) for req in self.requirements)

    def __bool__(self) -> bool:
        return bool(self.requirements)

    def __str__(self) -> str:
        return ",".join(str(req) for req in self.requirements)


EVERYTHING = Selector()

# Characters that end an identifier in the string form.
_SPECIAL = set(" \t\n,()=!<>")


def _tokens(text: str) -> list[tuple[str, int]]:
    """Split a selector string into (token, position) pairs."""
    out: list[tuple[str, int]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t\n":
            i += 1
        elif text.startswith(("==", "!="), i):
            out.append((text[i : i + 2], i))
            i += 2
        elif ch in ",()=!<>":
            out.append((ch, i))
            i += 1
        else:
            start = i
            while i < len(text) and text[i] not in _SPECIAL:
                i += 1
            out.append((text[start:i], start))
    return out


def parse(text: str | None, *, where: str = "selector") -> Selector:
    """Parse the string form of a label selector.

    Parameters:
        text: e.g. ``env=prod,region in (eu,us),!canary``; empty or None selects everything.
        where: what to name in errors (a flag, or a file and field).
    """
    if text is None or not text.strip():
        return EVERYTHING
    tokens = _tokens(text)
    pos = 0

    def fail(message: str, at: int | None = None) -> errors.InputError:
        offset = tokens[at][1] if at is not None and at < len(tokens) else len(text)
        return errors.InputError(f"{message} at position {offset + 1} in {text!r}", field=where)

    def peek() -> str | None:
        return tokens[pos][0] if pos < len(tokens) else None

    def take_identifier(what: str) -> str:
        nonlocal pos
        token = peek()
        if token is None or token in {",", "(", ")", "=", "==", "!=", "!", "<", ">"}:
            raise fail(f"expected a {what}", pos)
        pos += 1
        return token

    requirements: list[Requirement] = []
    while True:
        if peek() == "!":
            pos += 1
            key = _checked_key(take_identifier("label key"), fail, pos - 1)
            requirements.append(Requirement(key, Operator.DOES_NOT_EXIST))
        else:
            key_at = pos
            key = _checked_key(take_identifier("label key"), fail, key_at)
            op = peek()
            if op is None or op == ",":
                requirements.append(Requirement(key, Operator.EXISTS))
            elif op in {"=", "==", "!="}:
                pos += 1
                value = ""
                if peek() not in {None, ","}:
                    value = take_identifier("label value")
                _checked_value(value, fail, pos - 1)
                operator = Operator.NOT_EQUALS if op == "!=" else Operator.EQUALS
                requirements.append(Requirement(key, operator, (value,)))
            elif op in {"<", ">"}:
                pos += 1
                value = take_identifier("integer")
                if not re.fullmatch(r"-?\d+", value):
                    raise fail(f"{value!r} is not an integer", pos - 1)
                operator = Operator.GREATER_THAN if op == ">" else Operator.LESS_THAN
                requirements.append(Requirement(key, operator, (value,)))
            elif op in {"in", "notin"}:
                pos += 1
                if peek() != "(":
                    raise fail(f"expected '(' after {op!r}", pos)
                pos += 1
                if peek() == ")":
                    raise fail(f"{op!r} needs at least one value", pos)
                values: list[str] = []
                while True:
                    token = peek()
                    if token in {",", ")"}:
                        values.append("")  # an empty value between separators, as apimachinery allows
                    else:
                        values.append(take_identifier("label value"))
                        token = peek()
                    _checked_value(values[-1], fail, pos - 1)
                    if token == ",":
                        pos += 1
                        continue
                    if token == ")":
                        pos += 1
                        break
                    raise fail("expected ',' or ')' in a value list", pos)
                operator = Operator.IN if op == "in" else Operator.NOT_IN
                requirements.append(Requirement(key, operator, tuple(sorted(set(values)))))
            else:
                raise fail(f"unexpected {op!r} after label key {key!r}", pos)
        token = peek()
        if token is None:
            break
        if token != ",":
            raise fail(f"expected ',' but found {token!r}", pos)
        pos += 1
        if peek() is None:
            raise fail("a selector must not end with ','", pos)
    return Selector(tuple(requirements))


def _checked_key(key: str, fail: Any, at: int) -> str:
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > MAX_PREFIX_LENGTH or not _PREFIX.match(prefix)):
        raise fail(f"label key {key!r} has an invalid prefix (a DNS subdomain is required)", at)
    if not name or len(name) > MAX_NAME_LENGTH or not _NAME.match(name):
        raise fail(
            f"label key {key!r} is invalid (1-{MAX_NAME_LENGTH} characters: letters, digits, '-', '_', '.',"
            " starting and ending with a letter or digit)",
            at,
        )
    return key


def _checked_value(value: str, fail: Any, at: int) -> str:
    if len(value) > MAX_NAME_LENGTH or not _NAME.match(value):
        raise fail(
            f"label value {value!r} is invalid (at most {MAX_NAME_LENGTH} characters: letters, digits,"
            " '-', '_', '.', starting and ending with a letter or digit)",
            at,
        )
    return value


# matchExpressions operators (metav1.LabelSelectorOperator) -> ours.
_EXPRESSION_OPERATORS = {
    "In": Operator.IN,
    "NotIn": Operator.NOT_IN,
    "Exists": Operator.EXISTS,
    "DoesNotExist": Operator.DOES_NOT_EXIST,
}


def from_label_selector(
    obj: Mapping[str, Any] | None,
    *,
    file: str | None = None,
    obj_name: str | None = None,
    field: str = "selector",
) -> Selector:
    """A ``LabelSelector`` object (``matchLabels`` + ``matchExpressions``) as a ``Selector``.

    ``None`` or ``{}`` selects everything, as in Kubernetes.
    """
    if not obj:
        return EVERYTHING
    if not isinstance(obj, Mapping):
        raise errors.InputError("must be a mapping", file=file, obj=obj_name, field=field)
    requirements: list[Requirement] = []
    match_labels = obj.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping):
        raise errors.InputError("must be a mapping", file=file, obj=obj_name, field=f"{field}.matchLabels")
    for key, value in sorted(match_labels.items()):
        requirements.append(Requirement(str(key), Operator.EQUALS, ("" if value is None else str(value),)))
    expressions = obj.get("matchExpressions") or []
    if not isinstance(expressions, list):
        raise errors.InputError("must be a list", file=file, obj=obj_name, field=f"{field}.matchExpressions")
    for i, expr in enumerate(expressions):
        here = f"{field}.matchExpressions[{i}]"
        if not isinstance(expr, Mapping) or not expr.get("key"):
            raise errors.InputError("needs a 'key'", file=file, obj=obj_name, field=here)
        operator = _EXPRESSION_OPERATORS.get(str(expr.get("operator")))
        if operator is None:
            raise errors.InputError(
                f"operator {expr.get('operator')!r} is not one of {', '.join(_EXPRESSION_OPERATORS)}",
                file=file,
                obj=obj_name,
                field=f"{here}.operator",
            )
        values = tuple(str(v) for v in expr.get("values") or [])
        if operator in (Operator.IN, Operator.NOT_IN) and not values:
            raise errors.InputError(
                f"operator {expr['operator']} needs at least one value",
                file=file,
                obj=obj_name,
                field=f"{here}.values",
            )
        if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
            raise errors.InputError(
                f"operator {expr['operator']} takes no values",
                file=file,
                obj=obj_name,
                field=f"{here}.values",
            )
        requirements.append(Requirement(str(expr["key"]), operator, tuple(sorted(set(values)))))
    return Selector(tuple(requirements))


def matches(selector: Selector | str | None, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy ``selector`` (a parsed Selector or its string form)."""
    if selector is None:
        return True
    if isinstance(selector, str):
        selector = parse(selector)
    return selector.matches(labels)


def select(selector: Selector | str | None, items: Iterable[Any], *, labels: str = "labels") -> list[Any]:
    """The items (anything with a ``labels`` mapping attribute, e.g. ``Cluster``) the selector matches."""
    parsed = parse(selector) if isinstance(selector, str) else (selector or EVERYTHING)
    return [item for item in items if parsed.matches(getattr(item, labels) or {})]
