"""The web UI's routes over HTTP (fleet.web.routes served by uvicorn): pages for an empty store,
bad query parameters answered 400 naming the parameter, an unknown Application 404, the fragment
a live refresh swaps in, the security headers, the shipped script, server-sent events relayed
from the server's broadcaster, and a newly recorded run shown at once (the page's cache follows
the store). Runs are recorded in a real SQLite status store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest

from fleet import results, store
from fleet.health import Health
from fleet.serve import events
from fleet.status import OperationPhase, Reason, SyncStatus
from tests.servers.ui_server import UiServer, make_context


def recorded_run(run_id: str, *, health: Health = Health.HEALTHY) -> results.RunResult:
    apps = tuple(
        results.AppResult(
            name=f"web-{c}",
            cluster=c,
            sync_status=SyncStatus.SYNCED,
            health=health,
            phase=OperationPhase.SUCCEEDED,
            reason=Reason.SUCCEEDED,
            revision="a" * 40,
        )
        for c in ("c001", "c002")
    )
    return results.RunResult(
        run_id=run_id,
        kind=results.RunKind.SYNC,
        started_at=results.now(),
        finished_at=results.now(),
        clusters=tuple(
            results.ClusterResult(cluster=a.cluster, apps=(a,), labels={"env": "prod"}) for a in apps
        ),
    )


class Ui:
    def __init__(self, state_dir: Path, server: UiServer, broadcaster: events.Broadcaster) -> None:
        self.state_dir, self.server, self.broadcaster = state_dir, server, broadcaster

    def get(self, path: str) -> tuple[int, str, Message]:
        """Status, body and headers (looked up in any case) of a GET."""
        try:
            with urlopen(f"{self.server.url}{path}", timeout=30) as response:
                return response.status, response.read().decode(), response.headers
        except HTTPError as exc:
            return exc.code, exc.read().decode(), exc.headers

    def record(self, run: results.RunResult) -> None:
        store.open(None, state_dir=self.state_dir).record(run)


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[Ui]:
    broadcaster = events.Broadcaster()
    ctx = make_context(
        tmp_path / "state", broadcaster=broadcaster, source="https://git.example.com/fleet.git"
    )
    with UiServer(ctx) as server:
        yield Ui(tmp_path / "state", server, broadcaster)


@pytest.mark.parametrize(
    "path, expect", [("/", "Nothing to show yet"), ("/runs", "No run recorded yet.")], ids=["matrix", "runs"]
)
def test_pages_of_an_empty_store_say_so(ui, path, expect) -> None:
    status, html, _ = ui.get(path)
    assert status == 200 and expect in html


@pytest.mark.parametrize(
    "path, status, message",
    [
        ("/?label=prod", 400, "label: expected KEY=VALUE, got &#39;prod&#39;"),
        ("/runs?limit=0", 400, "limit: must be between 1 and 500 (got 0)"),
        ("/runs?limit=many", 400, "limit: expected a whole number, got &#39;many&#39;"),
        ("/app?cluster=c001", 400, "cluster and app: both query parameters are needed"),
        ("/app?cluster=c001&app=nope", 404, "no Application nope on cluster c001 in the status store"),
    ],
    ids=["label-without-value", "limit-zero", "limit-not-a-number", "app-without-name", "unknown-app"],
)
def test_bad_queries_are_answered_naming_the_parameter(ui, path, status, message) -> None:
    ui.record(recorded_run("r1"))
    got, html, _ = ui.get(path)
    assert got == status and message in html


def test_pages_carry_the_security_headers_and_a_fragment_is_only_main(ui) -> None:
    ui.record(recorded_run("r1"))
    status, html, headers = ui.get("/?fragment=1")
    assert status == 200 and "<html" not in html and 'id="matrix"' in html
    assert headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self';")
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    status, script, headers = ui.get("/ui/static/ui.js")
    assert status == 200 and "EventSource" in script and "javascript" in headers["content-type"]


def test_a_newly_recorded_run_shows_at_once(ui) -> None:
    ui.record(recorded_run("r1"))
    assert "r1" in ui.get("/")[1]
    ui.record(recorded_run("r2", health=Health.DEGRADED))
    html = ui.get("/")[1]
    assert "r2" in html and 'class="cell s-degraded"' in html
    assert 'data-run="r2"' in ui.get("/runs")[1]


def test_server_sent_events_relay_the_broadcasters_events(ui) -> None:
    with urlopen(f"{ui.server.url}/ui/events", timeout=30) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.readline() == b"retry: 2000\n"  # the stream is open: the subscription is registered
        ui.broadcaster.publish(
            events.Event(kind=events.EventKind.RUN_FINISHED, run_id="r9", data={"ok": True})
        )
        lines = []
        while not lines or lines[-1] != b"\n" or not any(line.startswith(b"data:") for line in lines):
            lines.append(stream.readline())
    fields = dict(
        line.decode().rstrip("\n").split(": ", 1)
        for line in lines
        if b": " in line and not line.startswith(b":")
    )
    assert fields["event"] == "run-finished" and fields["id"] == "1"
    assert json.loads(fields["data"])["run_id"] == "r9"
