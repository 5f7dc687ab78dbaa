"""Health: how far a live object is from working, one check per kind behind a dispatcher.

Sits after apply in a cluster sync: the orchestrator reads the live objects of a wave, calls
``check(obj)`` on each, folds the results with ``aggregate`` and waits (or fails) on the worst.
Checks are pure functions of one live object (a dict as the API returns it), so they run anywhere.

The vocabulary and the best-to-worst order follow Argo CD's gitops-engine (``pkg/health``); each
kind's rules live in their own module (``deployment.py``, ``job.py``, ...). Kinds without a
built-in check fall back to ``generic.check`` (``status.conditions`` / ``status.phase``), and
users can plug their own per group/kind (``custom.register``, entry points, or a rules file), or
configure Argo CD's Lua checks and Flux's CEL expressions (``lua``, ``cel``, ``config``, which
also documents the order in which all of these are tried).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class Health(StrEnum):
    """The health of one object or of a whole Application."""

    HEALTHY = "Healthy"  # the object is doing what it was asked to do
    SUSPENDED = "Suspended"  # paused or suspended on purpose (a paused Deployment, a suspended Job)
    PROGRESSING = "Progressing"  # not healthy yet, but still has a chance to get there
    MISSING = "Missing"  # the object does not exist in the cluster
    DEGRADED = "Degraded"  # failed, or cannot reach a healthy state (crash loops, deadline exceeded)
    UNKNOWN = "Unknown"  # the health check itself failed, so nothing can be said

    @property
    def rank(self) -> int:
        """Position in the best-to-worst order (0 is best)."""
        return _ORDER.index(self)

    def is_settled(self) -> bool:
        """True when waiting longer will not change the verdict of a wave (healthy or given up)."""
        return self in (Health.HEALTHY, Health.SUSPENDED, Health.DEGRADED)


# Best to worst, as gitops-engine's healthOrder: an Application is as healthy as its worst object.
_ORDER: tuple[Health, ...] = (
    Health.HEALTHY,
    Health.SUSPENDED,
    Health.PROGRESSING,
    Health.MISSING,
    Health.DEGRADED,
    Health.UNKNOWN,
)


def is_worse(current: Health, new: Health) -> bool:
    """Whether ``new`` is a worse condition than ``current``."""
    return _ORDER.index(Health(new)) > _ORDER.index(Health(current))


@dataclass(frozen=True, slots=True)
class HealthStatus:
    """The verdict of one check: a status and a sentence saying why.

    ``aggregate_as`` lets an object report one status but count as another in the Application's
    total (a suspended Job is shown Suspended but must not make the Application Suspended).
    """

    status: Health
    message: str = ""
    aggregate_as: Health | None = None


class HealthCheck(Protocol):
    """One kind's rules: a pure function of the live object."""

    def __call__(self, obj: Mapping[str, Any], /) -> HealthStatus: ...


def group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    """(group, kind) of an object: the group is apiVersion before the slash ('' for core)."""
    api_version = str(obj.get("apiVersion") or "")
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return group, str(obj.get("kind") or "")


def _build_checks() -> dict[tuple[str, str], HealthCheck]:
    from fleet.health import (
        apiservice,
        daemonset,
        deployment,
        hpa,
        ingress,
        job,
        pod,
        pvc,
        replicaset,
        service,
        statefulset,
    )

    return {
        ("apps", "Deployment"): deployment.check,
        ("apps", "StatefulSet"): statefulset.check,
        ("apps", "DaemonSet"): daemonset.check,
        ("apps", "ReplicaSet"): replicaset.check,
        ("", "Pod"): pod.check,
        ("batch", "Job"): job.check,
        ("", "PersistentVolumeClaim"): pvc.check,
        ("", "Service"): service.check,
        ("networking.k8s.io", "Ingress"): ingress.check,
        ("extensions", "Ingress"): ingress.check,
        ("apiregistration.k8s.io", "APIService"): apiservice.check,
        ("autoscaling", "HorizontalPodAutoscaler"): hpa.check,
    }


# The built-in dispatcher, keyed by (group, kind). Custom checks (fleet.health.custom) are looked
# up before these, and the generic check after them.
HEALTH_CHECKS: dict[tuple[str, str], HealthCheck] = _build_checks()


def resolve(group: str, kind: str, config: HealthConfigLike | None = None) -> tuple[str, HealthCheck]:
    """The check that decides a group/kind and the name of its source, in the documented order.

    ``config`` (a ``fleet.health.config.HealthConfig``) holds the Lua and CEL checks of a run;
    the order and the names are ``fleet.health.config.Source``.
    """
    from fleet.health import config as config_mod
    from fleet.health import custom, generic

    if config:
        found = config.before_python(group, kind)
        if found is not None:
            return found[0].value, found[1]
    registered = custom.CUSTOM_CHECKS.get((group, kind))
    if registered is not None:
        return config_mod.Source.PYTHON.value, registered
    if config:
        found = config.after_python(group, kind)
        if found is not None:
            return found[0].value, found[1]
    built_in = HEALTH_CHECKS.get((group, kind))
    if built_in is not None:
        return config_mod.Source.BUILT_IN.value, built_in
    return config_mod.Source.GENERIC.value, generic.check


def lookup(group: str, kind: str, config: HealthConfigLike | None = None) -> HealthCheck:
    """The check for a group/kind: configured Lua/CEL, a registered custom one, built-in, else generic."""
    return resolve(group, kind, config)[1]


class HealthConfigLike(Protocol):
    """What ``check`` needs of a ``fleet.health.config.HealthConfig`` (defined there, above us)."""

    def __bool__(self) -> bool: ...

    def before_python(self, group: str, kind: str) -> tuple[Any, HealthCheck] | None: ...

    def after_python(self, group: str, kind: str) -> tuple[Any, HealthCheck] | None: ...


def check(obj: Mapping[str, Any] | None, *, config: HealthConfigLike | None = None) -> HealthStatus:
    """The health of one live object (``None`` when it does not exist: Missing).

    An object being deleted is Progressing whatever its kind (gitops-engine does the same); a
    check that raises gives Unknown with the error as message, never an exception. ``config``
    adds the run's Lua and CEL checks (``fleet.health.config``).
    """
    if obj is None:
        return HealthStatus(Health.MISSING, "resource does not exist")
    metadata = obj.get("metadata") or {}
    if metadata.get("deletionTimestamp"):
        return HealthStatus(Health.PROGRESSING, "Pending deletion")
    group, kind = group_kind(obj)
    try:
        return lookup(group, kind, config)(obj)
    except Exception as exc:  # noqa: BLE001 - a broken custom check or odd object must not abort the sync
        return HealthStatus(Health.UNKNOWN, f"health check for {kind} failed: {type(exc).__name__}: {exc}")


def aggregate(statuses: Iterable[HealthStatus]) -> Health:
    """The worst status of many (``aggregate_as`` counts where set); Healthy when empty."""
    worst = Health.HEALTHY
    for item in statuses:
        value = item.aggregate_as or item.status
        if is_worse(worst, value):
            worst = value
    return worst


def condition(obj: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
    """The ``status.conditions`` entry of the given type, if any (shared by the kind modules)."""
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if isinstance(cond, Mapping) and cond.get("type") == type_:
            return cond
    return None


def as_int(value: Any, default: int = 0) -> int:
    """An integer field that may be missing, null or (from some clients) a numeric string."""
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


__all__ = [
    "HEALTH_CHECKS",
    "Health",
    "HealthCheck",
    "HealthStatus",
    "aggregate",
    "check",
    "group_kind",
    "is_worse",
    "lookup",
    "resolve",
]
