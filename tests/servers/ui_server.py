"""The web UI (``fleet.web.routes``) served by uvicorn in a thread, for tests.

Until ``fleet serve`` runs the UI itself, and for tests that need only the UI, this is the server
part: a Starlette application of the UI's routes, on a socket bound to a free loopback port before
the thread starts (so requests can be made at once: they wait in the listen backlog). What the
server would hand the UI (``ServeContext``) is built from a status store and a real
``fleet.serve.events.Broadcaster``; runs are not triggered (the UI is read-only).
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

import uvicorn
from starlette.applications import Starlette

from fleet import store, web
from fleet.serve import context, events


def make_context(state_dir: Path, *, broadcaster: events.Broadcaster, source: str) -> context.ServeContext:
    def never_triggered(_: context.Selection) -> context.Triggered:
        raise AssertionError("the web UI is read-only: it never triggers a run")

    return context.ServeContext(
        fleet=context.FleetInfo(source=source, schedule="on webhooks and API calls only"),
        open_store=lambda: store.open(None, state_dir=state_dir),
        trigger=never_triggered,
        state=lambda: context.ServerState(ready=True),
        events=broadcaster,
        authorised=lambda _header: False,
    )


class UiServer:
    """``with UiServer(ctx) as server: server.url`` (``http://127.0.0.1:PORT``)."""

    def __init__(self, ctx: context.ServeContext) -> None:
        self.ctx = ctx
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = int(self._sock.getsockname()[1])
        app = Starlette(routes=web.routes(ctx))
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="fleet-ui-test", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        close = getattr(self.ctx.events, "close", None)
        if close is not None:
            close()  # ends the server-sent event streams, so the shutdown need not wait for them
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._sock.close()
