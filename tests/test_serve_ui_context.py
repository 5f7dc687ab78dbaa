"""What `fleet serve` hands the web UI (`fleet.web.routes(ctx)`, mounted at `/`): the UI's routes
are served beside the API, and the context they get opens the store, describes the fleet
without credentials, asks for runs (checking the API token first), and streams live run events
to a server-sent-events route. The UI here is a few lines of the test's own, standing where
`fleet.web` is mounted."""

from __future__ import annotations

import json
import urllib.request

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from fleet.serve import context, server
from tests import serve_helpers as sh


def tiny_ui(ctx: context.ServeContext) -> list[BaseRoute]:
    async def page(_request: Request) -> Response:
        return JSONResponse(
            {"fleet": ctx.fleet.source, "schedule": ctx.fleet.schedule, "ready": ctx.state().ready}
        )

    async def sync(request: Request) -> Response:
        if not ctx.authorised(request.headers.get("authorization")):
            return JSONResponse({"error": "token"}, 401)
        answer = ctx.trigger(context.Selection(reason=context.TriggerReason.UI))
        return JSONResponse({"outcome": answer.outcome.value}, 202 if answer.outcome.accepted else 409)

    async def stream(_request: Request) -> Response:
        async def lines():
            async for event in ctx.events.subscribe():
                yield f"id: {event.seq}\nevent: {event.kind.value}\ndata: {json.dumps(event.to_dict())}\n\n"

        return StreamingResponse(lines(), media_type="text/event-stream")

    async def runs(_request: Request) -> Response:
        return JSONResponse([r.run_id for r in ctx.open_store().runs()])

    return [
        Route("/", page),
        Route("/ui/sync", sync, methods=["POST"]),
        Route("/ui/events", stream),
        Route("/ui/runs", runs),
    ]


def test_the_ui_routes_get_a_working_context(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    sh.make_server(env)  # logging set up as for the other tests
    srv = server.Server(sh.request_for(env), _options(), web_routes=tiny_ui)
    with server.running(srv):
        base = sh.base_url(srv)
        page = sh.http("GET", f"{base}/").json()
        assert page == {"fleet": str(env.root), "schedule": "on webhooks and API calls only", "ready": True}
        assert sh.http("GET", f"{base}/api/v1/runs").json() == {"runs": []}  # the API is still there
        assert sh.http("POST", f"{base}/ui/sync", b"").status == 401
        events = urllib.request.urlopen(f"{base}/ui/events", timeout=60)  # noqa: S310 - loopback
        answer = sh.http("POST", f"{base}/ui/sync", b"", {"Authorization": f"Bearer {sh.TOKEN}"})
        assert answer.status == 202, answer.body
        kinds = []
        for raw in events:
            line = raw.decode().strip()
            if line.startswith("event: "):
                kinds.append(line.removeprefix("event: "))
                if kinds[-1] in ("run-finished", "run-failed"):
                    break
        events.close()
        assert kinds == ["run-queued", "run-started", "run-finished"]
        assert len(sh.http("GET", f"{base}/ui/runs").json()) == 1


def test_the_api_index_lists_the_endpoints(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    srv = sh.make_server(env)
    with server.running(srv):
        index = sh.http("GET", f"{sh.base_url(srv)}/api/v1").json()
    assert "POST /api/v1/sync" in index["endpoints"] and index["fleet"]["source"] == str(env.root)


def _options() -> server.ServeOptions:
    return server.ServeOptions(
        listen=server.Listen(host="127.0.0.1", port=0),
        webhook_secret=sh.SECRET,
        api_token=sh.TOKEN,
        debounce=0.0,
    )


def test_fleet_serve_serves_the_installed_web_ui_at_the_root(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    srv = sh.make_server(env)  # no web_routes given: fleet.web's own
    with server.running(srv):
        base = sh.base_url(srv)
        before = sh.http("GET", f"{base}/")
        assert before.status == 200 and before.headers["content-type"].startswith("text/html")
        events = urllib.request.urlopen(f"{base}/ui/events", timeout=60)  # noqa: S310 - loopback
        answer = sh.http("POST", f"{base}/api/v1/sync", b"", {"Authorization": f"Bearer {sh.TOKEN}"})
        assert answer.status == 202, answer.body
        for raw in events:
            if raw.decode().strip() == "event: run-finished":
                break
        events.close()
        (run,) = sh.http("GET", f"{base}/api/v1/runs").json()["runs"]  # the API beside the UI
        after = sh.http("GET", f"{base}/").body.decode()
        assert run["run_id"] in after and "c001" in after
