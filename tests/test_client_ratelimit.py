"""The per-cluster token bucket: bursts up to ``burst``, then ``qps`` requests per second."""

from __future__ import annotations

import threading
import time

import pytest

from fleet.clusters import ratelimit


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize(
    "qps, burst, requests, expected_elapsed",
    [
        pytest.param(10, 5, 5, 0.0, id="within-burst-no-wait"),
        pytest.param(10, 5, 15, 1.0, id="ten-beyond-burst-take-a-second"),
        pytest.param(2, 1, 5, 2.0, id="burst-one"),
        pytest.param(0, 1, 1000, 0.0, id="qps-zero-is-unlimited"),
    ],
)
def test_bucket_lets_burst_through_then_paces_at_qps(qps, burst, requests, expected_elapsed) -> None:
    clock = FakeClock()
    bucket = ratelimit.TokenBucket(qps, burst, clock=clock, sleep=clock.sleep)
    for _ in range(requests):
        bucket.acquire()
    assert clock.now == pytest.approx(expected_elapsed)
    assert bucket.waited == pytest.approx(expected_elapsed, abs=1e-9)


def test_tokens_refill_while_idle_but_never_beyond_burst() -> None:
    clock = FakeClock()
    bucket = ratelimit.TokenBucket(10, 3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        bucket.acquire()
    clock.now += 100  # a long pause refills only up to burst
    for _ in range(3):
        assert bucket.acquire() == 0
    assert bucket.acquire() == pytest.approx(0.1)


def test_threads_share_one_bucket_in_real_time() -> None:
    bucket = ratelimit.TokenBucket(50, 5)
    started = time.monotonic()
    threads = [threading.Thread(target=lambda: [bucket.acquire() for _ in range(5)]) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    # 30 tokens, 5 at once, then 25 at 50/s: about 0.5 s, never less (a loaded machine only
    # makes it longer).
    assert elapsed >= 0.4
