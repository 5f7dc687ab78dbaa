"""The simulator's admin API under ``/_sim/``: control a running ``fleet sim up`` from elsewhere.

Loopback only and unauthenticated (like the simulator itself); it never returns tokens.

    GET    /_sim/healthz                   "ok"
    GET    /_sim/clusters                  [{name, url, labels, faults}]
    POST   /_sim/clusters                  {"name": ..., "labels": {...}}  add a cluster
    DELETE /_sim/clusters/{name}           remove a cluster
    GET    /_sim/faults                    {name: faults}
    PUT    /_sim/faults/{name}             {"latency", "error_rate", "throttle_rate", "unreachable", "hang"}
    DELETE /_sim/faults/{name}             clear one cluster's faults
    DELETE /_sim/faults                    clear every cluster's faults
    GET    /_sim/counts[?cluster=NAME]     request counts
    DELETE /_sim/counts[?cluster=NAME]     reset them
    PUT    /_sim/metrics/{name}            {"namespace", "metric", "value", "target"}  a simulated metric
    GET    /_sim/metrics/{name}            the metrics set on one cluster
    POST   /_sim/clock                     {"advance": seconds}  let simulated time pass
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from fleet import errors
from fleet.clusters.sim import cluster as cluster_mod

if TYPE_CHECKING:
    from fleet.clusters.sim import server

_FAULT_FIELDS = {
    "latency": float,
    "error_rate": float,
    "throttle_rate": float,
    "unreachable": bool,
    "hang": bool,
}


def _reply(body: Any, code: int = 200) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), status=code, content_type="application/json")


def _error(message: str, code: int = 400) -> web.Response:
    return _reply({"error": message}, code)


def add_routes(app: web.Application, sim: server.SimServer, runtime: server.Runtime) -> None:
    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    def describe(name: str) -> dict[str, Any]:
        c = runtime.clusters[name]
        return {"name": name, "url": sim.url_for(name), "labels": c.labels, "faults": c.faults.to_dict()}

    async def list_clusters(request: web.Request) -> web.Response:
        return _reply([describe(n) for n in runtime.clusters])

    async def add_cluster(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            name = str(body["name"])
            labels = {str(k): str(v) for k, v in (body.get("labels") or {}).items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            return _error('body must be {"name": ..., "labels": {...}}')
        try:
            merged = sim._labels_for(name, len(runtime.clusters))
            merged.update(labels)
            runtime.add_cluster(name, merged)
        except errors.FleetError as exc:
            return _error(str(exc), 409)
        return _reply(describe(name), 201)

    async def remove_cluster(request: web.Request) -> web.Response:
        try:
            runtime.remove_cluster(request.match_info["name"])
        except errors.FleetError as exc:
            return _error(str(exc), 404)
        return _reply({"removed": request.match_info["name"]})

    async def get_faults(request: web.Request) -> web.Response:
        return _reply({n: c.faults.to_dict() for n, c in runtime.clusters.items()})

    async def set_faults(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        target = runtime.clusters.get(name)
        if target is None:
            return _error(f"no simulated cluster named {name!r}", 404)
        try:
            body = await request.json()
        except ValueError:
            return _error("body must be a JSON object")
        if not isinstance(body, dict) or set(body) - set(_FAULT_FIELDS):
            return _error(f"fault fields are {sorted(_FAULT_FIELDS)}")
        try:
            values: dict[str, Any] = {k: _FAULT_FIELDS[k](v) for k, v in body.items()}
            target.faults.set(**values)
        except (TypeError, ValueError) as exc:
            return _error(str(exc))
        return _reply(describe(name))

    async def clear_faults(request: web.Request) -> web.Response:
        name = request.match_info.get("name")
        if name is not None and name not in runtime.clusters:
            return _error(f"no simulated cluster named {name!r}", 404)
        for cname, c in runtime.clusters.items():
            if name is None or cname == name:
                c.faults.clear()
        return _reply({"cleared": name or "all"})

    async def get_counts(request: web.Request) -> web.Response:
        name = request.query.get("cluster")
        if name:
            if name not in runtime.clusters:
                return _error(f"no simulated cluster named {name!r}", 404)
            return _reply(runtime.clusters[name].counts.snapshot())
        return _reply({n: c.counts.snapshot() for n, c in runtime.clusters.items()})

    async def reset_counts(request: web.Request) -> web.Response:
        name = request.query.get("cluster")
        if name and name not in runtime.clusters:
            return _error(f"no simulated cluster named {name!r}", 404)
        for cname, c in runtime.clusters.items():
            if not name or cname == name:
                c.counts = cluster_mod.Counts()
        return _reply({"reset": name or "all"})

    async def set_metric(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in runtime.clusters:
            return _error(f"no simulated cluster named {name!r}", 404)
        try:
            body = await request.json()
            namespace, metric = str(body["namespace"]), str(body["metric"])
            value = body.get("value")
            target = str(body.get("target") or "")
        except (ValueError, KeyError, TypeError, AttributeError):
            return _error(
                'body must be {"namespace": ..., "metric": ..., "value": ..., "target": "Kind/name"}'
            )
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float | str)):
            return _error("value must be a number, a quantity or null")
        sim.set_metric(name, namespace, metric, value, target=target)
        return _reply(runtime.clusters[name].metrics.snapshot())

    async def get_metrics(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in runtime.clusters:
            return _error(f"no simulated cluster named {name!r}", 404)
        return _reply(runtime.clusters[name].metrics.snapshot())

    async def advance_clock(request: web.Request) -> web.Response:
        try:
            seconds = float((await request.json())["advance"])
        except (ValueError, KeyError, TypeError):
            return _error('body must be {"advance": seconds}')
        if seconds < 0:
            return _error("the simulated clock only moves forward")
        sim.advance_clock(seconds)
        return _reply({"offset": sim.clock.offset})

    app.router.add_get("/_sim/healthz", healthz)
    app.router.add_put("/_sim/metrics/{name}", set_metric)
    app.router.add_get("/_sim/metrics/{name}", get_metrics)
    app.router.add_post("/_sim/clock", advance_clock)
    app.router.add_get("/_sim/clusters", list_clusters)
    app.router.add_post("/_sim/clusters", add_cluster)
    app.router.add_delete("/_sim/clusters/{name}", remove_cluster)
    app.router.add_get("/_sim/faults", get_faults)
    app.router.add_put("/_sim/faults/{name}", set_faults)
    app.router.add_post("/_sim/faults/{name}", set_faults)
    app.router.add_delete("/_sim/faults/{name}", clear_faults)
    app.router.add_delete("/_sim/faults", clear_faults)
    app.router.add_get("/_sim/counts", get_counts)
    app.router.add_delete("/_sim/counts", reset_counts)
