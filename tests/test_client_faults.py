"""Every fault mode of the simulator, and what the client makes of it; rate limiting by counts.

Timings use generous bounds: the machine is small and shared.
"""

from __future__ import annotations

import threading
import time

import pytest

from fleet import errors
from fleet.clusters import client
from tests.fixtures.kubefake import SimTarget


def _warm(api: client.ClusterClient) -> None:
    """Fill the discovery cache so the counted requests are the ones under test."""
    api.resource("v1", "Namespace")
    api.reset_stats()


def test_latency_below_the_timeout_only_slows_answers(sim_target: SimTarget) -> None:
    api = sim_target.connect(timeout=(10, 10))
    _warm(api)
    sim_target.sim.set_fault(sim_target.cluster.name, latency=0.3)
    started = time.monotonic()
    assert api.get("v1", "Namespace", sim_target.namespace) is not None
    assert time.monotonic() - started >= 0.3
    assert api.stats().requests == 1 and api.stats().retries == 0


def test_latency_beyond_the_read_timeout_is_unreachable_without_waiting_for_retries(
    sim_target: SimTarget,
) -> None:
    api = sim_target.connect(timeout=(1, 0.3), retries=4)
    _warm(api)
    sim_target.sim.set_fault(sim_target.cluster.name, latency=3)
    started = time.monotonic()
    with pytest.raises(client.ClusterUnreachable, match="no answer within 0.3s") as info:
        api.get("v1", "Namespace", sim_target.namespace)
    assert api.stats().requests == 1  # not sent again (each attempt would wait its 0.3 s)
    assert time.monotonic() - started < 3  # given up before the server's answer
    assert isinstance(info.value, errors.TemporaryError)


def test_5xx_answers_are_retried_until_one_succeeds(sim_target: SimTarget) -> None:
    api = sim_target.connect(retries=20, backoff=0.005, max_backoff=0.02)
    _warm(api)
    before = sim_target.sim.request_counts(sim_target.cluster.name)["codes"].get("500", 0)
    sim_target.sim.set_fault(sim_target.cluster.name, error_rate=0.5)
    for _ in range(10):
        assert api.get("v1", "Namespace", sim_target.namespace) is not None
    stats = api.stats()
    assert stats.by_verb["get"] == stats.requests and stats.retries == stats.requests - 10
    assert (
        sim_target.sim.request_counts(sim_target.cluster.name)["codes"].get("500", 0) - before
        == stats.retries
    )
    assert stats.retries > 0  # with a 50 % error rate, 10 clean answers in a row are a 1 in 1024 event


def test_5xx_answers_fail_after_the_last_retry_with_a_temporary_error(sim_target: SimTarget) -> None:
    api = sim_target.connect(retries=3, backoff=0.01)
    _warm(api)
    counts_before = sim_target.sim.request_counts(sim_target.cluster.name)
    sim_target.sim.set_fault(sim_target.cluster.name, error_rate=1.0)
    with pytest.raises(client.ServerError) as info:
        api.get("v1", "Namespace", sim_target.namespace)
    assert info.value.retryable and info.value.code == 500
    assert api.stats().requests == 4
    counts_after = sim_target.sim.request_counts(sim_target.cluster.name)
    assert _total(counts_after) - _total(counts_before) == 4  # the server saw exactly those
    assert counts_after["codes"].get("500", 0) - counts_before["codes"].get("500", 0) == 4


def _total(counts: dict) -> int:
    return int(counts["total"])


def test_429_is_retried_after_the_servers_retry_after(sim_target: SimTarget) -> None:
    api = sim_target.connect(retries=3)
    _warm(api)
    sim_target.sim.set_fault(sim_target.cluster.name, throttle_rate=1.0)
    clearer = threading.Timer(0.5, sim_target.sim.clear_faults)
    clearer.start()
    started = time.monotonic()
    assert api.get("v1", "Namespace", sim_target.namespace) is not None
    elapsed = time.monotonic() - started
    clearer.join()
    assert elapsed >= 1.0  # one Retry-After: 1 wait, then the answer
    assert api.stats().retries == 1


def test_an_unreachable_cluster_is_reported_quickly_after_retries(sim_target: SimTarget) -> None:
    api = sim_target.connect(retries=3, backoff=0.02)
    _warm(api)
    sim_target.sim.set_fault(sim_target.cluster.name, unreachable=True)
    started = time.monotonic()
    with pytest.raises(client.ClusterUnreachable) as info:
        api.get("v1", "Namespace", sim_target.namespace)
    assert time.monotonic() - started < 10  # four attempts with 20 ms backoffs, no long waits
    assert info.value.retryable
    assert f"cluster {sim_target.cluster.name} is unreachable" in str(info.value)
    assert "(after 4 attempts)" in str(info.value)


def test_a_hanging_cluster_is_reported_within_the_timeout(sim_target: SimTarget) -> None:
    api = sim_target.connect(timeout=(1, 0.5), retries=3)
    _warm(api)
    sim_target.sim.set_fault(sim_target.cluster.name, hang=True)
    started = time.monotonic()
    with pytest.raises(client.ClusterUnreachable, match="no answer within 0.5s"):
        api.get("v1", "Namespace", sim_target.namespace)
    assert time.monotonic() - started < 10  # the hang never answers: only the timeout ends it
    assert api.stats().requests == 1


def test_one_broken_cluster_does_not_slow_another(sim_module, sim_target: SimTarget) -> None:
    broken, healthy = sim_module.clusters()[0], sim_module.clusters()[1]
    sim_module.set_fault(broken.name, hang=True)
    slow = client.connect(broken, timeout=(1, 6))
    fast = client.connect(healthy)
    fast.resource("v1", "Namespace")

    def expect_unreachable() -> None:
        with pytest.raises(client.ClusterUnreachable):
            slow.server_version()

    thread = threading.Thread(target=expect_unreachable)
    thread.start()
    started = time.monotonic()
    for _ in range(5):
        fast.get("v1", "Namespace", "default")
    assert time.monotonic() - started < 5  # not behind the hanging one's 6 s read timeout
    thread.join()


def test_client_side_rate_limit_holds_requests_to_qps(sim_target: SimTarget) -> None:
    api = sim_target.connect(qps=20, burst=5)
    _warm(api)
    before = _total(sim_target.sim.request_counts(sim_target.cluster.name))
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda: [api.get("v1", "Namespace", sim_target.namespace) for _ in range(5)])
        for _ in range(5)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    served = _total(sim_target.sim.request_counts(sim_target.cluster.name)) - before
    assert served == 25
    # The _warm request took one token; 25 more at 20/s after a burst of 4 need >= ~1.05 s.
    assert elapsed >= 0.9
    assert served / elapsed <= 20 + 5  # never faster than qps plus the burst
    assert api.stats().rate_limited_seconds > 0
