"""The web UI of ``fleet serve``: the fleet as a clusters x Applications matrix, the run history,
and one Application on one cluster.

Where it sits: ``fleet.serve`` mounts ``routes(ctx)`` at ``/`` of its Starlette application; the
pages read the status store through ``ctx.open_store()`` (``fleet.web.view``) and draw with the
same pictures as the HTML report (``fleet.report.pictures`` and its Jinja macros). Pages:

- ``/``: the matrix, coloured by sync status and health, grouped by a cluster label, failing
  first; query parameters ``group`` (a label, ``none``), ``label`` (``KEY=VALUE``, repeatable),
  ``project`` and ``status`` (``failing``, ``OutOfSync``, ``Degraded``, a cell state);
- ``/runs``: the run history with durations, and the history charts (``limit``);
- ``/app?cluster=C&app=A``: one Application on one cluster: its revision and last good one, its
  health message, its objects with their masked diffs, and the recent events of the last result;
- ``/ui/events``: server-sent events relayed from ``ctx.events`` (run queued, started, finished);
- ``/ui/static/...``: the one script, shipped in the package (no CDN, no network asset).

Live refresh: each page subscribes to ``/ui/events`` and, on every event, fetches itself again
with ``fragment=1`` (the ``<main>`` part, rendered and escaped here) and swaps it in: no reload,
and no HTML is ever built in the browser from data.

The UI is read-only: it triggers nothing. Every string from Git and clusters is escaped by Jinja's
autoescaping, passes ``fleet.redact.mask`` on the way out, and the Content-Security-Policy allows
only the UI's own script.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jinja2
from starlette import concurrency
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from fleet import redact
from fleet.report import pictures
from fleet.web import view

if TYPE_CHECKING:
    from fleet.serve import context

STATIC = Path(__file__).resolve().parent / "static"
KEEPALIVE_SECONDS = 15.0  # an SSE comment this often keeps proxies from closing an idle stream

# Scripts only from this server (the UI's own file); styles inline (the pages' <style>); the
# icon is inline too (no /favicon.ico request). Nothing may frame the pages.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

_ENV = jinja2.Environment(
    loader=jinja2.ChoiceLoader(
        [jinja2.PackageLoader("fleet.web", "templates"), jinja2.PackageLoader("fleet.report", "templates")]
    ),
    autoescape=True,  # every page is HTML: escape everything not marked safe
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


class BadQuery(ValueError):
    """A query parameter the page cannot use (answered 400, naming it)."""


def routes(ctx: context.ServeContext) -> list[BaseRoute]:
    """The UI's routes, to mount at ``/`` of the server's application."""
    reader = view.Reader()

    async def fleet_page(request: Request) -> Response:
        try:
            filters, group_by = _filters(request)
        except BadQuery as exc:
            return _page(request, "error.html.j2", status_code=400, title="Bad query", message=str(exc))
        state = await concurrency.run_in_threadpool(reader.fleet, ctx.open_store())
        grid = pictures.matrix(state.clusters, group_by=group_by, filters=filters)
        return _page(
            request,
            "fleet.html.j2",
            title="Fleet",
            ctx=ctx,
            server=ctx.state(),
            state=state,
            matrix=grid,
            filters=filters,
            group_by=group_by,
            label_text=",".join(f"{k}={v}" for k, v in filters.labels.items()),
            app_link=_app_link(request),
        )

    async def runs_page(request: Request) -> Response:
        try:
            limit = _int(request, "limit", view.HISTORY_LIMIT, low=1, high=view.HISTORY_MAX)
        except BadQuery as exc:
            return _page(request, "error.html.j2", status_code=400, title="Bad query", message=str(exc))
        points = await concurrency.run_in_threadpool(reader.history, ctx.open_store(), limit=limit)
        return _page(
            request,
            "runs.html.j2",
            title="Runs",
            ctx=ctx,
            server=ctx.state(),
            runs=points,
            charts=pictures.history_charts(points),
            limit=limit,
        )

    async def app_page(request: Request) -> Response:
        cluster = request.query_params.get("cluster", "")
        name = request.query_params.get("app", "")
        if not cluster or not name:
            return _page(
                request,
                "error.html.j2",
                status_code=400,
                title="Bad query",
                message="cluster and app: both query parameters are needed",
            )
        db = ctx.open_store()
        found = await concurrency.run_in_threadpool(view.app_detail, db, cluster=cluster, app=name)
        if found is None:
            return _page(
                request,
                "error.html.j2",
                status_code=404,
                title="Not found",
                message=f"no Application {name} on cluster {cluster} in the status store",
            )
        good = await concurrency.run_in_threadpool(view.last_good, db, cluster=cluster, app=name)
        return _page(
            request,
            "app.html.j2",
            title=f"{name} on {cluster}",
            ctx=ctx,
            server=ctx.state(),
            app=found,
            last_good=good,
            events=[(r, e) for r in found.resources for e in r.events],
        )

    async def events(request: Request) -> Response:
        return StreamingResponse(
            _event_stream(ctx),
            media_type="text/event-stream",
            headers={**SECURITY_HEADERS, "X-Accel-Buffering": "no"},
        )

    return [
        Route("/", fleet_page, methods=["GET"], name="ui-fleet"),
        Route("/runs", runs_page, methods=["GET"], name="ui-runs"),
        Route("/app", app_page, methods=["GET"], name="ui-app"),
        Route("/ui/events", events, methods=["GET"], name="ui-events"),
        Mount("/ui/static", app=StaticFiles(directory=STATIC), name="ui-static"),
    ]


async def _event_stream(ctx: context.ServeContext) -> AsyncIterator[str]:
    """``ctx.events`` as server-sent events: ``event:`` is the kind, ``data:`` the event as JSON
    (run ids, states and counts: nothing secret), a comment every ``KEEPALIVE_SECONDS``."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    done = object()

    async def pump() -> None:
        # The subscription is read by its own task so that waiting with a timeout (for the
        # keepalive) never cancels the subscription's own wait.
        try:
            async for event in ctx.events.subscribe():
                await queue.put(event)
        finally:
            await queue.put(done)

    task = asyncio.create_task(pump())
    # One turn of the loop runs the pump up to its first wait, which is after the subscription is
    # registered: an event published once the client sees the stream open is never missed.
    await asyncio.sleep(0)
    try:
        yield "retry: 2000\n: connected\n\n"
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            if item is done:
                return
            payload = redact.mask(json.dumps(item.to_dict(), default=str))
            yield f"id: {item.seq}\nevent: {item.kind.value}\ndata: {payload}\n\n"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _filters(request: Request) -> tuple[pictures.Filters, str | None]:
    query = request.query_params
    try:
        pairs = [part for value in query.getlist("label") for part in value.split(",") if part.strip()]
        labels = pictures.parse_label_filters(pairs, field="label")
    except ValueError as exc:
        raise BadQuery(str(exc)) from None
    group = query.get("group")
    group_by = None if group in (None, "") else ("" if group == "none" else group)
    return pictures.Filters(
        labels=labels, project=query.get("project", ""), status=query.get("status", "")
    ), group_by


def _int(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadQuery(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise BadQuery(f"{name}: must be between {low} and {high} (got {value})")
    return value


def _base(request: Request) -> str:
    """Where the UI is mounted (the ASGI root path, behind a proxy's prefix): links are absolute
    paths under it."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _app_link(request: Request) -> Callable[[pictures.Cell], str]:
    base = _base(request)

    def link(cell: pictures.Cell) -> str:
        return f"{base}/app?{urlencode({'cluster': cell.cluster, 'app': cell.app})}"

    return link


def _query_without(request: Request, *names: str) -> str:
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in names]
    return urlencode(kept)


def _page(request: Request, template: str, *, status_code: int = 200, **values: Any) -> Response:
    """A page, or with ``fragment=1`` only its ``<main>`` part (what the live refresh swaps in)."""
    fragment = request.query_params.get("fragment") == "1"
    html = _ENV.get_template(template).render(
        base=_base(request),
        path=request.url.path,
        query=_query_without(request, "fragment"),
        fragment=fragment,
        **values,
    )
    return HTMLResponse(redact.mask(html), status_code=status_code, headers=SECURITY_HEADERS)


__all__ = ["CONTENT_SECURITY_POLICY", "routes"]
