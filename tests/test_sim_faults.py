"""Fault injection, as the official Python client experiences it (see ``fleet.clusters.sim.faults``)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import urllib3
from kubernetes import client
from kubernetes.client.rest import ApiException

from fleet.clusters.sim import SimServer


def _core(sim: SimServer, name: str, *, retries: int | None = 0) -> client.CoreV1Api:
    configuration = client.Configuration()
    configuration.host = sim.url_for(name)
    configuration.api_key = {"authorization": f"Bearer {sim.token_for(name)}"}
    configuration.retries = retries
    return client.CoreV1Api(client.ApiClient(configuration))


@pytest.mark.parametrize(
    "fault, code, reason",
    [({"error_rate": 1.0}, 500, "InternalError"), ({"throttle_rate": 1.0}, 429, "TooManyRequests")],
    ids=["errors answer 500", "throttling answers 429"],
)
def test_error_faults_answer_a_status_and_leave_other_clusters_alone(
    sim: SimServer, fault: dict[str, Any], code: int, reason: str
) -> None:
    sim.set_fault("c001", **fault)
    with pytest.raises(ApiException) as caught:
        _core(sim, "c001").list_namespace()
    assert caught.value.status == code
    assert json.loads(caught.value.body)["reason"] == reason
    if code == 429:
        assert caught.value.headers["Retry-After"] == "1"
    assert _core(sim, "c002").list_namespace().items
    sim.clear_faults("c001")
    assert _core(sim, "c001").list_namespace().items


def test_latency_delays_every_answer(sim: SimServer) -> None:
    core = _core(sim, "c001")
    core.list_namespace()
    sim.set_fault("c001", latency=0.3)
    started = time.monotonic()
    core.list_namespace()
    assert time.monotonic() - started >= 0.3
    # Another cluster is not delayed: it answers while a delayed request is still waiting (an
    # order of events, not a time limit, so a busy machine cannot fail it).
    sim.set_fault("c001", latency=5.0)
    before = sim.request_counts("c001")["total"]
    delayed = threading.Thread(target=core.list_namespace)
    delayed.start()
    deadline = time.monotonic() + 10
    while sim.request_counts("c001")["total"] == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _core(sim, "c002").list_namespace().items
    assert delayed.is_alive()
    delayed.join()


def test_an_unreachable_cluster_resets_connections_without_an_http_answer(sim: SimServer) -> None:
    core = _core(sim, "c001")
    core.list_namespace()  # a kept-alive connection is reset too
    sim.set_fault("c001", unreachable=True)
    with pytest.raises(urllib3.exceptions.MaxRetryError) as caught:
        core.list_namespace()
    assert isinstance(caught.value.reason, urllib3.exceptions.ProtocolError)
    assert "Connection reset by peer" in str(caught.value.reason)
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        _core(sim, "c001", retries=2).list_namespace()
    sim.clear_faults()
    assert core.list_namespace().items


def test_a_hanging_cluster_never_answers_until_the_client_gives_up(sim: SimServer) -> None:
    sim.set_fault("c001", hang=True)
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.MaxRetryError) as caught:
        _core(sim, "c001").list_namespace(_request_timeout=0.5)
    assert isinstance(caught.value.reason, urllib3.exceptions.ReadTimeoutError)
    assert 0.5 <= time.monotonic() - started < 5
    assert _core(sim, "c002").list_namespace(_request_timeout=2).items
    sim.clear_faults("c001")
    assert _core(sim, "c001").list_namespace(_request_timeout=2).items


def test_fault_rates_apply_to_that_share_of_requests(sim_factory: Callable[..., SimServer]) -> None:
    sim = sim_factory(1, seed=7)
    sim.set_fault("c001", error_rate=0.5)
    core = _core(sim, "c001")
    failures = 0
    for _ in range(200):
        try:
            core.list_namespace()
        except ApiException as exc:
            assert exc.status == 500
            failures += 1
    assert 60 <= failures <= 140
    assert sim.request_counts("c001")["codes"] == {"200": 200 - failures, "500": failures}


def test_bad_fault_settings_are_refused(sim: SimServer) -> None:
    from fleet import errors

    with pytest.raises(errors.InputError, match="error_rate must be between 0 and 1"):
        sim.set_fault("c001", error_rate=2)
    with pytest.raises(errors.InputError, match="no simulated cluster named 'nope'"):
        sim.set_fault("nope", hang=True)
