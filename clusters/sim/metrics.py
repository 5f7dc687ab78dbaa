"""Simulated metrics: what the metrics APIs would report, set by tests and ``fleet sim metric``.

The HorizontalPodAutoscaler controller reads them. A value is keyed by namespace, the object it
describes (``Deployment/web``: resource and pods metrics of a scale target, or the
``describedObject`` of an Object metric; empty for External metrics) and the metric name
(``cpu``, ``memory`` or a custom/external name). A key nobody set reads as the caller's default;
a key set to ``None`` reads as unavailable.
"""

from __future__ import annotations

from typing import Any

_UNSET = object()


class Metrics:
    def __init__(self) -> None:
        self._values: dict[tuple[str, str, str], Any] = {}
        self.version = 0  # bumped by every change, so readers can tell something moved

    def set(self, namespace: str, target: str, name: str, value: Any) -> None:
        """``value``: a number or quantity text (cpu: utilization percent for Utilization targets,
        else an average value), or None for "no metrics returned"."""
        self._values[(namespace, target, name)] = value
        self.version += 1

    def clear(self, namespace: str, target: str, name: str) -> None:
        self._values.pop((namespace, target, name), None)
        self.version += 1

    def read(self, namespace: str, target: str, name: str, *, default: Any = None) -> Any:
        found = self._values.get((namespace, target, name), _UNSET)
        return default if found is _UNSET else found

    def snapshot(self) -> dict[str, Any]:
        return {f"{ns}/{target}/{name}": value for (ns, target, name), value in sorted(self._values.items())}
