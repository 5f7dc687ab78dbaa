"""``SimFleet``: simulated clusters spread over several processes, one port each (issue 15).

One ``SimServer`` serves every cluster from one asyncio thread, so at a few hundred clusters the
simulator's own CPU, not the client's, decides how long a sync takes. ``SimFleet`` starts N child
processes, each a ``SimServer`` for every N-th cluster on its own loopback port, all signed by
one CA, so one kubeconfig (same shape: one cluster, user and context per cluster) reaches them all
and a benchmark measures the client side.

The parent talks to each child over a pipe: the child answers with its port and clusters once it
listens, then runs the calls the parent forwards (counts, faults, objects) on its ``SimServer``
until told to stop, or until the pipe closes because the parent died.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from fleet import errors, models
from fleet.clusters.sim import kubeconfig, server, tls


def _child_main(conn: multiprocessing.connection.Connection, options: dict[str, Any]) -> None:
    """One child: serve its clusters, answer the parent's calls, stop when told or orphaned."""
    try:
        sim = server.SimServer(**options).start()
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    try:
        conn.send(("ready", {"port": sim.port, "clusters": [c.model_dump() for c in sim.clusters()]}))
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break  # the parent is gone
            if message is None:
                break
            method, args, kwargs = message
            try:
                conn.send(("ok", getattr(sim, method)(*args, **kwargs)))
            except errors.FleetError as exc:
                conn.send(("error", str(exc)))
    finally:
        sim.stop()


class _Child:
    def __init__(
        self, process: multiprocessing.process.BaseProcess, conn: multiprocessing.connection.Connection
    ) -> None:
        self.process = process
        self.conn = conn
        self.lock = threading.Lock()  # one call at a time on a pipe
        self.port = 0
        self.names: list[str] = []

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            self.conn.send((method, args, kwargs))
            kind, value = self.conn.recv()
        if kind == "error":
            raise errors.FleetError(f"simulator process {self.process.pid}: {value}")
        return value


class SimFleet:
    """Simulated clusters (c001, c002, ...) over ``processes`` child processes, one port each.

    Parameters are those of ``SimServer`` (clusters, host, labels, rollout_seconds,
    bad_image_pattern, token, tls, nodes), plus ``processes``. Cluster i is served by process
    ``i % processes``; labels are the same spread a single ``SimServer`` gives. Process i listens
    on ``port + i`` (``port`` 0: each on any free port).
    """

    def __init__(
        self,
        clusters: int | Sequence[str] = 3,
        *,
        processes: int = 2,
        port: int = 0,
        host: str = "127.0.0.1",
        labels: Mapping[str, Mapping[str, str]] | None = None,
        rollout_seconds: float = 0.5,
        bad_image_pattern: str = r":bad$",
        token: bool = True,
        tls: bool = False,
        nodes: int = 1,
    ) -> None:
        if processes < 1:
            raise errors.InputError("must be at least 1", field="processes")
        self._names = server.default_names(clusters) if isinstance(clusters, int) else list(clusters)
        if len(set(self._names)) != len(self._names):
            raise errors.InputError("cluster names must be unique", field="clusters")
        self.processes = min(processes, len(self._names)) or 1
        self.host = host
        self._port = port
        self.tls = tls
        self._options = {
            "host": host,
            "rollout_seconds": rollout_seconds,
            "bad_image_pattern": bad_image_pattern,
            "token": token,
            "tls": tls,
            "nodes": nodes,
        }
        self._labels = {
            name: {**server.default_labels(name, index), **dict((labels or {}).get(name) or {})}
            for index, name in enumerate(self._names)
        }
        self._children: list[_Child] = []
        self._clusters: dict[str, models.Cluster] = {}
        self._owner: dict[str, _Child] = {}
        self.ca_pem: str | None = None

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._children:
            return self
        # spawn, not fork: the parent may run threads (a test runner, Ray's), which fork would copy
        # in whatever state they are in.
        context = multiprocessing.get_context("spawn")
        ca = tls.new_ca() if self.tls else None
        self.ca_pem = ca[0] if ca else None
        for index in range(self.processes):
            names = self._names[index :: self.processes]
            parent_end, child_end = context.Pipe()
            options = {
                **self._options,
                "clusters": names,
                "port": self._port + index if self._port else 0,
                "labels": {name: self._labels[name] for name in names},
                "ca": ca,
            }
            process = context.Process(
                target=_child_main, args=(child_end, options), name=f"fleet-sim-{index}", daemon=True
            )
            process.start()
            child_end.close()
            child = _Child(process, parent_end)
            child.names = names
            self._children.append(child)
        try:
            for child in self._children:
                try:
                    kind, value = child.conn.recv()
                except EOFError:
                    kind, value = "error", f"process {child.process.pid} exited before it listened"
                if kind == "error":
                    raise errors.FleetError(f"a simulator process did not start: {value}")
                child.port = int(value["port"])
                for data in value["clusters"]:
                    cluster = models.Cluster.model_validate(data)
                    self._clusters[cluster.name] = cluster
                    self._owner[cluster.name] = child
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every child (each stops its server); safe to call twice."""
        children, self._children = self._children, []
        for child in children:
            try:
                child.conn.send(None)
            except OSError:
                pass
        for child in children:
            child.process.join(timeout=30)
            if child.process.is_alive():
                child.process.terminate()
                child.process.join(timeout=5)
            child.conn.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses and files -----------------------------------------------------------------------

    @property
    def urls(self) -> list[str]:
        """Each process's base URL (its admin API is at ``URL/_sim``)."""
        scheme = "https" if self.tls else "http"
        return [f"{scheme}://{self.host}:{child.port}" for child in self._children]

    def pids(self) -> list[int]:
        return [child.process.pid or 0 for child in self._children]

    def cluster_names(self) -> list[str]:
        return [name for name in self._names if name in self._clusters]

    def clusters(self) -> list[models.Cluster]:
        return [self._clusters[name] for name in self.cluster_names()]

    def url_for(self, name: str) -> str:
        return self._cluster(name).server

    def token_for(self, name: str) -> str:
        return self._cluster(name).credentials.bearer_token or ""

    def write_kubeconfig(self, path: str | Path) -> Path:
        return kubeconfig.write_kubeconfig(path, self.clusters())

    def write_cluster_secrets(self, path: str | Path, namespace: str = "argocd") -> Path:
        return kubeconfig.write_cluster_secrets(path, self.clusters(), namespace=namespace)

    def _cluster(self, name: str) -> models.Cluster:
        found = self._clusters.get(name)
        if found is None:
            raise errors.InputError(f"no simulated cluster named {name!r}", field="name")
        return found

    # -- calls forwarded to the children -----------------------------------------------------------

    def _forward(self, method: str, name: str | None, *args: Any, **kwargs: Any) -> Any:
        if name is not None:
            self._cluster(name)
            return self._owner[name].call(method, name, *args, **kwargs)
        return [child.call(method, *args, **kwargs) for child in self._children]

    def request_counts(self, name: str | None = None) -> dict[str, Any]:
        """As ``SimServer.request_counts``: one cluster's counts, or ``{cluster: counts}``."""
        if name is not None:
            result: dict[str, Any] = self._forward("request_counts", name)
            return result
        merged: dict[str, Any] = {}
        for part in self._forward("request_counts", None):
            merged.update(part)
        return merged

    def reset_counts(self, name: str | None = None) -> None:
        self._forward("reset_counts", name)

    def clear_faults(self, name: str | None = None) -> None:
        self._forward("clear_faults", name)

    def idle(self, name: str | None = None) -> bool:
        if name is not None:
            return bool(self._forward("idle", name))
        return all(self._forward("idle", None))

    def set_fault(self, name: str, **faults: Any) -> None:
        self._forward("set_fault", name, **faults)

    def faults(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._forward("faults", name)
        return result

    def objects(self, name: str, **filters: Any) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._forward("objects", name, **filters)
        return result

    def get_object(
        self, name: str, api_version: str, kind: str, namespace: str | None, obj_name: str
    ) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._forward(
            "get_object", name, api_version, kind, namespace, obj_name
        )
        return result

    def apply_object(self, name: str, obj: Mapping[str, Any], **options: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._forward("apply_object", name, dict(obj), **options)
        return result

    def delete_object(
        self, name: str, api_version: str, kind: str, namespace: str | None, obj_name: str, **options: Any
    ) -> None:
        self._forward("delete_object", name, api_version, kind, namespace, obj_name, **options)

    def advance_clock(self, seconds: float) -> None:
        self._forward("advance_clock", None, seconds)
