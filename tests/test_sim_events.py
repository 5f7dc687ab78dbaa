"""Simulated components record Events; repeats count up, floods combine, old events expire."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fleet.clusters.sim import SimServer, events


def wait_for(read: Callable[[], Any], check: Callable[[Any], bool], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    value = read()
    while not check(value):
        assert time.monotonic() < deadline, f"condition not met; last value: {value}"
        time.sleep(0.02)
        value = read()
    return value


def pod_events(sim: SimServer, prefix: str) -> list[dict[str, Any]]:
    return [
        e
        for e in sim.objects("c001", kind="Event", namespace="default")
        if e["involvedObject"]["kind"] == "Pod" and e["involvedObject"]["name"].startswith(prefix)
    ]


def deployment(name: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": image}]},
            },
        },
    }


def test_a_bad_image_backs_off_and_its_events_count_up_instead_of_piling_up(sim: SimServer) -> None:
    sim.apply_object("c001", deployment("bad", "nginx:bad"))
    first = wait_for(lambda: pod_events(sim, "bad-"), lambda evs: any(e["reason"] == "BackOff" for e in evs))
    for _ in range(4):  # four more kubelet retries, each after its back-off
        sim.advance_clock(301)
        time.sleep(0.05)
    later = wait_for(
        lambda: pod_events(sim, "bad-"),
        lambda evs: next(e["count"] for e in evs if e["reason"] == "BackOff") >= 5,
    )
    assert len(later) == len(first)  # the same events, counted
    backoff = next(e for e in later if e["reason"] == "BackOff")
    assert backoff["lastTimestamp"] > backoff["firstTimestamp"]
    assert backoff["source"] == {"component": "kubelet", "host": "c001-node-0"}
    assert sim.idle()  # the retries run in the background: the cluster still counts as settled


def test_more_than_ten_similar_messages_are_combined_into_one_event(sim: SimServer) -> None:
    sim.apply_object(
        "c001",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "noisy", "namespace": "default"}},
    )
    obj = sim.get_object("c001", "v1", "ConfigMap", "default", "noisy")

    def record(i: int) -> None:
        sim._call(
            lambda: sim.runtime.cluster("c001").events.record(
                obj, events.EventType.WARNING, "Flaky", f"attempt {i} failed", source=events.Source("tester")
            )
        )

    for i in range(25):
        record(i)
    found = [e for e in sim.objects("c001", kind="Event", namespace="default") if e["reason"] == "Flaky"]
    combined = [e for e in found if e["message"].startswith(events.COMBINED)]
    assert len(found) == events.MAX_SIMILAR + 1 and len(combined) == 1
    assert combined[0]["count"] == 25 - events.MAX_SIMILAR and combined[0]["message"].endswith(
        "attempt 24 failed"
    )


def test_events_expire_an_hour_after_they_were_last_seen(sim: SimServer) -> None:
    sim.apply_object("c001", deployment("web", "nginx:1.27"))
    wait_for(lambda: pod_events(sim, "web-"), lambda evs: any(e["reason"] == "Started" for e in evs))
    sim.advance_clock(events.TTL + 120)
    obj = sim.get_object("c001", "apps/v1", "Deployment", "default", "web")
    # The next recording sweeps what expired.
    sim._call(
        lambda: sim.runtime.cluster("c001").events.record(
            obj, events.EventType.NORMAL, "Poke", "after an hour", source=events.Source("tester")
        )
    )
    left = sim.objects("c001", kind="Event", namespace="default")
    assert [e["reason"] for e in left] == ["Poke"]
