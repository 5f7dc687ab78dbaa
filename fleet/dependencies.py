"""Dependencies between the Applications of one cluster (``fleet.gitops.io/depends-on``).

Where it sits: the driver's plan (``fleet.driver.schedule``, phase 5) reads the annotation of
every selected Application (templated like any field: ``depends-on: 'cert-manager-{{name}}'``)
and calls ``check`` per cluster: a dependency that no Application of that cluster has, or a cycle, is a
generation error naming them, and the Applications involved are not synced. The worker
(``fleet.reconcile``) orders a cluster's Applications as a DAG with ``Graph``: an Application
starts once everything it depends on ended Synced and Healthy in this run; one whose dependency
did not is left untouched (``Reason.DEPENDENCY_NOT_READY``); independent Applications still run
side by side. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

ANNOTATION = "fleet.gitops.io/depends-on"


def parse(annotations: Mapping[str, str]) -> tuple[str, ...]:
    """The names an Application depends on: comma-separated, spaces and empty entries ignored."""
    text = annotations.get(ANNOTATION, "")
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


@dataclass(frozen=True)
class Problem:
    """A dependency that cannot be satisfied: the Applications it concerns and why."""

    cluster: str
    apps: tuple[str, ...]
    message: str


def check(
    cluster: str, depends: Mapping[str, tuple[str, ...]], *, known: Iterable[str] = ()
) -> list[Problem]:
    """Missing dependencies and cycles among one cluster's Applications (``depends``: name ->
    what it depends on). ``known``: further names generated for the cluster but not in this run
    (narrowed by ``--app``): not missing."""
    problems: list[Problem] = []
    exists = set(depends) | set(known)
    for name in sorted(depends):
        missing = [d for d in depends[name] if d not in exists]
        if missing:
            problems.append(
                Problem(
                    cluster,
                    (name,),
                    f"Application {name} on cluster {cluster}: depends on {', '.join(missing)}, which "
                    f"{'is' if len(missing) == 1 else 'are'} not generated for this cluster ({ANNOTATION})",
                )
            )
    for cycle in cycles(depends):
        problems.append(
            Problem(
                cluster,
                tuple(sorted(set(cycle))),
                f"Applications on cluster {cluster} depend on each other in a cycle: {' -> '.join(cycle)} "
                f"({ANNOTATION})",
            )
        )
    return problems


def cycles(depends: Mapping[str, tuple[str, ...]]) -> list[list[str]]:
    """Each cycle once, as a path that ends where it starts (``a -> b -> a``)."""
    found: list[list[str]] = []
    seen_sets: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for dep in depends.get(name, ()):
            if dep not in depends:
                continue
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                key = frozenset(cycle)
                if key not in seen_sets:
                    seen_sets.add(key)
                    found.append(cycle)
            elif dep not in state:
                visit(dep)
        path.pop()
        state[name] = 2

    for name in sorted(depends):
        if name not in state:
            visit(name)
    return found


@dataclass
class Graph:
    """A cluster's Applications as they finish: which may start now, which can no longer start.

    ``ready``: names that ended Synced and Healthy earlier in this run (an earlier rollout wave).
    """

    depends: Mapping[str, tuple[str, ...]]
    ready: frozenset[str] = frozenset()
    _done: dict[str, bool] = field(default_factory=dict)
    _started: set[str] = field(default_factory=set)

    def startable(self) -> list[str]:
        """Names not started yet whose dependencies all ended Synced and Healthy."""
        out = []
        for name in sorted(self.depends):
            if name in self._started:
                continue
            if all(self._done.get(d, d in self.ready) is True and self._known(d) for d in self.depends[name]):
                out.append(name)
        self._started.update(out)
        return out

    def _known(self, dep: str) -> bool:
        return dep in self._done or dep in self.ready

    def finish(self, name: str, ok: bool) -> None:
        self._done[name] = ok

    def blocked(self) -> dict[str, str]:
        """Names that can no longer start, each with the dependency that did not become ready.
        Call once nothing is running."""
        out: dict[str, str] = {}
        for name in sorted(self.depends):
            if name in self._started:
                continue
            for dep in self.depends[name]:
                if self._done.get(dep) is False:
                    out[name] = f"{dep} did not become Synced and Healthy"
                    break
                if dep in out or (dep not in self._done and dep not in self.ready):
                    out[name] = (
                        f"{dep} did not become Synced and Healthy" if dep in out else f"{dep} did not run"
                    )
                    break
        return out


__all__ = ["ANNOTATION", "Graph", "Problem", "check", "cycles", "parse"]
