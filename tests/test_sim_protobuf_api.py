"""The simulator's API in protobuf: request bodies, negotiated answers, lists, watch frames, errors.

Driven over HTTP as a Go client would drive it (``Content-Type``/``Accept`` of
``application/vnd.kubernetes.protobuf``), against the simulator fixture.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest

from fleet.clusters.sim import SimServer, protobuf

PB = protobuf.MEDIA_TYPE


def http(
    sim: SimServer, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, str, bytes]:
    request = urllib.request.Request(
        sim.url_for("c001") + path,
        data=body,
        method=method,
        headers={
            "Authorization": f"Bearer {sim.token_for('c001')}",
            **{k.replace("_", "-"): v for k, v in headers.items()},
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default"},
        "data": data,
    }


@pytest.mark.parametrize(
    "accept, answered_in",
    [
        (PB, PB),
        (f"{PB},application/json", PB),
        (f"application/json,{PB}", "application/json"),
        (f"{PB};q=0.5,application/json", "application/json"),
        ("", "application/json"),
    ],
    ids=["protobuf only", "protobuf first", "json first", "protobuf with lower q", "no accept"],
)
def test_a_protobuf_create_is_answered_in_the_encoding_the_client_prefers(
    sim: SimServer, accept: str, answered_in: str
) -> None:
    name = f"cm-{abs(hash(accept))}"
    code, ctype, raw = http(
        sim,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        protobuf.encode(configmap(name, a="b")),
        Content_Type=PB,
        Accept=accept,
    )
    assert code == 201 and ctype.startswith(answered_in)
    answer = protobuf.decode(raw) if answered_in == PB else json.loads(raw)
    assert answer["data"] == {"a": "b"} and answer["metadata"]["uid"]
    assert sim.get_object("c001", "v1", "ConfigMap", "default", name)["data"] == {"a": "b"}


def test_a_list_in_protobuf_holds_every_item(sim: SimServer) -> None:
    for i in range(3):
        sim.apply_object("c001", configmap(f"listed-{i}", n=str(i)))
    code, ctype, raw = http(sim, "GET", "/api/v1/namespaces/default/configmaps?labelSelector=", Accept=PB)
    assert code == 200 and ctype == PB
    envelope = protobuf.unwrap(raw)
    assert (envelope.api_version, envelope.kind) == ("v1", "ConfigMapList")
    listing = protobuf.decode(raw)
    names = {item["metadata"]["name"] for item in listing["items"]}
    assert {"listed-0", "listed-1", "listed-2"} <= names
    assert listing["metadata"]["resourceVersion"]


def test_a_watch_in_protobuf_streams_length_prefixed_watch_events(sim: SimServer) -> None:
    sim.apply_object("c001", configmap("watched", v="1"))
    chunks: list[bytes] = []

    def watch() -> None:
        _, _, raw = http(
            sim,
            "GET",
            "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=2&fieldSelector=metadata.name%3Dwatched",
            Accept=PB,
        )
        chunks.append(raw)

    thread = threading.Thread(target=watch)
    thread.start()
    thread.join(timeout=15)
    events = protobuf.read_watch_frames(chunks[0])
    assert [(t, o["metadata"]["name"], o["data"]) for t, o in events] == [("ADDED", "watched", {"v": "1"})]


def test_a_protobuf_body_of_a_custom_kind_is_refused_with_415_not_a_json_error(sim: SimServer) -> None:
    from fleet.clusters.sim.protobuf import wire

    body = protobuf.wrap("example.com/v1", "Widget", wire.length_delimited(1, b""))
    code, _, raw = http(
        sim, "POST", "/api/v1/namespaces/default/configmaps", body, Content_Type=PB, Accept="application/json"
    )
    status = json.loads(raw)
    assert code == 415 and status["reason"] == "UnsupportedMediaType"
    assert "Widget" in status["message"] and "JSON" not in status["message"]


def test_a_malformed_protobuf_body_is_a_bad_request_naming_protobuf(sim: SimServer) -> None:
    code, _, raw = http(
        sim,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        b"k8s\x00\x0a\xff",
        Content_Type=PB,
        Accept="application/json",
    )
    status = json.loads(raw)
    assert code == 400 and "protobuf" in status["message"] and "JSON" not in status["message"]


def test_errors_are_a_protobuf_status_for_a_protobuf_only_client(sim: SimServer) -> None:
    code, ctype, raw = http(sim, "GET", "/api/v1/namespaces/default/configmaps/missing", Accept=PB)
    assert code == 404 and ctype == PB
    status = protobuf.decode(raw)
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "NotFound", 404)


def test_a_kind_without_protobuf_is_not_acceptable_to_a_protobuf_only_client(sim: SimServer) -> None:
    sim.apply_object(
        "c001",
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "names": {"kind": "Widget", "plural": "widgets"},
                "scope": "Namespaced",
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": {"type": "object"}},
                    }
                ],
            },
        },
    )
    code, _, raw = http(sim, "GET", "/apis/example.com/v1/namespaces/default/widgets", Accept=PB)
    assert code == 406 and b"NotAcceptable" in raw
    code, ctype, _ = http(
        sim, "GET", "/apis/example.com/v1/namespaces/default/widgets", Accept=f"{PB},application/json"
    )
    assert code == 200 and ctype.startswith("application/json")


def test_events_k8s_io_serves_core_events_under_their_new_names(sim: SimServer) -> None:
    sim.apply_object("c001", configmap("noted"))
    code, _, raw = http(
        sim,
        "POST",
        "/apis/events.k8s.io/v1/namespaces/default/events",
        json.dumps(
            {
                "apiVersion": "events.k8s.io/v1",
                "kind": "Event",
                "metadata": {"name": "noted.1", "namespace": "default"},
                "eventTime": "2026-01-01T00:00:00.000001Z",
                "reportingController": "example.com/tool",
                "reportingInstance": "tool-1",
                "action": "Check",
                "reason": "Checked",
                "note": "all good",
                "type": "Normal",
                "regarding": {"kind": "ConfigMap", "namespace": "default", "name": "noted"},
            }
        ).encode(),
        Content_Type="application/json",
    )
    assert code == 201
    core = sim.get_object("c001", "v1", "Event", "default", "noted.1")
    assert core["message"] == "all good" and core["involvedObject"]["name"] == "noted"
    assert core["reportingComponent"] == "example.com/tool"
    code, ctype, raw = http(
        sim,
        "GET",
        "/apis/events.k8s.io/v1/namespaces/default/events?fieldSelector=regarding.name%3Dnoted",
        Accept=PB,
    )
    (event,) = protobuf.decode(raw)["items"]
    assert ctype == PB and event["note"] == "all good" and event["eventTime"] == "2026-01-01T00:00:00.000001Z"
