"""User-supplied health checks, looked up before the built-in ones.

Three ways in, all ending in ``CUSTOM_CHECKS[(group, kind)]``:

- ``register(group, kind, check)`` from Python;
- installed packages declaring an entry point in the ``fleet.health_checks`` group, named
  ``group/Kind`` (``/Kind`` or ``Kind`` for the core group), whose value is a ``HealthCheck``;
  ``load_entry_points()`` registers them;
- a rules file (``load_rules_file(path)``), a tiny declarative format for teams that do not
  write Python::

      - group: example.com
        kind: Widget
        rules:                      # first rule whose jq expression is true wins
          - when: '.status.state == "Ready"'
            status: Healthy
          - when: '.status.state == "Error"'
            status: Degraded
            message: '.status.error'   # optional jq expression for the message
        default: Progressing        # optional; without it, unmatched objects get the generic check

jq is the expression language because ``ignoreDifferences`` already uses it (jqPathExpressions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import jq
import yaml

from fleet import errors, health

ENTRY_POINT_GROUP = "fleet.health_checks"

CUSTOM_CHECKS: dict[tuple[str, str], health.HealthCheck] = {}


def register(group: str, kind: str, check: health.HealthCheck) -> None:
    """Use ``check`` for objects of this group/kind (replacing any built-in check)."""
    CUSTOM_CHECKS[(group, kind)] = check


def unregister(group: str, kind: str) -> None:
    CUSTOM_CHECKS.pop((group, kind), None)


def parse_group_kind(name: str) -> tuple[str, str]:
    """``apps/Deployment`` -> ("apps", "Deployment"); ``Pod`` or ``/Pod`` -> ("", "Pod")."""
    group, _, kind = name.rpartition("/")
    if not kind:
        raise errors.InputError(f"health check name {name!r} must be 'group/Kind'", field="name")
    return group, kind


def load_entry_points(*, group: str = ENTRY_POINT_GROUP) -> list[tuple[str, str]]:
    """Register every check that installed packages declare; returns the group/kinds added."""
    added = []
    for entry in metadata.entry_points(group=group):
        check = entry.load()
        if not callable(check):
            raise errors.InputError(f"entry point {entry.name!r} ({entry.value}) is not callable")
        key = parse_group_kind(entry.name)
        register(*key, check)
        added.append(key)
    return added


@dataclass(frozen=True)
class _Rule:
    when: Any  # compiled jq program
    status: health.Health
    message: Any | None  # compiled jq program, or None


@dataclass(frozen=True)
class RuleCheck:
    """A health check made of jq rules (see the module docstring)."""

    group: str
    kind: str
    rules: tuple[_Rule, ...]
    default: health.Health | None

    def __call__(self, obj: Mapping[str, Any], /) -> health.HealthStatus:
        for rule in self.rules:
            if _truthy(rule.when.input_value(obj).first()):
                message = ""
                if rule.message is not None:
                    value = rule.message.input_value(obj).first()
                    message = "" if value is None else str(value)
                return health.HealthStatus(rule.status, message)
        if self.default is not None:
            return health.HealthStatus(self.default, "no health rule matched")
        from fleet.health import generic

        return generic.check(obj)


def _truthy(value: Any) -> bool:
    # jq truthiness: only false and null are false.
    return value is not None and value is not False


def rule_checks(spec: Iterable[Mapping[str, Any]], *, source: str = "<rules>") -> list[RuleCheck]:
    """Build checks from parsed rules data; a bad entry is an InputError naming file and field."""
    checks = []
    for index, entry in enumerate(spec):
        where = f"entry {index}"
        if not isinstance(entry, Mapping) or not entry.get("kind"):
            raise errors.InputError(
                "each entry needs 'kind' (and 'group', '' for core)", file=source, obj=where
            )
        rules = []
        for rule_index, rule in enumerate(entry.get("rules") or ()):
            field = f"rules[{rule_index}]"
            try:
                status = health.Health(rule["status"])
            except (KeyError, ValueError) as exc:
                raise errors.InputError(
                    f"status must be one of {', '.join(h.value for h in health.Health)}",
                    file=source,
                    obj=where,
                    field=f"{field}.status",
                ) from exc
            try:
                when = jq.compile(str(rule["when"]))
                message = jq.compile(str(rule["message"])) if rule.get("message") else None
            except KeyError as exc:
                raise errors.InputError("missing 'when'", file=source, obj=where, field=field) from exc
            except ValueError as exc:
                raise errors.InputError(
                    f"invalid jq expression: {exc}", file=source, obj=where, field=field
                ) from exc
            rules.append(_Rule(when, status, message))
        default = entry.get("default")
        try:
            default_health = health.Health(default) if default else None
        except ValueError as exc:
            raise errors.InputError("unknown health status", file=source, obj=where, field="default") from exc
        checks.append(
            RuleCheck(str(entry.get("group") or ""), str(entry["kind"]), tuple(rules), default_health)
        )
    return checks


def load_rules_file(path: Path | str) -> list[tuple[str, str]]:
    """Read a rules file (YAML list, see module docstring) and register its checks."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise errors.InputError(f"is not UTF-8 text (byte {exc.start} of the file)", file=str(path)) from None
    except (OSError, yaml.YAMLError) as exc:
        raise errors.InputError(f"cannot read health rules: {exc}", file=str(path)) from exc
    if not isinstance(data, list):
        raise errors.InputError("health rules must be a YAML list", file=str(path))
    added = []
    for check in rule_checks(data, source=str(path)):
        register(check.group, check.kind, check)
        added.append((check.group, check.kind))
    return added
