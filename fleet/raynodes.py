"""Where a run's units of work go on a Ray cluster: its alive nodes, and which clusters run where.

Sits under the Ray executor (``fleet.executor.RayExecutor``), which asks it two things before and
during a fan-out:

1. **Spread** (the default): how many worker actors each alive node gets. Every node with CPUs
   gets actors in proportion to its CPUs (a head started with ``--num-cpus=0`` gets none, as
   KubeRay heads often are), so clusters are spread over the nodes rather than packed on one.
2. **Pins** (``--ray-placement SELECTOR:RESOURCE``, repeatable): the clusters whose labels match
   the selector run only on nodes that have the Ray custom resource (``ray start --resources
   '{"region-eu": 1}'``), e.g. a region's clusters on the nodes in that region's network. The
   first matching pin wins; a cluster no pin matches is spread.

Pure functions over plain data: the executor reads the nodes from Ray (``ray.nodes()``) and
passes them in, so this module never imports Ray.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from fleet import errors
from fleet.clusters import selectors

PLACEMENT_FLAG = "--ray-placement"
# Ray's own resource names: CPU, GPU, memory, object_store_memory, node:<ip>, accelerator_type:...
_BUILTIN_RESOURCES = frozenset({"CPU", "GPU", "memory", "object_store_memory"})
_RESOURCE = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.]*$")
# The share of a pinned resource one worker actor asks for: small enough that a node with
# {"region-eu": 1} takes every actor fleet places there, and non-zero so that only nodes that have
# the resource qualify. (Ray keeps resource amounts to four decimal places.)
PIN_SHARE = 0.001


@dataclass(frozen=True)
class Node:
    """One alive Ray node, as ``ray.nodes()`` lists it."""

    node_id: str  # as ray.get_runtime_context().get_node_id() reports it
    cpus: float
    resources: Mapping[str, float]

    def has(self, resource: str) -> bool:
        return self.resources.get(resource, 0.0) > 0


@dataclass(frozen=True)
class Pin:
    """Clusters matching ``selector`` run on nodes that have the custom resource ``resource``."""

    selector: selectors.Selector
    resource: str

    def __str__(self) -> str:
        return f"{self.selector}:{self.resource}"


def parse_pins(texts: Iterable[str]) -> tuple[Pin, ...]:
    """``--ray-placement`` values (``SELECTOR:RESOURCE``) as pins; ``errors.InputError`` naming
    the flag and the value otherwise. The selector is a label selector as ``--selector`` takes
    (``region=eu``, ``region in (eu,uk)``); label keys and values cannot hold a colon, so the last
    colon ends it."""
    pins = []
    for text in texts:
        selector_text, sep, resource = text.rpartition(":")
        resource = resource.strip()
        if not sep or not selector_text.strip():
            raise errors.InputError(
                f"{text!r}: want SELECTOR:RESOURCE, e.g. region=eu:region-eu (clusters labelled "
                "region=eu run on Ray nodes with the custom resource region-eu)",
                field=PLACEMENT_FLAG,
            )
        if not _RESOURCE.match(resource) or resource in _BUILTIN_RESOURCES or resource.startswith("node:"):
            raise errors.InputError(
                f"{text!r}: {resource!r} is not a custom Ray resource name (letters, digits, '-', '_', "
                "'.'; not CPU, GPU, memory or node:...)",
                field=PLACEMENT_FLAG,
            )
        selector = selectors.parse(selector_text, where=f"{PLACEMENT_FLAG} {text!r}")
        if not selector:
            raise errors.InputError(f"{text!r}: the selector selects every cluster", field=PLACEMENT_FLAG)
        pins.append(Pin(selector=selector, resource=resource))
    return tuple(pins)


def resource_for(labels: Mapping[str, str], pins: Sequence[Pin]) -> str:
    """The custom resource a cluster with these labels must run on ("": any node)."""
    for pin in pins:
        if pin.selector.matches(labels):
            return pin.resource
    return ""


def spread(nodes: Sequence[Node], total: int | None = None) -> list[str]:
    """One node id per worker actor: ``total`` actors (default: one per CPU of the cluster) dealt
    round-robin over the nodes with CPUs, each node taking at most its CPUs per round before the
    rounds repeat. Nodes without CPUs take actors only when no node has any."""
    with_cpus = sorted((n for n in nodes if n.cpus >= 1), key=lambda n: n.node_id)
    if not with_cpus:
        with_cpus = sorted(nodes, key=lambda n: n.node_id)
        if not with_cpus:
            return []
        capacity = {n.node_id: 1 for n in with_cpus}
    else:
        capacity = {n.node_id: int(n.cpus) for n in with_cpus}
    want = total if total is not None else sum(capacity.values())
    placed: list[str] = []
    while len(placed) < want:
        for turn in range(max(capacity.values())):
            for node in with_cpus:
                if turn < capacity[node.node_id] and len(placed) < want:
                    placed.append(node.node_id)
    return placed


def pinned(nodes: Sequence[Node], resource: str) -> list[str]:
    """One node id per worker actor for a pinned resource: every node that has it, as many actors
    as it has CPUs (at least one)."""
    return [
        n.node_id
        for n in sorted(nodes, key=lambda n: n.node_id)
        if n.has(resource)
        for _ in range(max(1, int(n.cpus)))
    ]


def from_ray(listing: Iterable[Mapping[str, object]]) -> list[Node]:
    """The alive nodes out of ``ray.nodes()``."""
    nodes = []
    for entry in listing:
        if not entry.get("Alive"):
            continue
        resources = entry.get("Resources") or {}
        assert isinstance(resources, Mapping)
        nodes.append(
            Node(
                node_id=str(entry.get("NodeID", "")),
                cpus=float(resources.get("CPU", 0.0)),
                resources={str(k): float(v) for k, v in resources.items()},
            )
        )
    return nodes
