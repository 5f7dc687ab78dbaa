"""A metadata-only LIST asks for ``PartialObjectMetadataList`` in protobuf first, as client-go's
metadata client does, and the client reads the answer (``fleet.clusters.kubeproto``) as exactly
the metadata the server's JSON answer carries: every kind, custom resources too, with owners,
finalizers and deletion timestamps (issue 15). The decoder reads managedFields too; the client's
metadata LIST leaves them out (nothing reads them there, and they were most of its decoding)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from fleet.clusters import client, kubeproto
from fleet.clusters.sim import SimServer
from tests.conftest import REPO_ROOT
from tests.test_sim_controllers import deployment, wait_for

JSON_METADATA = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
PROTOBUF_METADATA = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
CRD, WIDGET = yaml.safe_load_all((REPO_ROOT / "tests" / "data" / "sim" / "crd.yaml").read_text())


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(1, rollout_seconds=0.05) as server:
        server.apply_object(
            "c001",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "settings",
                    "namespace": "default",
                    "labels": {"app": "web", "tier": "front"},
                    "annotations": {"note": 'ünïcode and "quotes"', "empty": ""},
                },
                "data": {"payload": "x" * 5000},
            },
        )
        # Held by a finalizer after its delete: deletionTimestamp, deletionGracePeriodSeconds, finalizers.
        server.apply_object(
            "c001",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "held", "namespace": "default", "finalizers": ["example.com/hold"]},
            },
        )
        server.delete_object("c001", "v1", "ConfigMap", "default", "held")
        # A controller's objects: ReplicaSets with owner references, status managedFields entries.
        server.apply_object("c001", deployment("web", replicas=1))
        wait_for(
            lambda: server.get_object("c001", "apps/v1", "Deployment", "default", "web"),
            lambda d: (d.get("status") or {}).get("availableReplicas") == 1,
        )
        server.apply_object("c001", CRD)
        wait_for(
            lambda: server.objects("c001", kind="CustomResourceDefinition"),
            lambda crds: any(
                c.get("type") == "Established" and c.get("status") == "True"
                for crd in crds
                for c in (crd.get("status") or {}).get("conditions") or []
            ),
        )
        server.apply_object("c001", WIDGET)
        yield server


def raw_answer(sim: SimServer, path: str, accept: str) -> bytes:
    request = urllib.request.Request(
        f"{sim.url_for('c001')}{path}",
        headers={"Accept": accept, "Authorization": f"Bearer {sim.token_for('c001')}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body: bytes = response.read()
    return body


def json_metadata(sim: SimServer, path: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(raw_answer(sim, path, JSON_METADATA))
    return body


def without_managed_fields(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k != "managedFields"}


CASES = [
    ("v1", "ConfigMap", "default", "/api/v1/namespaces/default/configmaps"),
    ("apps/v1", "ReplicaSet", None, "/apis/apps/v1/replicasets"),
    ("apps/v1", "Deployment", "default", "/apis/apps/v1/namespaces/default/deployments"),
    ("v1", "Pod", None, "/api/v1/pods"),
    ("v1", "Namespace", None, "/api/v1/namespaces"),
    ("example.com/v1", "Widget", "default", "/apis/example.com/v1/namespaces/default/widgets"),
]


@pytest.mark.parametrize(("api_version", "kind", "namespace", "path"), CASES, ids=[c[1] for c in CASES])
def test_a_metadata_list_in_protobuf_reads_as_the_servers_json_metadata(
    sim: SimServer, api_version: str, kind: str, namespace: str | None, path: str
) -> None:
    api = client.connect(sim.clusters()[0])
    try:
        sim.reset_counts()
        items, rv = api.list(api_version, kind, namespace=namespace, metadata_only=True)
        answered = sim.request_counts("c001")["answers"]
    finally:
        api.close()
    assert {form: seen["count"] for form, seen in answered["list"].items()} == {"metadata/protobuf": 1}
    expected = json_metadata(sim, path)
    assert items and rv == expected["metadata"]["resourceVersion"]
    assert [i["metadata"] for i in items] == [
        without_managed_fields(i["metadata"]) for i in expected["items"]
    ]
    # The decoder itself reads managedFields as the JSON answer has them.
    decoded = kubeproto.decode_metadata(raw_answer(sim, path, PROTOBUF_METADATA))
    assert [i["metadata"] for i in decoded["items"]] == [i["metadata"] for i in expected["items"]]
    assert all(
        (i["apiVersion"], i["kind"]) == (api_version, kind) and set(i) == {"apiVersion", "kind", "metadata"}
        for i in items
    )


def test_the_protobuf_answer_carries_what_the_json_one_does_in_fewer_bytes(sim: SimServer) -> None:
    api = client.connect(sim.clusters()[0])
    try:
        sim.reset_counts()
        api.list("v1", "ConfigMap", namespace="default", metadata_only=True)
        json_metadata(sim, "/api/v1/namespaces/default/configmaps")
        api.list("v1", "ConfigMap", namespace="default")
    finally:
        api.close()
    sent = {form: seen["bytes"] for form, seen in sim.request_counts("c001")["answers"]["list"].items()}
    assert sent["metadata/protobuf"] < sent["metadata/json"] < sent["object/json"]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"kind":"PartialObjectMetadataList"}', "prefix"),
        (b"k8s\x00\x0a\x05\x0a\x01v\x12\x00", "expected meta.k8s.io/v1"),
        (b"k8s\x00\xff\xff\xff", "malformed"),
    ],
    ids=["json-body", "another-kind", "truncated"],
)
def test_an_answer_that_is_not_protobuf_metadata_is_refused_saying_why(body: bytes, why: str) -> None:
    with pytest.raises(kubeproto.ProtobufError, match=why):
        kubeproto.decode_metadata(body)
