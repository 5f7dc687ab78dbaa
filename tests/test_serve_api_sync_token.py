"""`POST /api/v1/sync` asks `fleet serve` for a run, and only with `Authorization: Bearer
<--api-token>`: 401 without it, with a wrong one, or when the server has no token; 409 while
another run holds the fleet's run lock (naming it); 400 for a body it cannot read; 202 and a run
of the selection otherwise. The read-only API needs no token."""

from __future__ import annotations

import json

import pytest

from fleet import results, store
from fleet.serve import adapter, server
from fleet.store import model
from tests import serve_helpers as sh

REFUSED = [
    pytest.param({}, id="no-header"),
    pytest.param({"Authorization": "Bearer wrong-token"}, id="wrong-token"),
    pytest.param({"Authorization": f"Basic {sh.TOKEN}"}, id="not-bearer"),
    pytest.param({"Authorization": f"Bearer {sh.TOKEN}x"}, id="token-with-more"),
]


def _post(base: str, body: bytes = b"", headers: dict[str, str] | None = None) -> sh.Answer:
    return sh.http(
        "POST", f"{base}/api/v1/sync", body, {"Content-Type": "application/json", **(headers or {})}
    )


def test_the_api_token_guards_post_sync(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    srv = sh.make_server(env)
    with server.running(srv):
        base = sh.base_url(srv)
        for case in REFUSED:
            (headers,) = case.values
            answer = _post(base, headers=headers)
            assert answer.status == 401, (case.id, answer.body)
            assert sh.TOKEN not in answer.body.decode()
        assert sh.http("GET", f"{base}/api/v1/runs").json() == {"runs": []}  # reads need no token
        assert srv.worker.finished == 0 and srv.worker.pending.selection is None
        body = json.dumps({"clusters": ["c002"]}).encode()
        answer = _post(base, body, {"Authorization": f"Bearer {sh.TOKEN}"})
        assert answer.status == 202 and answer.json()["outcome"] in ("started", "queued"), answer.body
        assert srv.worker.wait_finished(1, timeout=120)
        runs = sh.http("GET", f"{base}/api/v1/runs").json()["runs"]
    assert [r["state"] for r in runs] == ["finished"]
    (run,) = store.Store(env.state_dir).runs()
    assert [c.cluster for c in run.clusters] == ["c002"]
    assert env.sim.request_counts("c001")["total"] == 0


def test_a_server_without_a_token_refuses_every_post(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    srv = sh.make_server(env, api_token="")
    with server.running(srv):
        answer = _post(sh.base_url(srv), headers={"Authorization": "Bearer "})
        assert answer.status == 401


BAD_BODIES = [
    pytest.param(b"{", id="not-json"),
    pytest.param(b'["c001"]', id="not-an-object"),
    pytest.param(b'{"clusters": "c001"}', id="clusters-not-a-list"),
    pytest.param(b'{"namespaces": ["web"]}', id="unknown-field"),
    pytest.param(b'{"clusters": ["c009"]}', id="a-cluster-it-does-not-sync"),
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_a_body_it_cannot_read_is_bad_request(make_fleet, body) -> None:
    env = make_fleet("basic", clusters=1)
    srv = sh.make_server(env)
    with server.running(srv):
        answer = _post(sh.base_url(srv), body, {"Authorization": f"Bearer {sh.TOKEN}"})
        assert answer.status == 400, answer.body
        assert srv.worker.pending.selection is None


def test_post_sync_is_409_while_another_run_holds_the_lock(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    srv = sh.make_server(env)
    held = model.Registration(
        run_id="20270115T080000-other",
        kind=results.RunKind.SYNC,
        scope=model.Scope(fleet=adapter.fleet_key(srv.request), clusters=frozenset({"c001", "c002"})),
        host="ci-runner-7",
        pid=4242,
    )
    db = store.Store(env.state_dir)
    assert db.register(held, ttl=600).ok
    with server.running(srv):
        answer = _post(sh.base_url(srv), headers={"Authorization": f"Bearer {sh.TOKEN}"})
        assert answer.status == 409, answer.body
        assert answer.json()["running_run"] == "20270115T080000-other"
        assert srv.worker.pending.selection is None
    assert env.sim.request_counts("c001")["total"] == 0
