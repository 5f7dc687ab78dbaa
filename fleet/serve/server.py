"""``fleet serve``: one process with a run worker, an HTTP server and a schedule.

Where it sits: the CLI (``fleet.cli.serve``) parses the flags into a ``RunRequest`` (as ``fleet
sync`` does) and ``ServeOptions``, and calls ``serve``. The pieces:

1. the HTTP server: uvicorn serving one Starlette application (``fleet.serve.api``'s routes,
   and the web UI's, ``fleet.web.routes(ctx)``, at ``/`` when it is installed), in a thread of
   its own, on a socket bound before anything else (so a port taken is bad input at once, and
   ``--listen HOST:0`` reports the port it got);
2. the run worker (``fleet.serve.worker``), in the calling (main) thread: scheduled runs,
   webhook and API runs, one at a time, each holding the fleet's run lock in the store;
3. on SIGTERM or SIGINT: the current run finishes and is recorded (a second signal abandons it),
   live event streams end, the HTTP server stops, and ``serve`` returns 0 (SIGTERM) or 130.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from fleet import errors, executor, log, loop, redact, store
from fleet.serve import adapter, api, context, events, metrics, schedule, targets, webhooks, worker
from fleet.store import clock as clock_mod

_log = log.get_logger(__name__)

DEFAULT_HOST = "127.0.0.1"  # never reachable from other hosts unless --listen says so
START_TIMEOUT = 30.0  # seconds the HTTP server may take to start listening


@dataclass(frozen=True, kw_only=True)
class Listen:
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def parse_listen(text: str) -> Listen:
    """``--listen``: ``HOST:PORT``, ``[IPv6]:PORT`` or ``PORT`` (on 127.0.0.1); port 0 picks one."""
    value = text.strip()
    host, port_text = DEFAULT_HOST, value
    if value.startswith("["):
        inside, _, rest = value[1:].partition("]")
        host, port_text = inside, rest.removeprefix(":")
    elif ":" in value:
        host, _, port_text = value.rpartition(":")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise errors.InputError(
            f"expected HOST:PORT with a port from 0 to 65535 (got {text!r})", field="--listen"
        )
    if not host:
        raise errors.InputError(f"expected HOST:PORT (got {text!r})", field="--listen")
    return Listen(host=host, port=int(port_text))


def bind(where: Listen) -> socket.socket:
    """The listening socket, bound now (a port in use is bad input, exit 2)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(where.host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET  # a host name: resolved by bind
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((where.host, where.port))
    except OSError as exc:
        sock.close()
        raise errors.InputError(
            f"cannot listen on {where.host}:{where.port}: {exc.strerror}", field="--listen"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@dataclass(frozen=True, kw_only=True)
class ServeOptions:
    """What ``fleet serve`` adds to a sync request.

    Parameters:
        listen: where the HTTP server listens.
        plan: the schedule (``schedule.parse``).
        webhook_secret: the shared secret of every provider's webhook ("" refuses webhooks).
        api_token: the bearer token of ``POST /api/v1/sync`` ("" refuses every POST).
        secrets_ttl: how long resolved secrets stay cached across runs.
        debounce: seconds a webhook's run waits for the rest of its burst.
    """

    listen: Listen = field(default_factory=lambda: Listen(host=DEFAULT_HOST, port=8080))
    plan: schedule.Schedule = field(default_factory=schedule.Never)
    webhook_secret: str = ""
    api_token: str = ""
    secrets_ttl: float | None = loop.DEFAULT_SECRETS_TTL
    debounce: float = worker.DEBOUNCE
    max_delay: float = worker.MAX_DELAY


def bearer_check(token: str) -> Callable[[str | None], bool]:
    """Whether an Authorization header carries ``Bearer <token>`` (constant-time; never with no token)."""

    def authorised(header: str | None) -> bool:
        if not token or not header:
            return False
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())

    return authorised


class Server:
    """The pieces of one ``fleet serve`` process (see the module docstring); ``run`` runs it.

    Parameters:
        clock: what the schedule, the debounce and the replay guard read (tests pass their own).
        stop: how a caller other than a signal stops it (tests).
        executor_: an executor to use (and leave open), as for ``fleet.loop.run_loop``.
        web_routes: the UI's routes (default: ``fleet.web.routes(ctx)`` when installed).
    """

    def __init__(
        self,
        request: adapter.RunRequest,
        options: ServeOptions,
        *,
        clock: clock_mod.Clock | None = None,
        stop: loop.Stop | None = None,
        executor_: executor.Executor | None = None,
        web_routes: Callable[[context.ServeContext], list[BaseRoute]] | None = None,
    ) -> None:
        self.request = request
        self.options = options
        self.clock = clock or clock_mod.SystemClock()
        self.stop = stop or loop.Stop()
        self.broadcaster = events.Broadcaster()
        location = store.locate(request.store, state_dir=request.state_dir)
        self._store = store.Store(location=location)
        self.metrics = metrics.Metrics(self.open_store)
        every = options.plan.seconds if isinstance(options.plan, schedule.Interval) else 0.0
        self.runner = loop.Runner(request, every=every, secrets_ttl=options.secrets_ttl, executor_=executor_)
        self.worker = worker.Worker(
            runner=self.runner,
            plan=options.plan,
            open_store=self.open_store,
            fleet_key=adapter.fleet_key(request),
            broadcaster=self.broadcaster,
            metrics_=self.metrics,
            first_run=isinstance(options.plan, schedule.Interval),
            clock=self.clock,
            debounce=options.debounce,
            max_delay=options.max_delay,
            stop=self.stop,
        )
        self.context = context.ServeContext(
            fleet=context.FleetInfo(
                source=redact.safe_url(request.fleet),
                revision=request.revision or "",
                selector=request.selector or "",
                apps=request.apps,
                schedule=options.plan.describe(),
                store=redact.safe_url(location.display),
            ),
            open_store=self.open_store,
            trigger=self.trigger,
            state=self.worker.state,
            events=self.broadcaster,
            authorised=bearer_check(options.api_token),
        )
        hooks = api.Hooks(
            secret=options.webhook_secret,
            replay=webhooks.ReplayGuard(clock=self.clock),
            sources=self.sources,
        )
        routes: list[BaseRoute] = api.routes(self.context, hooks, self.metrics)
        ui = web_routes if web_routes is not None else _web_routes()
        routes.append(
            Mount("/", routes=ui(self.context)) if ui is not None else api.index_route(self.context)
        )
        self.app = Starlette(routes=routes)
        self.http: uvicorn.Server | None = None
        self._http_thread: threading.Thread | None = None
        self.address: Listen | None = None

    def open_store(self) -> store.Store:
        return self._store

    def trigger(self, selection: context.Selection) -> context.Triggered:
        """Ask the worker for a run, once the clusters the selection names are known to be
        clusters this server syncs (a name it does not know is the caller's mistake: 400)."""
        if selection.clusters:
            try:
                known = {c.name for c in adapter.prepared(self.runner.request).clusters or ()}
            except errors.FleetError as exc:
                return context.Triggered(
                    outcome=context.TriggerOutcome.INVALID, message=redact.mask(str(exc))
                )
            unknown = sorted(set(selection.clusters) - known)
            if known and unknown:
                return context.Triggered(
                    outcome=context.TriggerOutcome.INVALID,
                    message=f"not a cluster of this fleet: {', '.join(unknown)}",
                )
        return self.worker.trigger(selection)

    def sources(self) -> targets.FleetSources:
        return adapter.sources(self.runner.request)

    # --- the HTTP server -----------------------------------------------------------------------

    def start_http(self, sock: socket.socket | None = None) -> Listen:
        """Start serving HTTP in a thread (on ``sock``, or a socket bound to ``--listen``);
        where it listens once it does."""
        sock = sock or bind(self.options.listen)
        host, port = sock.getsockname()[:2]
        config = uvicorn.Config(
            self.app,
            log_config=None,  # fleet's own logging (rich or JSON lines) carries uvicorn's records
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            server_header=False,
        )
        self.http = uvicorn.Server(config)
        self._http_thread = threading.Thread(
            target=self.http.run, kwargs={"sockets": [sock]}, name="fleet-serve-http", daemon=True
        )
        self._http_thread.start()
        started = threading.Event()

        def watch() -> bool:
            return bool(self.http and self.http.started) or not (
                self._http_thread and self._http_thread.is_alive()
            )

        deadline = START_TIMEOUT
        while not watch() and deadline > 0:
            started.wait(0.05)  # uvicorn has no start callback: its `started` flag, looked at every 50 ms
            deadline -= 0.05
        if not (self.http and self.http.started):
            raise errors.FleetError(f"the HTTP server did not start on {host}:{port}")
        self.address = Listen(host=str(host), port=int(port))
        _log.info(
            f"fleet serve listening on {self.address.url}",
            extra={"fields": {"url": self.address.url, "schedule": self.options.plan.describe()}},
        )
        return self.address

    def stop_http(self) -> None:
        self.broadcaster.close()  # live event streams end, so the HTTP server can stop
        if self.http is not None:
            self.http.should_exit = True
        if self._http_thread is not None:
            self._http_thread.join(timeout=15)

    # --- the whole process ---------------------------------------------------------------------

    def run(self, sock: socket.socket | None = None) -> loop.LoopOutcome:
        """Serve until stopped: HTTP in its thread, runs in this one."""
        try:
            self._store.ensure_schema()  # an empty store reads as empty, not as missing
        except (errors.FleetError, OSError) as exc:
            # A database that is not up yet: /readyz says so until it is; runs retry it.
            _log.warning("the status store is not reachable yet", extra={"fields": {"error": str(exc)}})
        self.start_http(sock)
        try:
            outcome = self.worker.run_forever()
        finally:
            self.stop_http()
            self.runner.close()
        if outcome.stopped_by:
            _log.info(
                f"fleet serve stopped by {outcome.stopped_by} after {outcome.runs} runs",
                extra={"fields": {"runs": outcome.runs, "signal": outcome.stopped_by}},
            )
        return outcome


def _web_routes() -> Callable[[context.ServeContext], list[BaseRoute]] | None:
    """The web UI's routes when ``fleet.web`` is installed (it is built beside the server)."""
    try:
        from fleet import web
    except ImportError:
        return None
    routes: Callable[[context.ServeContext], list[BaseRoute]] = web.routes
    return routes


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """``server.run`` in a thread for the block (tests, benchmarks): stopped and joined after it.
    Signals are the main thread's business; this thread's stop is ``server.stop``."""
    outcome: list[loop.LoopOutcome] = []
    sock = bind(server.options.listen)
    thread = threading.Thread(
        target=lambda: outcome.append(server.run(sock)), name="fleet-serve", daemon=True
    )
    thread.start()
    try:
        while server.address is None and thread.is_alive():
            threading.Event().wait(0.02)  # the HTTP server starting; ends on its address
        yield server
    finally:
        server.stop.request("stop")
        thread.join(timeout=120)


__all__ = [
    "DEFAULT_HOST",
    "Listen",
    "ServeOptions",
    "Server",
    "bearer_check",
    "bind",
    "parse_listen",
    "running",
]
