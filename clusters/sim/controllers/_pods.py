"""Helpers shared by the workload controllers: pods from templates, template hashes, nodes."""

from __future__ import annotations

import json
import math
import random
import zlib
from collections.abc import Mapping
from typing import Any

from fleet.clusters.sim import controllers as ctl

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for generated suffixes


def suffix(n: int = 5) -> str:
    return "".join(random.choices(_ALPHABET, k=n))


def template_hash(template: Any) -> str:
    """A short stable hash of a pod template (the ``pod-template-hash`` label)."""
    digest = zlib.crc32(json.dumps(template, sort_keys=True, separators=(",", ":")).encode())
    out = []
    for _ in range(10):
        out.append(_ALPHABET[digest % len(_ALPHABET)])
        digest //= len(_ALPHABET)
        if not digest:
            break
    return "".join(out)


def node_names(ctx: ctl.Context) -> list[str]:
    return [e.name for e in ctx.list("", "Node")]


def new_pod(
    owner: Mapping[str, Any],
    template: Mapping[str, Any],
    *,
    name: str,
    extra_labels: Mapping[str, str] | None = None,
    node: str = "",
) -> dict[str, Any]:
    meta = dict(template.get("metadata") or {})
    labels = {**(meta.get("labels") or {}), **(extra_labels or {})}
    pod_meta: dict[str, Any] = {
        "name": name,
        "namespace": owner["metadata"].get("namespace", ""),
        "labels": labels,
        "ownerReferences": [ctl.owner_ref(owner)],
    }
    if meta.get("annotations"):
        pod_meta["annotations"] = dict(meta["annotations"])
    spec = json.loads(json.dumps(template.get("spec") or {}))
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


def scaled(value: Any, total: int, *, round_up: bool) -> int:
    """An int-or-percent field (maxSurge, maxUnavailable) resolved against ``total``."""
    if isinstance(value, str) and value.endswith("%"):
        try:
            pct = float(value[:-1])
        except ValueError:
            return 0
        raw = total * pct / 100
        return int(math.ceil(raw) if round_up else math.floor(raw))
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def live_pods(entries: list[Any]) -> list[Any]:
    """Pods that count toward replicas: not terminating, not finished."""
    return [
        e
        for e in entries
        if not ctl.is_terminating(e.obj) and ctl.pod_phase(e.obj) not in ("Succeeded", "Failed")
    ]


def random_name(prefix: str) -> str:
    return f"{prefix}-{suffix()}"
