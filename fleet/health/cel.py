"""CEL health checks with Flux's ``healthCheckExprs`` semantics, evaluated by the CEL C++ runtime.

Where it sits: ``fleet.health.config`` reads the entries (from ``fleet.yaml``, ``--health-exprs``
files or Flux Kustomizations' ``spec.healthCheckExprs``) with ``checks_from_entries``; a
``CelCheck`` is plain data (the expressions' text) and travels to workers with the run's
settings, where ``fleet.health.check`` calls it on live objects. Compiled programs are cached per
process, never shipped.

Semantics, as Flux's kustomize-controller (``fluxcd/pkg/runtime/cel``) evaluates them:

- an entry applies to a group (``apiVersion``'s group; the version is ignored) and a ``kind``;
  without ``kind`` it applies to every kind of the group, and an entry naming the kind wins over
  the group-wide one; two entries for one group/kind are an error;
- ``current`` is required, ``inProgress`` and ``failed`` are optional;
- the object's top-level fields are the expression's variables (``status``, ``metadata``,
  ``spec``...), so ``status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')``;
- first, ``status.observedGeneration`` (when an integer) differing from ``metadata.generation``
  means in progress; then ``inProgress``, ``failed``, ``current`` in that order, the first true one
  decides (Progressing, Degraded, Healthy); none true means Progressing;
- an expression that fails to evaluate (a missing field) gives Unknown with the error, so a
  sync wave keeps waiting until its health timeout, as Flux waits until its timeout.

The environment matches Flux's: optional types (``status.?conditions.orValue([])``), the strings
and encoders extensions, cross-type numeric comparisons, and ``sets.contains``,
``sets.equivalent`` and ``sets.intersects`` (defined here: the runtime has no sets extension).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fleet import errors, health

CURRENT = "current"
IN_PROGRESS = "inProgress"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class CelCheck:
    """One ``healthCheckExprs`` entry: the group and kind it covers and its expressions' text.

    ``kind`` is empty for a group-wide entry. ``origin`` names the entry in messages.
    """

    group: str
    kind: str
    current: str
    in_progress: str = ""
    failed: str = ""
    origin: str = "healthCheckExprs"

    def matches(self, group: str, kind: str) -> bool:
        return self.group == group and (not self.kind or self.kind == kind)

    def __call__(self, obj: Mapping[str, Any], /) -> health.HealthStatus:
        return evaluate(self, obj)


def evaluate(check: CelCheck, obj: Mapping[str, Any]) -> health.HealthStatus:
    """Flux's StatusEvaluator.Evaluate, mapped onto fleet's health vocabulary."""
    status = obj.get("status")
    metadata = obj.get("metadata")
    observed = status.get("observedGeneration") if isinstance(status, Mapping) else None
    generation = metadata.get("generation") if isinstance(metadata, Mapping) else None
    if _is_int(observed) and _is_int(generation) and observed != generation:
        return health.HealthStatus(
            health.Health.PROGRESSING, "status.observedGeneration differs from metadata.generation"
        )
    data = {str(k): v for k, v in obj.items()}
    for field, text, verdict in (
        (IN_PROGRESS, check.in_progress, health.Health.PROGRESSING),
        (FAILED, check.failed, health.Health.DEGRADED),
        (CURRENT, check.current, health.Health.HEALTHY),
    ):
        if not text:
            continue
        try:
            result = _program(text).eval(data=data)
        except Exception as exc:  # noqa: BLE001 - the runtime raises bare RuntimeErrors
            return health.HealthStatus(health.Health.UNKNOWN, f"{check.origin}.{field}: {_one_line(exc)}")
        kind = result.type()
        if kind == _cel().Type.ERROR:
            return health.HealthStatus(
                health.Health.UNKNOWN,
                f"{check.origin}.{field}: failed to evaluate: {_one_line(result.value())}",
            )
        if kind != _cel().Type.BOOL:
            return health.HealthStatus(
                health.Health.UNKNOWN,
                f"{check.origin}.{field}: evaluates to {kind.name().lower()}, not a boolean",
            )
        if result.value() is True:
            return health.HealthStatus(verdict, f"{field} expression is true")
    return health.HealthStatus(health.Health.PROGRESSING, "no health expression is true yet")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


# --- the runtime ---------------------------------------------------------------------------------


def _cel() -> Any:
    from cel_expr_python import cel

    return cel


def _sets_functions() -> list[Any]:
    """cel-go's sets extension (which Flux enables), with CEL's equality between list elements."""
    cel = _cel()
    lists = [cel.Type.List(cel.Type.DYN), cel.Type.List(cel.Type.DYN)]

    def contains(a: list[Any], b: list[Any]) -> bool:
        return all(item in a for item in b)

    def equivalent(a: list[Any], b: list[Any]) -> bool:
        return contains(a, b) and contains(b, a)

    def intersects(a: list[Any], b: list[Any]) -> bool:
        return any(item in a for item in b)

    return [
        cel.FunctionDecl(
            f"sets.{name}",
            [cel.Overload(f"sets_{name}_list_list", return_type=cel.Type.BOOL, parameters=lists, impl=impl)],
        )
        for name, impl in (("contains", contains), ("equivalent", equivalent), ("intersects", intersects))
    ]


@functools.cache
def _env() -> Any:
    cel = _cel()
    from cel_expr_python.ext import ext_encoders, ext_optional, ext_strings

    return cel.NewEnv(
        extensions=[ext_optional.ExtOptional(), ext_strings.ExtStrings(), ext_encoders.ExtEncoders()],
        functions=_sets_functions(),
    )


_compile_lock = threading.Lock()


@functools.lru_cache(maxsize=1024)
def _program(text: str) -> Any:
    """The compiled expression (cached per process; evaluation is thread-safe, compiling is locked).

    Compiled without type checking, as Flux parses without compiling: objects are not typed.
    """
    with _compile_lock:
        return _env().compile(text, disable_check=True)


def compile_error(text: str) -> str | None:
    """Why ``text`` is not a CEL expression, or None when it parses."""
    try:
        _program(text)
    except Exception as exc:  # noqa: BLE001 - the runtime raises bare RuntimeErrors
        return _one_line(exc)
    return None


# --- reading Flux's format ------------------------------------------------------------------------


def checks_from_entries(
    entries: Iterable[Any], *, file: str, where: str = "healthCheckExprs"
) -> tuple[CelCheck, ...]:
    """``healthCheckExprs`` entries as checks; a bad entry is an InputError naming file, entry and field.

    Every expression is compiled here, so a syntax error is bad input before anything runs.
    """
    checks: list[CelCheck] = []
    seen: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(entries):
        obj = f"{where}[{index}]"
        if not isinstance(entry, Mapping):
            raise errors.InputError("must be a mapping with apiVersion, kind and current", file=file, obj=obj)
        api_version = entry.get("apiVersion")
        if not isinstance(api_version, str) or not api_version.strip():
            raise errors.InputError("is required", file=file, obj=obj, field="apiVersion")
        kind = entry.get("kind") or ""
        if not isinstance(kind, str):
            raise errors.InputError("must be a string", file=file, obj=obj, field="kind")
        group = api_version.strip().rpartition("/")[0] if "/" in api_version else ""
        texts: dict[str, str] = {}
        for field in (CURRENT, IN_PROGRESS, FAILED):
            value = entry.get(field)
            if value is None or value == "":
                if field == CURRENT:
                    raise errors.InputError("is required", file=file, obj=obj, field=CURRENT)
                continue
            if not isinstance(value, str):
                raise errors.InputError(
                    "must be a CEL expression (a string)", file=file, obj=obj, field=field
                )
            problem = compile_error(value)
            if problem is not None:
                raise errors.InputError(
                    f"is not a valid CEL expression: {problem}", file=file, obj=obj, field=field
                )
            texts[field] = value
        key = (group, kind)
        if key in seen:
            target = f"{group or 'core'}/{kind}" if kind else f"every kind of {group or 'the core group'}"
            raise errors.InputError(
                f"a second health check for {target} (first at {where}[{seen[key]}])", file=file, obj=obj
            )
        seen[key] = index
        label = f"{api_version.strip()}" + (f" {kind}" if kind else "")
        checks.append(
            CelCheck(
                group=group,
                kind=kind,
                current=texts[CURRENT],
                in_progress=texts.get(IN_PROGRESS, ""),
                failed=texts.get(FAILED, ""),
                origin=f"{file}: {obj} ({label})",
            )
        )
    return tuple(checks)


def checks_from_documents(documents: Iterable[Any], *, file: str) -> tuple[CelCheck, ...]:
    """Checks from a file's YAML documents: Flux Kustomizations (their ``spec.healthCheckExprs``)
    or bare lists of entries; other documents are ignored. Duplicates across documents are errors."""
    entries: list[Any] = []
    for doc in documents:
        if isinstance(doc, list):
            entries.extend(doc)
        elif isinstance(doc, Mapping) and doc.get("kind") == "Kustomization":
            found = (doc.get("spec") or {}).get("healthCheckExprs") or []
            if not isinstance(found, list):
                name = (doc.get("metadata") or {}).get("name", "")
                raise errors.InputError(
                    "must be a list", file=file, obj=f"Kustomization {name}", field="spec.healthCheckExprs"
                )
            entries.extend(found)
    return checks_from_entries(entries, file=file)
