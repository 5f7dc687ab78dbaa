"""Watch streams on the simulator, read by the official client's ``watch.Watch`` and raw."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from fleet.clusters.sim import SimServer, store


@pytest.fixture
def core(kube_client: Callable[[str], Any]) -> client.CoreV1Api:
    return client.CoreV1Api(kube_client("c001"))


def _once_watching(sim: SimServer, action: Callable[[], Any]) -> threading.Thread:
    """Run ``action`` in a thread as soon as the simulator has received one more watch request
    (the watch the test opens next), instead of after a guessed delay."""
    before = sim.request_counts("c001")["verbs"].get("watch", 0)

    def when_open() -> None:
        deadline = time.monotonic() + 10
        while sim.request_counts("c001")["verbs"].get("watch", 0) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        action()

    thread = threading.Thread(target=when_open)
    thread.start()
    return thread


def test_a_watch_sends_current_objects_then_changes_until_its_timeout(
    sim: SimServer, core: client.CoreV1Api
) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "before"}})

    def changes() -> None:
        core.create_namespaced_config_map("default", {"metadata": {"name": "after"}})
        core.patch_namespaced_config_map("after", "default", {"data": {"a": "1"}})
        core.delete_namespaced_config_map("before", "default")

    thread = _once_watching(sim, changes)
    started = time.monotonic()
    seen = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(core.list_namespaced_config_map, "default", timeout_seconds=1)
    ]
    thread.join()
    assert seen == [("ADDED", "before"), ("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "before")]
    assert 0.9 <= time.monotonic() - started < 5


def test_a_watch_from_a_resource_version_replays_only_later_events(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "old"}})
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "new", "labels": {"keep": "yes"}}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "other"}})
    seen = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(
            core.list_namespaced_config_map,
            "default",
            resource_version=rv,
            label_selector="keep=yes",
            timeout_seconds=1,
        )
    ]
    assert seen == [("ADDED", "new")]


def test_a_watch_from_a_forgotten_resource_version_is_expired(sim: SimServer, core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "start"}})
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    for i in range(store.EVENT_LOG_SIZE + 5):
        sim.edit_object(
            "c001", "v1", "ConfigMap", "default", "start", lambda cm, n=str(i): cm.update(data={"n": n})
        )
    with pytest.raises(ApiException) as caught:
        list(
            watch.Watch().stream(
                core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=1
            )
        )
    assert caught.value.status == 410


def test_send_initial_events_ends_with_a_bookmark(sim: SimServer, core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "one"}})
    raw = core.list_namespaced_config_map(
        "default",
        watch=True,
        send_initial_events=True,
        resource_version_match="NotOlderThan",
        allow_watch_bookmarks=True,
        timeout_seconds=1,
        _preload_content=False,
    )
    events = [json.loads(line) for line in raw.data.splitlines() if line.strip()]
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_a_field_selector_watches_one_object(sim: SimServer, core: client.CoreV1Api) -> None:
    for name in ("a", "b"):
        core.create_namespaced_config_map("default", {"metadata": {"name": name}})
    thread = _once_watching(
        sim,
        lambda: [core.patch_namespaced_config_map(n, "default", {"data": {"x": "1"}}) for n in ("a", "b")],
    )
    seen = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(
            core.list_namespaced_config_map, "default", field_selector="metadata.name=b", timeout_seconds=1
        )
    ]
    thread.join()
    assert seen == [("ADDED", "b"), ("MODIFIED", "b")]


def test_stopping_the_server_ends_open_watches(sim_factory: Callable[..., SimServer]) -> None:
    sim = sim_factory(1)
    configuration = client.Configuration()
    configuration.host = sim.url_for("c001")
    configuration.api_key = {"authorization": f"Bearer {sim.token_for('c001')}"}
    core = client.CoreV1Api(client.ApiClient(configuration))
    _once_watching(sim, sim.stop)
    started = time.monotonic()
    events = list(watch.Watch().stream(core.list_namespace, timeout_seconds=30))
    assert len(events) == 4 and time.monotonic() - started < 10
