"""A burst of pushes becomes one run: a webhook's run waits `debounce` seconds for the rest of its
burst (each push restarts the wait, never past `max_delay` after the first), and covers all of
their Applications; an API or scheduled request is due at once and takes the waiting pushes with
it. Time is a clock the test moves."""

from __future__ import annotations

import pytest

from fleet import store
from fleet.serve import context, server, webhooks, worker
from tests import serve_helpers as sh
from tests.store_helpers import ManualClock

R = context.TriggerReason


def sel(
    reason: context.TriggerReason, clusters: tuple[str, ...] = (), apps: tuple[str, ...] = ()
) -> context.Selection:
    return context.Selection(clusters=clusters, apps=apps, reason=reason)


# (requests as (time, selection)), then when the run is due and what it covers
PENDING = [
    pytest.param(
        [(0.0, sel(R.WEBHOOK, ("c1",), ("web-c1",)))],
        2.0,
        sel(R.WEBHOOK, ("c1",), ("web-c1",)),
        id="one-push-waits-the-debounce",
    ),
    pytest.param(
        [(0.0, sel(R.WEBHOOK, ("c1",), ("web-c1",))), (1.5, sel(R.WEBHOOK, ("c2",), ("api-c2",)))],
        3.5,
        sel(R.WEBHOOK, ("c1", "c2"), ("api-c2", "web-c1")),
        id="a-second-push-restarts-the-wait-and-joins",
    ),
    pytest.param(
        [(t, sel(R.WEBHOOK, ("c1",), ("web-c1",))) for t in (0.0, 1.9, 3.8, 5.7, 7.6, 9.5, 11.4)],
        10.0,
        sel(R.WEBHOOK, ("c1",), ("web-c1",)),
        id="a-burst-that-never-pauses-runs-at-max-delay",
    ),
    pytest.param(
        [(0.0, sel(R.WEBHOOK, ("c1",), ("web-c1",))), (0.5, sel(R.API))],
        0.5,
        sel(R.WEBHOOK),
        id="an-api-request-runs-at-once-and-covers-all",
    ),
    pytest.param(
        [(0.0, sel(R.WEBHOOK, ("c1",), ("web-c1",))), (1.0, sel(R.WEBHOOK, (), ("api-c2",)))],
        3.0,
        sel(R.WEBHOOK, (), ("api-c2", "web-c1")),
        id="every-cluster-absorbs-named-clusters",
    ),
]


@pytest.mark.parametrize("requests, due, covers", PENDING)
def test_pending_requests_coalesce_into_one_run(requests, due, covers) -> None:
    pending = worker.Pending(debounce=2.0, max_delay=10.0)
    for at, selection in requests:
        pending.add(selection, at)
    assert pending.due_at == pytest.approx(due)
    selection, _reasons, count = pending.take()
    assert (selection.clusters, selection.apps) == (covers.clusters, covers.apps)
    assert count == len(requests) and pending.selection is None


def test_a_burst_of_pushes_to_a_running_server_makes_one_run(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    sh.add_api_app(env)
    clock = ManualClock()
    srv = sh.make_server(env, clock=clock, debounce=5.0)
    with server.running(srv):
        base = sh.base_url(srv)
        for provider, path in (
            (webhooks.Provider.GITHUB, "apps/web/configmap.yaml"),
            (webhooks.Provider.GITEA, "apps/api/serviceaccount.yaml"),
            (webhooks.Provider.GITLAB, "apps/web/deployment.yaml"),
        ):
            answer = sh.deliver(base, provider, sh.payload(provider, modified=[path]))
            assert answer.status == 202, answer.body
        assert clock.wait_for_waiters(1)
        assert srv.worker.finished == 0 and srv.worker.pending.requests == 3  # the burst waits
        clock.advance(5.0)
        assert srv.worker.wait_finished(1, timeout=120)
        assert srv.worker.pending.selection is None
    history = store.Store(env.state_dir).runs()
    assert len(history) == 1
    assert sorted(a.name for a in history[0].apps()) == ["api-c001", "api-c002", "web-c001", "web-c002"]
