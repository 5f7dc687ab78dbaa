"""``SimServer``: many simulated Kubernetes API servers behind one port, one path prefix each.

Requests to ``/clusters/NAME/...`` are counted, put through the cluster's faults, authenticated
(bearer token), routed to discovery, OpenAPI, a service proxy or a resource, and answered by the
cluster's semantic layer (``cluster.SimCluster``). ``/_sim/...`` is the admin API (``admin``).
Everything runs on one asyncio loop in a background thread; the public methods of ``SimServer``
are thread-safe and hop onto that loop.
"""

from __future__ import annotations

import asyncio
import gzip
import hmac
import inspect
import json
import random
import secrets as std_secrets
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self, TypeVar
from urllib.parse import unquote

from aiohttp import web

from fleet import errors, log, models, redact
from fleet.clusters.sim import (
    admin,
    answer,
    faults,
    kubeconfig,
    persist,
    protobuf,
    resources,
    scale,
    selectors,
    status,
    table,
    views,
    watch,
)
from fleet.clusters.sim import clock as clock_mod
from fleet.clusters.sim import cluster as cluster_mod
from fleet.clusters.sim import controllers as ctl
from fleet.clusters.sim import patch as patch_mod
from fleet.clusters.sim import tls as tls_mod

_log = log.get_logger(__name__)
T = TypeVar("T")
JSON = "application/json"
LabelSource = Mapping[str, Mapping[str, str]] | Callable[[str], Mapping[str, str]] | None
_ENVS = ("dev", "staging", "prod")
_REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-1")


def default_names(count: int) -> list[str]:
    width = max(3, len(str(count)))
    return [f"c{i:0{width}d}" for i in range(1, count + 1)]


def default_labels(name: str, index: int) -> dict[str, str]:
    """The spread a fleet of N simulated clusters gets: env by index, region by thirds of envs,
    tier alternating core/edge (so every env has edge clusters from 6 clusters on).

    These are the labels the bundled example fleet's selectors use (env, tier, region), so
    ``fleet sim up`` runs it as the README shows, with any number of clusters.
    """
    return {
        "env": _ENVS[index % 3],
        "region": _REGIONS[(index // 3) % 3],
        "tier": "edge" if index % 2 else "core",
        "fleet.dev/simulated": "true",
        "name": name,
    }


def _json(body: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    return web.Response(body=raw, status=status_code, content_type=JSON, headers=headers)


class Route:
    """A parsed resource URL."""

    __slots__ = ("name", "namespace", "rest", "rt", "subresource", "version", "view", "watch")

    def __init__(
        self,
        rt: resources.ResourceType,
        version: str,
        namespace: str | None,
        name: str | None,
        subresource: str,
        watch: bool,
        rest: str,
        view: views.RenamingView | None = None,
    ) -> None:
        self.rt = rt  # the resource whose objects are read and written (a view's storage)
        self.view = view  # set when the URL names a view (events.k8s.io Events)
        self.version = version
        self.namespace = namespace
        self.name = name
        self.subresource = subresource
        self.watch = watch
        self.rest = rest


def _body_size(response: web.StreamResponse) -> int:
    """Bytes of a response's body: a plain answer's body, or what a stream (a watch) has written."""
    if isinstance(response, web.Response):
        body = response.body
        return len(body) if isinstance(body, bytes | bytearray) else 0
    return int(response.body_length)


# The API server gzips a GET or LIST answer only when the client accepts gzip and the answer is
# bigger than 128 KiB (below that the CPU costs more than the bytes save), at level 1: k8s.io/
# apiserver's response writers (defaultGzipThresholdBytes) and kubernetes/kubernetes#112296.
GZIP_THRESHOLD = 128 * 1024
GZIP_LEVEL = 1


def _accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _compressed(request: web.Request, response: web.StreamResponse, verb: str) -> web.StreamResponse:
    """The answer gzipped as the API server would send it (what the accounting then counts)."""
    if verb not in ("get", "list") or not isinstance(response, web.Response):
        return response
    body = response.body
    if not isinstance(body, bytes | bytearray) or len(body) <= GZIP_THRESHOLD:
        return response
    if not _accepts_gzip(request.headers.get("Accept-Encoding", "")):
        return response
    response.body = gzip.compress(bytes(body), compresslevel=GZIP_LEVEL)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    return response


def _form(accept: str, response: web.StreamResponse) -> str:
    """What an answer was, for the request accounting: ``object``, ``metadata`` or ``table``,
    then ``/json`` or ``/protobuf`` (what was sent, not only what was asked for)."""
    if table.accepts_table(accept):
        shape = "table"
    elif answer.accepts_metadata(accept):
        shape = "metadata"
    else:
        shape = "object"
    encoding = "protobuf" if protobuf.MEDIA_TYPE in (response.content_type or "") else "json"
    return f"{shape}/{encoding}"


def _not_found() -> status.ApiError:
    return status.ApiError(
        404, status.StatusReason.NOT_FOUND, "the server could not find the requested resource", details={}
    )


class Runtime:
    """The part of the simulator that lives on the event loop."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.clusters: dict[str, cluster_mod.SimCluster] = {}
        self.config = cluster_mod.SimConfig(
            rollout_seconds=server.rollout_seconds,
            bad_image_pattern=server.bad_image_pattern,
            nodes=server.nodes,
            clock=server.clock,
        )
        self.rng = random.Random(server.seed)
        self.closing = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.saved_rv = -1

    # -- clusters ----------------------------------------------------------------------------------

    def add_cluster(
        self,
        name: str,
        labels: Mapping[str, str],
        *,
        token: str | None = None,
        saved: Mapping[str, Any] | None = None,
    ) -> cluster_mod.SimCluster:
        if name in self.clusters:
            raise errors.InputError(f"cluster {name!r} already exists", field="name")
        if not name or "/" in name or name.startswith("_"):
            raise errors.InputError(f"invalid cluster name {name!r}", field="name")
        if token is None:
            token = f"sim-{std_secrets.token_urlsafe(24)}" if self.server.token else ""
        if token:
            redact.register(token)
        sim = cluster_mod.SimCluster(name, token=token, labels=labels, config=self.config)
        if saved is not None:
            persist.restore(sim, dict(saved))
        sim.controllers = ctl.Manager(sim, self.loop)
        if saved is None:
            sim.bootstrap()
        else:
            sim.controllers.resync()
        self.clusters[name] = sim
        return sim

    def remove_cluster(self, name: str) -> None:
        sim = self.clusters.pop(name, None)
        if sim is None:
            raise errors.InputError(f"no simulated cluster named {name!r}", field="name")
        if sim.controllers is not None:
            sim.controllers.stop()
        for watcher in sim.store.all_watchers():
            watcher.push(None)

    def cluster(self, name: str) -> cluster_mod.SimCluster:
        sim = self.clusters.get(name)
        if sim is None:
            raise errors.InputError(f"no simulated cluster named {name!r}", field="name")
        return sim

    # -- persistence -------------------------------------------------------------------------------

    def total_rv(self) -> int:
        return sum(c.store.rv for c in self.clusters.values()) + len(self.clusters)

    def save(self) -> None:
        path = self.server.state_file
        if not path:
            return
        current = self.total_rv()
        if current == self.saved_rv:
            return
        extra = {}
        if self.server.tls_material is not None:
            extra["tls"] = {
                "caCert": self.server.tls_material.ca_cert,
                "caKey": self.server.tls_material.ca_key,
            }
        persist.save(path, persist.snapshot(self.clusters.values(), extra=extra))
        self.saved_rv = current

    async def save_periodically(self, interval: float) -> None:
        while not self.closing.is_set():
            try:
                await asyncio.wait_for(self.closing.wait(), timeout=interval)
            except TimeoutError:
                try:
                    self.save()
                except OSError as exc:
                    _log.warning("sim state not saved", extra={"fields": {"error": str(exc)}})

    # -- HTTP: the Kubernetes API --------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["cluster"]
        sim = self.clusters.get(name)
        if sim is None:
            return _json(
                status.ApiError(404, status.StatusReason.NOT_FOUND, f"no simulated cluster {name!r}").body(),
                404,
            )
        tail = request.match_info.get("tail", "")
        path = "/" + tail
        route: Route | str | status.ApiError
        try:
            route = self._route(sim, path)
        except status.ApiError as exc:
            route = exc
        verb, resource = self._verb(request, route)
        sim.counts.add(verb, resource)
        mode = sim.faults.decide(self.rng) if sim.faults.active else faults.FaultMode.NONE
        if mode is faults.FaultMode.UNREACHABLE:
            return await self._reset(request)
        if mode is faults.FaultMode.HANG:
            return await self._hang(request)
        if sim.faults.latency:
            await asyncio.sleep(sim.faults.latency)
        try:
            if mode is faults.FaultMode.THROTTLE:
                raise status.ApiError(
                    429,
                    status.StatusReason.TOO_MANY_REQUESTS,
                    "the server has received too many requests and has asked us to try again later",
                    details={"retryAfterSeconds": 1},
                    headers={"Retry-After": "1"},
                )
            if mode is faults.FaultMode.ERROR:
                raise status.ApiError(
                    500,
                    status.StatusReason.INTERNAL_ERROR,
                    'an error on the server ("injected fault") has prevented the request from succeeding',
                )
            self._authenticate(sim, request)
            if isinstance(route, status.ApiError):
                raise route
            response: web.StreamResponse
            if isinstance(route, str):
                response = self._discovery(sim, request, route)
            else:
                response = await self._resource(sim, request, route, verb)
        except status.ApiError as exc:
            response = answer.error(exc, request.headers.get("Accept", ""))
        response = _compressed(request, response, verb)
        size = _body_size(response)
        sim.counts.code(response.status)
        sim.counts.sent(verb, size)
        if response.status < 300 and verb in ("get", "list", "watch"):
            sim.counts.answered(verb, _form(request.headers.get("Accept", ""), response), size)
        return response

    async def _reset(self, request: web.Request) -> web.StreamResponse:
        transport = request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                try:
                    # Linger 0 turns close() into a TCP reset: the client sees no HTTP response at all.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            transport.abort()
        raise asyncio.CancelledError()

    async def _hang(self, request: web.Request) -> web.StreamResponse:
        await self.closing.wait()
        return await self._reset(request)

    def _authenticate(self, sim: cluster_mod.SimCluster, request: web.Request) -> None:
        if not sim.token:
            return
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer":
            raise status.ApiError(401, status.StatusReason.UNAUTHORIZED, "Unauthorized")
        given = given.strip()
        if not hmac.compare_digest(given.encode(), sim.token.encode()) and not sim.accepts_token(given):
            raise status.ApiError(401, status.StatusReason.UNAUTHORIZED, "Unauthorized")

    def _verb(self, request: web.Request, route: Route | str | status.ApiError) -> tuple[str, str]:
        if isinstance(route, str):
            return "discovery", ""
        if isinstance(route, status.ApiError):
            return request.method.lower(), ""
        resource = route.rt.plural + (f"/{route.subresource}" if route.subresource else "")
        method = request.method
        if route.subresource == "proxy":
            return "proxy", resource
        if method == "GET":
            if route.watch or status.flag(request.query.get("watch")):
                return "watch", resource
            return ("get" if route.name is not None else "list"), resource
        if method == "POST":
            return "create", resource
        if method == "PUT":
            return "update", resource
        if method == "PATCH":
            ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
            return ("apply" if ctype == cluster_mod.PatchType.APPLY else "patch"), resource
        if method == "DELETE":
            return ("delete" if route.name is not None else "deletecollection"), resource
        return method.lower(), resource

    def _route(self, sim: cluster_mod.SimCluster, path: str) -> Route | str:
        parts = [unquote(p) for p in path.split("/") if p]
        if not parts:
            return "root"
        head = parts[0]
        if head in ("version", "healthz", "livez", "readyz"):
            return head
        if head == "openapi":
            return "/".join(parts)
        catalog = sim.catalog()
        if head == "api":
            if len(parts) == 1:
                return "api"
            group, version, rest = "", parts[1], parts[2:]
        elif head == "apis":
            if len(parts) == 1:
                return "apis"
            if len(parts) == 2:
                if parts[1] not in catalog.groups:
                    raise _not_found()
                return "group:" + parts[1]
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _not_found()
        if not catalog.has_group_version(group, version):
            raise _not_found()
        if not rest:
            return f"gv:{group}/{version}"
        watching = False
        if rest[0] == "watch":
            watching, rest = True, rest[1:]
        namespace: str | None = None
        if (
            rest
            and rest[0] == "namespaces"
            and len(rest) >= 3
            and not (len(rest) == 3 and rest[2] in ("status", "finalize"))
        ):
            namespace, rest = rest[1], rest[2:]
        if not rest:
            raise _not_found()
        rt = catalog.lookup(group, version, rest[0])
        if rt is None or (namespace is not None and not rt.namespaced):
            raise _not_found()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else ""
        served = {
            "status": rt.status,
            "scale": rt.scale,
            "proxy": rt.key == ("", "services"),
            "finalize": rt.key == cluster_mod.NAMESPACE_KEY,
            "token": rt.key == ("", "serviceaccounts"),
        }
        if subresource and not served.get(subresource):
            raise _not_found()
        if rt.namespaced and namespace is None and name is not None:
            raise _not_found()
        remainder = ""
        if subresource == "proxy":
            marker = "/proxy"
            index = path.find(marker, path.find("/" + rest[1]))
            remainder = path[index + len(marker) :] or "/"
        elif len(rest) > 3:
            raise _not_found()
        view = None
        if rt.storage is not None:
            view = views.lookup(rt.group, rt.kind)
            rt = catalog.by_key[rt.key]
        return Route(rt, version, namespace, name, subresource, watching, remainder, view)

    # -- discovery ----------------------------------------------------------------------------------

    def _discovery(self, sim: cluster_mod.SimCluster, request: web.Request, what: str) -> web.Response:
        catalog = sim.catalog()
        if request.method != "GET":
            raise status.method_not_allowed()
        accept = request.headers.get("Accept", "")
        aggregated = "as=APIGroupDiscoveryList" in accept and "v=v2" in accept
        if what == "version":
            return _json(resources.KUBE_VERSION)
        if what in ("healthz", "livez", "readyz"):
            return web.Response(text="ok")
        if what == "root":
            paths = [
                "/api",
                "/api/v1",
                "/apis",
                "/healthz",
                "/livez",
                "/openapi/v2",
                "/openapi/v3",
                "/readyz",
                "/version",
            ] + [f"/apis/{g}/{v}" for g, vs in catalog.groups.items() if g for v in vs]
            return _json({"paths": sorted(paths)})
        if what in ("api", "apis"):
            if aggregated:
                return web.Response(
                    body=catalog.doc("agg-" + what),
                    headers={"Content-Type": resources.AGGREGATED_CONTENT_TYPE},
                )
            return _json(catalog.doc(what))
        if what.startswith("group:"):
            return _json(catalog.doc(("group", what[6:])))
        if what.startswith("gv:"):
            group, _, version = what[3:].rpartition("/")
            return _json(catalog.doc(("gv", group, version)))
        if what.startswith("openapi"):
            return self._openapi(sim, catalog, what, accept)
        raise _not_found()

    def _openapi(
        self, sim: cluster_mod.SimCluster, catalog: resources.Catalog, what: str, accept: str = ""
    ) -> web.Response:
        parts = what.split("/")
        if parts == ["openapi", "v2"]:
            return _openapi_v2(accept)
        if parts[:2] != ["openapi", "v3"]:
            raise _not_found()
        prefix = f"/clusters/{sim.name}/openapi/v3/"
        if len(parts) == 2:
            paths = {
                p: {"serverRelativeURL": f"{prefix}{p}?hash={len(catalog.types)}"}
                for p in catalog.openapi_paths()
            }
            return _json({"paths": paths})
        rest = parts[2:]
        if rest[0] == "api" and len(rest) == 2:
            group, version = "", rest[1]
        elif rest[0] == "apis" and len(rest) == 3:
            group, version = rest[1], rest[2]
        else:
            raise _not_found()
        if not catalog.has_group_version(group, version):
            raise _not_found()
        return _json(catalog.openapi_doc(group, version))

    # -- resources ----------------------------------------------------------------------------------

    async def _resource(
        self, sim: cluster_mod.SimCluster, request: web.Request, route: Route, verb: str
    ) -> web.StreamResponse:
        rt, version, view = route.rt, route.version, route.view
        query = request.query
        ns = route.namespace or ""
        dry_run = query.get("dryRun") == "All"
        if route.subresource == "proxy":
            return await self._proxy(sim, request, route)
        accept = request.headers.get("Accept", "")
        as_table = table.accepts_table(accept)
        reply = answer.Answer(sim, "application/json" if as_table else accept, rt, version, view)
        if route.subresource == "scale":
            return await self._scale(sim, request, route, reply)
        manager = query.get("fieldManager") or _default_manager(request)
        if len(manager) > 128:
            raise status.bad_request("fieldManager: Too long: may not be more than 128 bytes")
        if route.subresource == "token":
            return await self._token(sim, request, route, reply)
        if verb == "get":
            entry = sim.get(rt, ns, route.name or "")
            if as_table:
                return reply.table(self._table(sim, rt, version, [entry], query, {}, view))
            return reply.entry(entry)
        if verb == "list":
            return self._list(sim, route, query, reply, as_table=as_table)
        if verb == "watch":
            encode = None
            if as_table:

                def encode(entry: Any) -> bytes:
                    return json.dumps(
                        self._table(sim, rt, version, [entry], query, {}, view), separators=(",", ":")
                    ).encode()

            return await watch.serve(
                request,
                sim,
                rt,
                version,
                route.namespace,
                route.name,
                _storage_query(query, view),
                self.closing,
                encode=encode,
                reply=reply,
            )
        if verb == "create":
            if rt.namespaced and route.namespace is None:
                raise status.method_not_allowed()
            body = _to_storage(await answer.read_object(request), view)
            entry = sim.create(rt, ns, body, manager=manager, dry_run=dry_run, version=version)
            return reply.entry(entry, 201)
        if verb == "update":
            body = _to_storage(await answer.read_object(request), view)
            entry = sim.update(
                rt,
                ns,
                route.name or "",
                body,
                manager=manager,
                subresource=route.subresource,
                dry_run=dry_run,
                version=version,
            )
            return reply.entry(entry)
        if verb in ("patch", "apply"):
            ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
            force = status.flag(query.get("force"))
            if force and verb != "apply":
                raise status.bad_request("force may only be set for apply patches")
            apply_manager = query.get("fieldManager")
            existed = sim.find(rt, ns, route.name or "") is not None
            entry = sim.patch(
                rt,
                ns,
                route.name or "",
                ctype,
                await request.read(),
                manager=apply_manager if verb == "apply" else manager,
                force=force,
                subresource=route.subresource,
                dry_run=dry_run,
                version=version,
                view=view,
            )
            return reply.entry(entry, 200 if existed else 201)
        if verb == "delete":
            options = await _delete_options(request)
            propagation = query.get("propagationPolicy") or options.get("propagationPolicy")
            if options.get("orphanDependents") is True and not propagation:
                propagation = "Orphan"
            dry = dry_run or "All" in (options.get("dryRun") or [])
            remaining, last = sim.delete(
                rt,
                ns,
                route.name or "",
                propagation=propagation,
                preconditions=options.get("preconditions"),
                dry_run=dry,
            )
            if remaining is not None:
                return reply.entry(remaining, 200)
            if rt.custom:
                return reply.entry(last, 200)
            return reply.obj(
                status.success({"name": last.name, "group": rt.group, "kind": rt.plural, "uid": last.uid})
            )
        if verb == "deletecollection":
            options = await _delete_options(request)
            propagation = query.get("propagationPolicy") or options.get("propagationPolicy")
            storage_query = _storage_query(query, view)
            entries, _ = sim.list(
                rt,
                route.namespace,
                label_selector=storage_query.get("labelSelector"),
                field_selector=storage_query.get("fieldSelector"),
            )
            for entry in entries:
                try:
                    sim.delete(rt, entry.namespace, entry.name, propagation=propagation, dry_run=dry_run)
                except status.ApiError as exc:
                    if exc.code != 404:
                        raise
            return reply.entries(entries, sim.store.rv, None)
        raise status.method_not_allowed()

    def _list(
        self,
        sim: cluster_mod.SimCluster,
        route: Route,
        query: Mapping[str, str],
        reply: answer.Answer,
        *,
        as_table: bool = False,
    ) -> web.Response:
        rt, version, view = route.rt, route.version, route.view
        storage_query = _storage_query(query, view)
        entries, rv = sim.list(
            rt,
            route.namespace,
            label_selector=storage_query.get("labelSelector"),
            field_selector=storage_query.get("fieldSelector"),
        )
        cont = None
        start = query.get("continue")
        if start:
            try:
                after_ns, after_name = json.loads(bytes.fromhex(start))
            except ValueError:
                raise status.ApiError(
                    410, status.StatusReason.GONE, "the provided continue parameter is invalid"
                ) from None
            entries = [e for e in entries if (e.namespace, e.name) > (after_ns, after_name)]
        limit = query.get("limit")
        if limit:
            try:
                count = int(limit)
            except ValueError:
                raise status.bad_request("limit must be an integer") from None
            if 0 < count < len(entries):
                entries = entries[:count]
                last = entries[-1]
                cont = json.dumps([last.namespace, last.name]).encode().hex()
        if as_table:
            list_meta = {"resourceVersion": str(rv), **({"continue": cont} if cont else {})}
            return reply.table(self._table(sim, rt, version, entries, query, list_meta, view))
        return reply.entries(entries, rv, cont)

    def _table(
        self,
        sim: cluster_mod.SimCluster,
        rt: resources.ResourceType,
        version: str,
        entries: Sequence[Any],
        query: Mapping[str, str],
        list_meta: Mapping[str, Any],
        view: views.RenamingView | None = None,
    ) -> dict[str, Any]:
        crd = None
        if rt.custom:
            found = sim.store.get(cluster_mod.CRD_KEY, "", f"{rt.plural}.{rt.group}")
            crd = found.obj if found is not None else None
        rows = [(e, sim.raw_at(rt, e, version, view)) for e in entries]
        return table.table(
            rt,
            crd,
            rows,
            include=query.get("includeObject") or "Metadata",
            list_meta=list_meta,
            now=sim.now(),
        )

    async def _scale(
        self, sim: cluster_mod.SimCluster, request: web.Request, route: Route, reply: answer.Answer
    ) -> web.Response:
        rt = route.rt
        if not rt.scale:
            raise _not_found()
        ns, name = route.namespace or "", route.name or ""
        manager = request.query.get("fieldManager") or _default_manager(request)
        if request.method in ("PUT", "PATCH"):
            if request.method == "PUT":
                wanted = await answer.read_object(request)
            else:
                doc = cluster_mod.parse_body(await request.read(), yaml_ok=True)
                ctype = request.headers.get("Content-Type", "").split(";")[0].strip()
                current = scale.of(rt, sim.get(rt, ns, name).obj)
                wanted = (
                    patch_mod.json_patch(current, doc)
                    if ctype == cluster_mod.PatchType.JSON
                    else patch_mod.merge_patch(current, doc)
                )
            replicas = (wanted.get("spec") or {}).get("replicas") if isinstance(wanted, dict) else None
            scale.write(sim, rt, ns, name, replicas, manager=manager)
        elif request.method != "GET":
            raise status.method_not_allowed()
        return reply.obj(scale.of(rt, sim.get(rt, ns, name).obj))

    async def _token(
        self, sim: cluster_mod.SimCluster, request: web.Request, route: Route, reply: answer.Answer
    ) -> web.Response:
        """``serviceaccounts/NAME/token`` (``kubectl create token``): a TokenRequest answered with a
        bearer token this cluster accepts, for as long as the request asked."""
        if request.method != "POST":
            raise status.method_not_allowed()
        account = sim.get(route.rt, route.namespace or "", route.name or "")
        body = await answer.read_object(request)
        if not isinstance(body, dict):
            raise status.bad_request("the request body must be a TokenRequest")
        spec = dict(body.get("spec") or {})
        issued = sim.issue_token(account.obj, spec)
        return reply.obj(issued, 201)

    async def _proxy(self, sim: cluster_mod.SimCluster, request: web.Request, route: Route) -> web.Response:
        if route.rt.key != ("", "services") or route.name is None:
            raise _not_found()
        service, _, port = route.name.rpartition(":") if ":" in route.name else (route.name, "", "")
        if service.count(":"):  # scheme:name:port
            service = service.split(":", 1)[1]
        handler = ctl.proxy_handler(route.namespace or "", service, port)
        if handler is None or sim.controllers is None:
            raise status.ApiError(
                503,
                status.StatusReason.SERVICE_UNAVAILABLE,
                f'no endpoints available for service "{route.name}"',
            )
        proxied = ctl.ProxyRequest(
            method=request.method,
            path=route.rest,
            query=dict(request.query),
            headers=dict(request.headers),
            body=await request.read(),
        )
        result = handler(sim.controllers.ctx, proxied)
        if inspect.isawaitable(result):
            result = await result
        return web.Response(
            body=result.body,
            status=result.status,
            headers={"Content-Type": result.content_type, **dict(result.headers)},
        )


# An OpenAPI v2 document with no definitions, in the protobuf encoding kubectl asks for (field 1,
# ``swagger``, is "2.0"; everything else empty). With it kubectl skips client-side schema
# validation of kinds it has no schema for (a custom resource applied in the same run as its
# CRD) and computes client-side apply patches from its compiled-in types, as for a real server
# whose schema it does not need; without it (404) kubectl refuses to validate.
_OPENAPI_V2_PROTOBUF = b"\x0a\x032.0"
_OPENAPI_V2_PROTOBUF_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _openapi_v2(accept: str) -> web.Response:
    if "protobuf" in accept:
        return web.Response(body=_OPENAPI_V2_PROTOBUF, headers={"Content-Type": _OPENAPI_V2_PROTOBUF_TYPE})
    return _json(
        {
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": resources.KUBE_VERSION["gitVersion"]},
            "paths": {},
            "definitions": {},
        }
    )


def _default_manager(request: web.Request) -> str:
    """What the API server names a manager that sent no fieldManager: the User-Agent's program."""
    agent = request.headers.get("User-Agent", "")
    return agent.split("/")[0].strip() or "unknown"


async def _delete_options(request: web.Request) -> dict[str, Any]:
    if not await request.read():
        return {}
    if protobuf.is_protobuf(request.headers.get("Content-Type", "")):
        doc = await answer.read_object(request)
    else:
        try:
            doc = json.loads(await request.read())
        except ValueError:
            raise status.bad_request("DeleteOptions body is not valid JSON") from None
    return doc if isinstance(doc, dict) else {}


def _to_storage(body: Any, view: views.RenamingView | None) -> Any:
    return view.to_storage(body) if view is not None and isinstance(body, dict) else body


def _storage_query(query: Mapping[str, str], view: views.RenamingView | None) -> Mapping[str, str]:
    """The query with a view's field-selector paths in the storage's names."""
    text = query.get("fieldSelector")
    if view is None or not text:
        return query
    out = dict(query)
    try:
        out["fieldSelector"] = selectors.rename_fields(text, view.field_to_storage)
    except selectors.SelectorError as exc:
        raise status.bad_request(str(exc)) from None
    return out


class SimServer:
    """A fleet of simulated Kubernetes clusters on one loopback port.

    Parameters:
        clusters: how many (named c001, c002, ...) or their names.
        port, host: where to listen (port 0: any free port, see ``.port``).
        state_file: JSON file to restore from at start and save to periodically and at stop.
        labels: extra labels per cluster name, or a function of the name; merged over the default
            spread (env, region).
        rollout_seconds: how long a simulated pod takes to become ready.
        bad_image_pattern: regular expression; matching images never become ready.
        token: require a per-cluster bearer token.
        tls: serve HTTPS with a generated CA (in the kubeconfig); kubectl sends tokens only over TLS.
        nodes: simulated nodes per cluster (DaemonSets run one pod per node).
        seed: seed for fault injection's random choices.
        clock: the simulated clock (default: the wall clock); ``advance_clock`` moves it.
        ca: the CA (certificate and key, PEM) to sign the serving certificate with (default: a
            new one, or the state file's); simulators in several processes share one so that one
            kubeconfig trusts them all (``processes.SimFleet``).
    """

    def __init__(
        self,
        clusters: int | Sequence[str] = 3,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        state_file: str | Path | None = None,
        labels: LabelSource = None,
        rollout_seconds: float = 0.5,
        bad_image_pattern: str = r":bad$",
        token: bool = True,
        tls: bool = False,
        nodes: int = 1,
        seed: int | None = None,
        save_interval: float = 5.0,
        clock: clock_mod.SimClock | None = None,
        ca: tuple[str, str] | None = None,
    ) -> None:
        self._ca = ca
        self._names = default_names(clusters) if isinstance(clusters, int) else list(clusters)
        if len(set(self._names)) != len(self._names):
            raise errors.InputError("cluster names must be unique", field="clusters")
        self.host = host
        self._requested_port = port
        self.port = 0
        self.state_file = str(state_file) if state_file else None
        self._labels = labels
        self.rollout_seconds = rollout_seconds
        self.bad_image_pattern = bad_image_pattern
        self.token = token
        self.tls = tls
        self.tls_material: tls_mod.Material | None = None
        self.nodes = nodes
        self.seed = seed
        self.save_interval = save_interval
        self.clock = clock or clock_mod.SimClock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runtime: Runtime | None = None
        self._runner: web.AppRunner | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._stop_lock = threading.Lock()
        self._error: BaseException | None = None

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._thread is not None:
            return self
        self._ready.clear()
        self._thread = threading.Thread(target=self._thread_main, name="fleet-sim", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            error = self._error
            self._error = None
            raise error
        return self

    def stop(self) -> None:
        """Stop serving (saving state when there is a state file); safe to call twice, from any thread."""
        with self._stop_lock:
            thread, loop, stopped = self._thread, self._loop, self._stopped
            if thread is None or loop is None:
                return
            if stopped is not None:
                try:
                    loop.call_soon_threadsafe(stopped.set)
                except RuntimeError:
                    pass  # the loop has already finished
            thread.join(timeout=30)
            self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to start()'s caller, whatever it is
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:
                _log.exception("sim server stopped with an error")
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        runtime = Runtime(self)
        self._runtime = runtime
        self._stopped = asyncio.Event()
        state = persist.load(self.state_file) if self.state_file else {"clusters": []}
        saved = state["clusters"]
        if self.tls:
            ca = state.get("tls") or {}
            ca_cert, ca_key = (ca.get("caCert"), ca.get("caKey")) if ca else (self._ca or (None, None))
            self.tls_material = tls_mod.material(ca_cert, ca_key, host=self.host)
        started = time.monotonic()
        for item in saved:
            runtime.add_cluster(
                str(item["name"]),
                dict(item.get("labels") or {}),
                token=str(item.get("token") or "") if self.token else "",
                saved=item,
            )
        offset = len(saved)
        for index, name in enumerate(self._names):
            if name not in runtime.clusters:
                runtime.add_cluster(name, self._labels_for(name, index + offset))
        runtime.saved_rv = runtime.total_rv() if saved else -1
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/clusters/{cluster}/{tail:.*}", runtime.handle)
        app.router.add_route("*", "/clusters/{cluster}", runtime.handle)
        admin.add_routes(app, self, runtime)
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await runner.setup()
        ssl_context = self.tls_material.server_context() if self.tls_material is not None else None
        site = web.TCPSite(
            runner, self.host, self._requested_port, reuse_address=True, ssl_context=ssl_context
        )
        await site.start()
        self._runner = runner
        # aiohttp keeps the listening server private; the stub types it as AbstractServer.
        sockets = site._server.sockets if site._server is not None else []  # type: ignore[attr-defined]
        self.port = sockets[0].getsockname()[1]
        _log.debug(
            "sim server listening",
            extra={
                "fields": {
                    "url": self.url,
                    "clusters": len(runtime.clusters),
                    "startup_s": round(time.monotonic() - started, 3),
                }
            },
        )
        saver = (
            asyncio.create_task(runtime.save_periodically(self.save_interval)) if self.state_file else None
        )
        self._ready.set()
        await self._stopped.wait()
        runtime.closing.set()
        for sim in runtime.clusters.values():
            if sim.controllers is not None:
                sim.controllers.stop()
            for watcher in sim.store.all_watchers():
                watcher.push(None)
        if saver is not None:
            await saver
        try:
            runtime.save()
        finally:
            await runner.cleanup()

    def _labels_for(self, name: str, index: int) -> dict[str, str]:
        labels = default_labels(name, index)
        extra: Mapping[str, str] | None
        if callable(self._labels):
            extra = self._labels(name)
        elif self._labels is not None:
            extra = self._labels.get(name)
        else:
            extra = None
        labels.update({str(k): str(v) for k, v in (extra or {}).items()})
        return labels

    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop and return its result (thread-safe)."""
        if self._loop is None or self._thread is None:
            raise errors.FleetError("the simulator is not running (call start())")
        if threading.current_thread() is self._thread:
            return fn()

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=60)

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise errors.FleetError("the simulator is not running (call start())")
        return self._runtime

    # -- addresses and files ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def ca_pem(self) -> str | None:
        """The CA certificate that signed the server's certificate (with ``tls=True``)."""
        return self.tls_material.ca_cert if self.tls_material is not None else None

    def url_for(self, name: str) -> str:
        return f"{self.url}/clusters/{name}"

    def cluster_names(self) -> list[str]:
        return self._call(lambda: list(self.runtime.clusters))

    def _model(self, sim: cluster_mod.SimCluster) -> models.Cluster:
        creds = models.ClusterCredentials(bearer_token=sim.token or None, ca_data=self.ca_pem)
        return models.Cluster(
            name=sim.name,
            server=self.url_for(sim.name),
            labels=dict(sim.labels),
            credentials=creds,
            source=f"sim:{self.url}",
        )

    def clusters(self) -> list[models.Cluster]:
        """The simulated clusters as fleet sees them: server URL, labels and bearer token."""
        return self._call(lambda: [self._model(sim) for sim in self.runtime.clusters.values()])

    def token_for(self, name: str) -> str:
        return self._call(lambda: self.runtime.cluster(name).token)

    def write_kubeconfig(self, path: str | Path) -> Path:
        return kubeconfig.write_kubeconfig(path, self.clusters())

    def write_cluster_secrets(self, path: str | Path, namespace: str = "argocd") -> Path:
        return kubeconfig.write_cluster_secrets(path, self.clusters(), namespace=namespace)

    # -- fleet membership ---------------------------------------------------------------------------

    def add_cluster(self, name: str, labels: Mapping[str, str] | None = None) -> models.Cluster:
        def add() -> models.Cluster:
            merged = self._labels_for(name, len(self.runtime.clusters))
            merged.update(labels or {})
            return self._model(self.runtime.add_cluster(name, merged))

        return self._call(add)

    def remove_cluster(self, name: str) -> None:
        self._call(lambda: self.runtime.remove_cluster(name))

    # -- faults and accounting ----------------------------------------------------------------------

    def set_fault(
        self,
        name: str,
        *,
        latency: float = 0,
        error_rate: float = 0,
        throttle_rate: float = 0,
        unreachable: bool = False,
        hang: bool = False,
    ) -> None:
        def apply_fault() -> None:
            try:
                self.runtime.cluster(name).faults.set(
                    latency=latency,
                    error_rate=error_rate,
                    throttle_rate=throttle_rate,
                    unreachable=unreachable,
                    hang=hang,
                )
            except ValueError as exc:
                raise errors.InputError(str(exc), obj=f"cluster {name}") from None

        self._call(apply_fault)

    def clear_faults(self, name: str | None = None) -> None:
        def clear() -> None:
            targets = [self.runtime.cluster(name)] if name else list(self.runtime.clusters.values())
            for sim in targets:
                sim.faults.clear()

        self._call(clear)

    def faults(self, name: str) -> dict[str, Any]:
        return self._call(lambda: self.runtime.cluster(name).faults.to_dict())

    def request_counts(self, name: str | None = None) -> dict[str, Any]:
        """Requests received: ``{"total", "verbs": {verb: n}, "resources": {plural: {verb: n}},
        "codes": {"200": n}}`` for one cluster, or ``{cluster: that}`` for all."""
        if name is not None:
            return self._call(lambda: self.runtime.cluster(name).counts.snapshot())
        return self._call(lambda: {n: c.counts.snapshot() for n, c in self.runtime.clusters.items()})

    def reset_counts(self, name: str | None = None) -> None:
        def reset() -> None:
            targets = [self.runtime.cluster(name)] if name else list(self.runtime.clusters.values())
            for sim in targets:
                sim.counts = cluster_mod.Counts()

        self._call(reset)

    # -- direct state access (tests) ----------------------------------------------------------------

    def objects(
        self,
        name: str,
        *,
        api_version: str | None = None,
        kind: str | None = None,
        namespace: str | None = None,
    ) -> list[dict[str, Any]]:
        """Copies of the stored objects of one cluster, filtered by apiVersion, kind, namespace."""

        def collect() -> list[dict[str, Any]]:
            sim = self.runtime.cluster(name)
            out = []
            for key, by_ns in sim.store.data.items():
                for ns, names in by_ns.items():
                    if namespace is not None and ns != namespace:
                        continue
                    for entry in names.values():
                        obj = entry.obj
                        if kind is not None and obj.get("kind") != kind:
                            continue
                        if api_version is not None and obj.get("apiVersion") != api_version:
                            rt = sim.catalog().by_key.get(key)
                            if rt is None or api_version not in [rt.api_version(v) for v in rt.versions]:
                                continue
                        out.append(entry.copy())
            out.sort(
                key=lambda o: (
                    o["apiVersion"],
                    o["kind"],
                    o["metadata"].get("namespace", ""),
                    o["metadata"]["name"],
                )
            )
            return out

        return self._call(collect)

    def get_object(
        self, name: str, api_version: str, kind: str, namespace: str | None, obj_name: str
    ) -> dict[str, Any] | None:
        def find() -> dict[str, Any] | None:
            sim = self.runtime.cluster(name)
            rt = sim.rt_for(api_version, kind)
            entry = sim.find(rt, namespace or "", obj_name)
            return None if entry is None else entry.copy()

        return self._call(find)

    def edit_object(
        self,
        name: str,
        api_version: str,
        kind: str,
        namespace: str | None,
        obj_name: str,
        mutate: Callable[[dict[str, Any]], None],
        *,
        manager: str = "manual-edit",
    ) -> dict[str, Any]:
        """Change an object as a person with ``kubectl edit`` would (an Update by ``manager``):
        drift that the sync engine must notice. Returns the stored result."""

        def edit() -> dict[str, Any]:
            sim = self.runtime.cluster(name)
            rt = sim.rt_for(api_version, kind)
            entry = sim.get(rt, namespace or "", obj_name)
            obj = entry.copy()
            mutate(obj)
            result = sim.update(rt, namespace or "", obj_name, obj, manager=manager)
            if rt.status and "status" in obj and obj.get("status") != entry.obj.get("status"):
                result = sim.update(rt, namespace or "", obj_name, obj, manager=manager, subresource="status")
            return result.copy()

        return self._call(edit)

    def apply_object(
        self, name: str, obj: Mapping[str, Any], *, manager: str = "sim-test", force: bool = True
    ) -> dict[str, Any]:
        """Server-side apply ``obj`` directly (no HTTP, not counted): seeding state for tests."""

        def do_apply() -> dict[str, Any]:
            sim = self.runtime.cluster(name)
            rt = sim.rt_for(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
            meta = obj.get("metadata") or {}
            entry = sim.patch(
                rt,
                str(meta.get("namespace", "")),
                str(meta.get("name", "")),
                cluster_mod.PatchType.APPLY,
                json.dumps(obj).encode(),
                manager=manager,
                force=force,
            )
            return entry.copy()

        return self._call(do_apply)

    def delete_object(
        self,
        name: str,
        api_version: str,
        kind: str,
        namespace: str | None,
        obj_name: str,
        *,
        propagation: str | None = None,
    ) -> None:
        def delete() -> None:
            sim = self.runtime.cluster(name)
            rt = sim.rt_for(api_version, kind)
            sim.delete(rt, namespace or "", obj_name, propagation=propagation)

        self._call(delete)

    def idle(self, name: str | None = None) -> bool:
        """True when no controller has pending or scheduled work (rollouts have settled)."""

        def check() -> bool:
            targets = [self.runtime.cluster(name)] if name else list(self.runtime.clusters.values())
            return not any(s.controllers is not None and s.controllers.busy() for s in targets)

        return self._call(check)

    def wait_idle(self, name: str | None = None, *, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle(name):
                return True
            time.sleep(0.02)
        return False

    def set_metric(self, name: str, namespace: str, metric: str, value: Any, *, target: str = "") -> None:
        """Set a simulated metric (``metrics.Metrics``) and let the autoscalers of ``namespace``
        see it now. ``target``: ``Kind/name`` of the scale target (resource and pods metrics) or of
        the described object (Object metrics); empty for External metrics. ``value`` None makes the
        metric unavailable."""

        def apply_metric() -> None:
            sim = self.runtime.cluster(name)
            sim.metrics.set(namespace, target, metric, value)
            if sim.controllers is not None:
                sim.controllers.resync(("autoscaling", "HorizontalPodAutoscaler"), namespace=namespace)

        self._call(apply_metric)

    def advance_clock(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass at once: timestamps jump ahead, and every
        controller waiting for a time (CronJob schedules, HPA windows, rollout deadlines) runs now."""

        def advance() -> None:
            self.clock.advance(seconds)
            for sim in self.runtime.clusters.values():
                if sim.controllers is not None:
                    sim.controllers.clock_jumped()

        self._call(advance)

    def compact(self, name: str) -> None:
        """Forget the cluster's event log up to now (etcd compaction) and end its watch streams
        (an API server restarting): a watch resumed from an older resourceVersion gets 410 Gone."""

        def compact() -> None:
            sim = self.runtime.cluster(name)
            sim.store.compact()
            for watcher in sim.store.all_watchers():
                watcher.push(None)

        self._call(compact)

    def save_state(self) -> None:
        self._call(lambda: self.runtime.save())
