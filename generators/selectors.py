"""Label selectors as the ApplicationSet controller builds them: post-selectors and cluster selectors.

A generator entry's ``selector`` (post-selector) is matched against the entry's parameter sets,
flattened to dotted string keys. Argo CD builds it with its own copy of apimachinery's
``LabelSelectorAsSelector`` that checks keys but not values, so values such as server URLs
work. The cluster generator's ``clusters.selector`` goes through the strict upstream function,
which also checks values. Matching itself is ``fleet.clusters.selectors``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fleet.clusters import selectors as label_selectors
from fleet.generators import interface
from fleet.generators import params as params_mod

MAX_NAME_LENGTH = 63
MAX_PREFIX_LENGTH = 253
_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

_OPERATORS = {
    "In": label_selectors.Operator.IN,
    "NotIn": label_selectors.Operator.NOT_IN,
    "Exists": label_selectors.Operator.EXISTS,
    "DoesNotExist": label_selectors.Operator.DOES_NOT_EXIST,
}


def _key_problem(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > MAX_PREFIX_LENGTH or not _PREFIX.match(prefix)):
        return f"key {key!r}: prefix part must be a DNS subdomain"
    if not name or len(name) > MAX_NAME_LENGTH or not _NAME.match(name):
        return (
            f"key {key!r}: name part must be 1-{MAX_NAME_LENGTH} characters"
            " of letters, digits, '-', '_' or '.',"
            " starting and ending with a letter or digit"
        )
    return None


def _value_problem(value: str) -> str | None:
    if len(value) > MAX_NAME_LENGTH or not _VALUE.match(value):
        return (
            f"value {value!r}: must be at most {MAX_NAME_LENGTH} characters"
            " of letters, digits, '-', '_' or '.',"
            " starting and ending with a letter or digit"
        )
    return None


def build(
    obj: Mapping[str, Any] | None, *, ctx: interface.GenContext, field: str, check_values: bool
) -> label_selectors.Selector | None:
    """A ``LabelSelector`` mapping as a Selector; None when no selector is set (matches everything).

    ``{}`` selects everything too. ``check_values`` adds apimachinery's label-value rules (the
    cluster selector); post-selectors only check keys, as Argo CD's relaxed copy does.
    """
    if obj is None:
        return None
    if not isinstance(obj, Mapping):
        raise interface.InvalidSelectorError("must be a mapping", generator=ctx.path, param=field)

    def fail(where: str, problem: str) -> interface.InvalidSelectorError:
        return interface.InvalidSelectorError(
            f"error parsing label selector: {problem}", generator=ctx.path, param=where
        )

    requirements: list[label_selectors.Requirement] = []
    for key, value in (obj.get("matchLabels") or {}).items():
        key, value = str(key), "" if value is None else str(value)
        problem = _key_problem(key) or (_value_problem(value) if check_values else None)
        if problem:
            raise fail(f"{field}.matchLabels", problem)
        requirements.append(label_selectors.Requirement(key, label_selectors.Operator.EQUALS, (value,)))
    for i, expr in enumerate(obj.get("matchExpressions") or []):
        here = f"{field}.matchExpressions[{i}]"
        if not isinstance(expr, Mapping):
            raise fail(here, "must be a mapping")
        key = str(expr.get("key") or "")
        op_name = str(expr.get("operator") or "")
        operator = _OPERATORS.get(op_name)
        if operator is None:
            raise fail(
                here, f"{op_name!r} is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)"
            )
        values = tuple(str(v) for v in expr.get("values") or [])
        problem = _key_problem(key)
        if (
            not problem
            and operator in (label_selectors.Operator.IN, label_selectors.Operator.NOT_IN)
            and not values
        ):
            problem = "for 'in', 'notin' operators, values set can't be empty"
        if (
            not problem
            and operator in (label_selectors.Operator.EXISTS, label_selectors.Operator.DOES_NOT_EXIST)
            and values
        ):
            problem = "values set must be empty for exists and does not exist"
        if not problem and check_values:
            problem = next((p for p in map(_value_problem, values) if p), None)
        if problem:
            raise fail(here, problem)
        requirements.append(label_selectors.Requirement(key, operator, values))
    return label_selectors.Selector(tuple(requirements))


def post_select(
    sets: list[interface.Params], selector: label_selectors.Selector | None
) -> list[interface.Params]:
    """The parameter sets whose flattened form (dotted keys, ``%v`` values) the selector matches."""
    if selector is None:
        return sets
    return [p for p in sets if selector.matches(params_mod.flatten(p))]
