"""Saving and restoring a simulator's state (``state_file``): every cluster's objects as JSON.

Written atomically (temporary file, then rename) with mode 0600: like etcd, it holds Secret data
and the clusters' tokens. A restart restores objects with their resourceVersions, uids and
managedFields, so clients' watches and optimistic concurrency behave as after an API server
restart.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fleet import errors
from fleet.clusters.sim import cluster as cluster_mod
from fleet.clusters.sim import store

FORMAT = "fleet-sim-state/v1"


def snapshot(clusters: Iterable[cluster_mod.SimCluster], *, extra: dict[str, Any] | None = None) -> bytes:
    """The whole state as JSON bytes; ``extra`` holds server-wide fields (the TLS CA)."""
    out: list[bytes] = []
    for sim in clusters:
        resources = []
        for (group, plural), by_ns in sim.store.data.items():
            items = [entry.raw() for names in by_ns.values() for entry in names.values()]
            resources.append(
                b'{"group":'
                + json.dumps(group).encode()
                + b',"plural":'
                + json.dumps(plural).encode()
                + b',"items":['
                + b",".join(items)
                + b"]}"
            )
        head = json.dumps({"name": sim.name, "labels": sim.labels, "token": sim.token, "rv": sim.store.rv})
        out.append(head[:-1].encode() + b',"resources":[' + b",".join(resources) + b"]}")
    head = json.dumps({"format": FORMAT, **(extra or {})})
    return head[:-1].encode() + b',"clusters":[' + b",\n".join(out) + b"]}\n"


def save(path: str | os.PathLike[str], data: bytes) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, target)


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The saved state (``clusters``, optional ``tls``), or an empty state when there is no file."""
    where = str(path)
    try:
        text = Path(path).read_bytes()
    except FileNotFoundError:
        return {"format": FORMAT, "clusters": []}
    except OSError as exc:
        raise errors.InputError(f"cannot be read: {exc.strerror}", file=where) from exc
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise errors.InputError(f"is not a simulator state file (invalid JSON: {exc})", file=where) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise errors.InputError(
            f"is not a simulator state file (format is not {FORMAT})", file=where, field="format"
        )
    clusters = doc.get("clusters")
    if not isinstance(clusters, list):
        raise errors.InputError("has no cluster list", file=where, field="clusters")
    return doc


def restore(sim: cluster_mod.SimCluster, saved: dict[str, Any]) -> None:
    """Put saved objects back without events; CRDs first, so their kinds are servable."""
    for resource in saved.get("resources") or []:
        key: store.Key = (str(resource["group"]), str(resource["plural"]))
        for obj in resource.get("items") or []:
            sim.store.restore(key, store.Entry(obj))
    sim.store.rv = int(saved.get("rv", 0))
    sim.store.log_start = sim.store.rv
    sim.restore_crds()
