"""The HTTP surface of ``fleet serve`` that is not the web UI: ``/healthz``, ``/readyz``,
``/metrics``, the webhooks ``POST /hooks/{provider}`` and the JSON API under ``/api/v1/``.

Where it sits: ``fleet.serve.server`` mounts these routes (and the UI's, ``fleet.web``, at
``/`` when it is installed) in one Starlette application. Handlers read the status store
through ``ServeContext.open_store`` (in a thread: store calls block) and ask for runs through
``ServeContext.trigger``; they never run anything themselves.

Every JSON answer passes ``fleet.redact.mask`` as a whole, and none carries a credential: the
fleet's source is shown without user and password, results are stored masked already.

The API is read-only without a token; ``POST /api/v1/sync`` needs ``Authorization: Bearer
<--api-token>`` (401 without or with a wrong one, and always when the server has no token):
202 when the run is queued, 409 while a run holds the fleet's run lock, 503 while stopping.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fleet import errors, log, redact, results, store
from fleet.serve import context, metrics, targets, webhooks

_log = log.get_logger(__name__)

API = "/api/v1"
RUNS_LIMIT = 50  # runs listed by default (?limit= up to RUNS_MAX)
RUNS_MAX = 1000
MAX_API_BODY = 64 * 1024  # bytes of a POST /api/v1/sync body


@dataclass(frozen=True, kw_only=True)
class Hooks:
    """What the webhook handler needs beside the context."""

    secret: str  # "" refuses every delivery
    replay: webhooks.ReplayGuard
    sources: Callable[[], targets.FleetSources]  # the fleet's Applications now (reads Git)
    max_body: int = webhooks.MAX_BODY


def json_response(data: Any, status: int = 200) -> Response:
    """JSON, masked as a whole (``fleet.redact``)."""
    text = redact.mask(json.dumps(data, indent=None, sort_keys=False, default=str))
    return Response(text, status_code=status, media_type="application/json")


def problem(status: int, message: str, **extra: Any) -> Response:
    return json_response({"error": message, **extra}, status)


def routes(ctx: context.ServeContext, hooks: Hooks, registry: metrics.Metrics) -> list[BaseRoute]:
    """Every non-UI route of the server."""

    def counted(
        name: str, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            answer = await handler(request)
            registry.api_requests.labels(request.method, name, str(answer.status_code)).inc()
            return answer

        return endpoint

    async def healthz(_request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        problems: list[str] = []
        try:
            await run_in_threadpool(lambda: ctx.open_store().ensure_schema())
        except (errors.FleetError, OSError) as exc:
            problems.append(f"the status store is not reachable: {exc}")
        state = ctx.state()
        if not state.ready:
            problems.append("the first run has not finished yet")
        if state.stopping:
            problems.append("the server is stopping")
        if problems:
            return json_response({"status": "not ready", "problems": problems}, 503)
        return json_response({"status": "ready"})

    async def metrics_endpoint(_request: Request) -> Response:
        body = await run_in_threadpool(generate_latest, registry.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def hook(request: Request) -> Response:
        name = request.path_params["provider"]
        try:
            provider = webhooks.Provider(name)
        except ValueError:
            registry.webhooks.labels(name[:32], webhooks.Outcome.UNKNOWN_PROVIDER.value).inc()
            return problem(404, f"no webhook provider {name!r} (github, gitlab, gitea, bitbucket)")
        outcome, answer = await _hook(request, provider, ctx, hooks)
        registry.webhooks.labels(provider.value, outcome.value).inc()
        _log.info(
            "webhook delivery",
            extra={
                "fields": {"provider": provider.value, "outcome": outcome.value, "status": answer.status_code}
            },
        )
        return answer

    async def index(_request: Request) -> Response:
        return json_response(
            {
                "fleet": _fleet_info(ctx.fleet),
                "endpoints": [
                    "/healthz",
                    "/readyz",
                    "/metrics",
                    f"{API}/status",
                    f"{API}/runs",
                    f"{API}/runs/{{id}}",
                    f"{API}/applications",
                    f"{API}/applications/{{cluster}}/{{app}}",
                    f"{API}/clusters",
                    f"POST {API}/sync",
                    "POST /hooks/{github,gitlab,gitea,bitbucket}",
                ],
            }
        )

    async def status(_request: Request) -> Response:
        state = await run_in_threadpool(ctx.state)
        return json_response({"fleet": _fleet_info(ctx.fleet), "server": _state(state)})

    async def runs(request: Request) -> Response:
        try:
            limit = min(int(request.query_params.get("limit", RUNS_LIMIT)), RUNS_MAX)
            states = _states(request.query_params.getlist("state"))
        except ValueError as exc:
            return problem(400, str(exc))
        if limit < 1:
            return problem(400, "limit must be at least 1")
        records = await _read(ctx, lambda db: db.run_records(limit=limit, states=states))
        if isinstance(records, Response):
            return records
        return json_response({"runs": [r.to_dict() for r in records]})

    async def run(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        found = await _read(ctx, lambda db: db.run(run_id))
        if isinstance(found, Response):
            return found
        if found is None:
            return problem(404, f"no run {run_id!r}")
        data = json.loads(found.to_json())
        data["summary"] = found.summary()
        return json_response(data)

    async def applications(request: Request) -> Response:
        q = request.query_params
        found = await _read(ctx, lambda db: db.app_states())
        if isinstance(found, Response):
            return found
        picked = [a for a in found if _app_matches(a, q)]
        return json_response({"applications": [_app_row(a) for a in picked]})

    async def application(request: Request) -> Response:
        cluster, name = request.path_params["cluster"], request.path_params["app"]

        def read(db: store.Store) -> tuple[results.AppResult | None, list[Any]]:
            app = next((a for a in db.app_states() if a.cluster == cluster and a.name == name), None)
            return app, db.last_good(cluster=cluster, app=name)

        found = await _read(ctx, read)
        if isinstance(found, Response):
            return found
        app, good = found
        if app is None:
            return problem(404, f"no Application {name!r} on cluster {cluster!r} in the status store")
        detail = app.model_dump(mode="json")
        detail["ok"] = app.ok
        detail["health_messages"] = [
            {"object": r.ref, "health": r.health.value if r.health else "", "message": r.health_message}
            for r in app.resources
            if r.health_message
        ]
        detail["diffs"] = [{"object": r.ref, "diff": r.diff} for r in app.resources if r.diff]
        detail["events"] = [
            {"object": r.ref, **e.model_dump(mode="json")} for r in app.resources for e in r.events
        ]
        detail["last_good"] = good[0].to_dict() if good else None
        return json_response(detail)

    async def clusters(_request: Request) -> Response:
        def read(db: store.Store) -> list[dict[str, Any]]:
            rows = db.cluster_states()
            apps = db.app_states()
            for row in rows:
                mine = [a for a in apps if a.cluster == row["cluster"]]
                row["reachable"] = bool(row["reachable"])
                row["applications"] = len(mine)
                row["ok"] = sum(1 for a in mine if a.ok)
            return rows

        found = await _read(ctx, read)
        if isinstance(found, Response):
            return found
        return json_response({"clusters": found})

    async def sync(request: Request) -> Response:
        if not ctx.authorised(request.headers.get("authorization")):
            return problem(401, "POST /api/v1/sync needs Authorization: Bearer <the server's --api-token>")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_API_BODY:
            return problem(413, f"the body is over {MAX_API_BODY} bytes")
        body = await request.body()
        if len(body) > MAX_API_BODY:
            return problem(413, f"the body is over {MAX_API_BODY} bytes")
        try:
            selection = _selection(body)
        except ValueError as exc:
            return problem(400, str(exc))
        answer = await run_in_threadpool(ctx.trigger, selection)
        status_code = {
            context.TriggerOutcome.STARTED: 202,
            context.TriggerOutcome.QUEUED: 202,
            context.TriggerOutcome.BUSY: 409,
            context.TriggerOutcome.STOPPING: 503,
            context.TriggerOutcome.INVALID: 400,
        }[answer.outcome]
        return json_response(
            {"outcome": answer.outcome.value, "running_run": answer.running_run, "message": answer.message},
            status_code,
        )

    return [
        Route("/healthz", counted("/healthz", healthz)),
        Route("/readyz", counted("/readyz", readyz)),
        Route("/metrics", counted("/metrics", metrics_endpoint)),
        Route("/hooks/{provider}", counted("/hooks", hook), methods=["POST"]),
        Route(f"{API}", counted(API, index)),
        Route(f"{API}/status", counted(f"{API}/status", status)),
        Route(f"{API}/runs", counted(f"{API}/runs", runs)),
        Route(f"{API}/runs/{{run_id}}", counted(f"{API}/runs/{{id}}", run)),
        Route(f"{API}/applications", counted(f"{API}/applications", applications)),
        Route(
            f"{API}/applications/{{cluster}}/{{app}}",
            counted(f"{API}/applications/{{cluster}}/{{app}}", application),
        ),
        Route(f"{API}/clusters", counted(f"{API}/clusters", clusters)),
        Route(f"{API}/sync", counted(f"{API}/sync", sync), methods=["POST"]),
    ]


def index_route(ctx: context.ServeContext) -> Route:
    """``/`` when no web UI is installed: where to look instead (JSON)."""

    async def index(_request: Request) -> Response:
        return json_response(
            {"fleet": _fleet_info(ctx.fleet), "ui": "not installed", "api": f"{API}", "metrics": "/metrics"}
        )

    return Route("/", index)


# --- webhooks -----------------------------------------------------------------------------------


DRAIN_LIMIT = 8 * webhooks.MAX_BODY  # bytes of a refused body read and thrown away before the 413


async def _discard(request: Request, size: int) -> None:
    """Read and drop the rest of a refused body (up to ``DRAIN_LIMIT``) so the 413 reaches the
    sender: a server that closes a connection with unread data makes the kernel reset it, and the
    sender sees a broken pipe instead of the answer. Larger bodies are not read at all (the
    connection is closed on them), so a refused body costs bounded time and no memory."""
    if size > DRAIN_LIMIT:
        return
    with contextlib.suppress(ClientDisconnect):
        async for _chunk in request.stream():
            pass


async def _hook(
    request: Request, provider: webhooks.Provider, ctx: context.ServeContext, hooks: Hooks
) -> tuple[webhooks.Outcome, Response]:
    """Steps: 1. size, 2. signature, 3. replay, 4. payload, 5. which Applications, 6. queue a run.
    Nothing changes before step 6; a refused delivery leaves no trace but a counter and a log line."""
    try:
        # 1. the body, refused past the limit before it is all read
        declared = request.headers.get("content-length")
        too_large = webhooks.Rejected(webhooks.Outcome.TOO_LARGE, f"the body is over {hooks.max_body} bytes")
        if declared is not None and declared.isdigit() and int(declared) > hooks.max_body:
            await _discard(request, int(declared))
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > DRAIN_LIMIT:
                raise too_large
            if size <= hooks.max_body:
                chunks.append(chunk)
        if size > hooks.max_body:
            raise too_large  # read to its end (see _discard), kept no further than the limit
        body = b"".join(chunks)
        headers = dict(request.headers)
        # 2. signature or token, 3. a delivery id not seen before
        webhooks.verify(provider, headers, body, hooks.secret)
        delivery = webhooks.delivery_id(provider, headers)
        hooks.replay.check(provider, delivery)
        # 4. a push (other events, a ping, are accepted and ignored)
        push = webhooks.parse(provider, headers, body)
        if push is None:
            event = webhooks.event_name(provider, headers) or "unknown"
            return webhooks.Outcome.IGNORED, json_response(
                {"outcome": "ignored", "delivery": delivery, "reason": f"event {event!r} is not a push"}, 202
            )
    except webhooks.Rejected as exc:
        return exc.outcome, problem(exc.outcome.status, str(exc), outcome=exc.outcome.value)
    # 5. which Applications the push touched (reads Git: in a thread)
    try:
        found = await run_in_threadpool(lambda: targets.touched(push, hooks.sources()))
    except errors.FleetError as exc:
        # The fleet cannot be read now: sync all of it, the run reports what is wrong.
        _log.warning(
            "webhook: the fleet could not be read to match the push; syncing all of it",
            extra={"fields": {"error": str(exc)}},
        )
        found = targets.Touched(whole_fleet=True, why=f"the fleet could not be read: {exc}")
    if found.nothing:
        return webhooks.Outcome.IGNORED, json_response(
            {"outcome": "ignored", "delivery": push.delivery, "reason": found.why}, 202
        )
    # 6. queue the run (a burst of pushes coalesces into one)
    answer = await run_in_threadpool(ctx.trigger, found.selection(context.TriggerReason.WEBHOOK))
    if not answer.outcome.accepted:
        return webhooks.Outcome.IGNORED, problem(503, answer.message or answer.outcome.value)
    return webhooks.Outcome.ACCEPTED, json_response(
        {
            "outcome": answer.outcome.value,
            "delivery": push.delivery,
            "reason": found.why,
            "whole_fleet": found.whole_fleet,
            "applications": sorted(f"{c}/{a}" for c, a in found.apps),
        },
        202,
    )


# --- helpers ------------------------------------------------------------------------------------


async def _read(ctx: context.ServeContext, read: Callable[[store.Store], Any]) -> Any:
    """A store read in a thread; a 503 answer when the store cannot be read."""
    try:
        return await run_in_threadpool(lambda: read(ctx.open_store()))
    except (errors.FleetError, OSError) as exc:
        return problem(503, f"the status store cannot be read: {exc}")


def _states(values: list[str]) -> set[results.RunState] | None:
    if not values:
        return None
    try:
        return {results.RunState(v) for v in values}
    except ValueError:
        raise ValueError(f"state must be one of {', '.join(s.value for s in results.RunState)}") from None


APP_FILTERS = ("cluster", "app", "project", "appset", "sync", "health", "ok")


def _app_matches(app: results.AppResult, q: Any) -> bool:
    """``?cluster=&app=`` (globs), ``?project=&appset=&sync=&health=`` (exact), ``?ok=true|false``."""
    for key, value in (("cluster", app.cluster), ("app", app.name)):
        pattern = q.get(key)
        if pattern and not fnmatch.fnmatchcase(value, pattern):
            return False
    for key, value in (
        ("project", app.project),
        ("appset", app.appset),
        ("sync", app.sync_status.value),
        ("health", app.health.value),
    ):
        wanted = q.get(key)
        if wanted and wanted != value:
            return False
    ok = q.get("ok")
    return not (ok in ("true", "false") and (ok == "true") != app.ok)


def _app_row(app: results.AppResult) -> dict[str, Any]:
    return {
        "cluster": app.cluster,
        "app": app.name,
        "project": app.project,
        "appset": app.appset,
        "namespace": app.namespace,
        "revision": app.revision,
        "sync_status": app.sync_status.value,
        "health": app.health.value,
        "reason": app.reason.value,
        "message": app.message,
        "ok": app.ok,
        "started_at": app.started_at,
    }


def _fleet_info(info: context.FleetInfo) -> dict[str, Any]:
    return {
        "source": redact.safe_url(info.source),
        "revision": info.revision,
        "selector": info.selector,
        "apps": list(info.apps),
        "schedule": info.schedule,
        "store": info.store,
    }


def _state(state: context.ServerState) -> dict[str, Any]:
    return {
        "running_run": state.running_run,
        "pending": state.pending,
        "next_run_at": state.next_run_at,
        "runs_finished": state.runs_finished,
        "ready": state.ready,
        "stopping": state.stopping,
    }


def _selection(body: bytes) -> context.Selection:
    """``{"clusters": [names], "apps": [globs]}``, both optional; an empty body: the whole fleet."""
    if not body.strip():
        return context.Selection(reason=context.TriggerReason.API)
    try:
        data = json.loads(body)
    except ValueError:
        raise ValueError('the body is not JSON (expected {"clusters": [...], "apps": [...]})') from None
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    unknown = set(data) - {"clusters", "apps"}
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))} (expected clusters, apps)")
    picked: dict[str, tuple[str, ...]] = {}
    for key in ("clusters", "apps"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"{key} must be a list of non-empty strings")
        picked[key] = tuple(value)
    return context.Selection(
        clusters=picked["clusters"], apps=picked["apps"], reason=context.TriggerReason.API
    )


__all__ = ["API", "Hooks", "index_route", "json_response", "routes"]
