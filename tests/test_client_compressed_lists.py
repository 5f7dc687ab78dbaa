"""Big answers come gzipped, as the API server sends them: the client accepts gzip on GETs and
LISTs (as Go's transport does for every client-go client), the simulator compresses an answer over
128 KiB at level 1 as kube-apiserver does, and the client reads it as if it were plain. Smaller
answers, and clients that do not accept gzip, get the plain bytes (issue 15: bytes on the wire)."""

from __future__ import annotations

import gzip
import json
import urllib.request
from collections.abc import Iterator

import pytest

from fleet.clusters import client
from fleet.clusters.sim import SimServer

NAMESPACE = "big"
OBJECTS = 60  # x 3 KB of data: a LIST of about 190 KB, over the API server's 128 KiB threshold


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(1, rollout_seconds=0.05) as server:
        server.apply_object(
            "c001", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        )
        for i in range(OBJECTS):
            server.apply_object(
                "c001",
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"cm{i:03d}", "namespace": NAMESPACE},
                    "data": {"config": f"line {i}\n" * 400},
                },
            )
        server.apply_object(
            "c001",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "small", "namespace": "default"}},
        )
        yield server


def plain(sim: SimServer, path: str, encoding: str | None) -> tuple[bytes, str | None]:
    headers = {"Authorization": f"Bearer {sim.token_for('c001')}"}
    if encoding:
        headers["Accept-Encoding"] = encoding
    request = urllib.request.Request(f"{sim.url_for('c001')}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read(), response.headers.get("Content-Encoding")


def sent(sim: SimServer) -> dict[str, int]:
    answers = sim.request_counts("c001")["answers"]["list"]
    return {form: seen["bytes"] for form, seen in answers.items()}


def test_a_big_list_comes_gzipped_and_reads_as_the_plain_one(sim: SimServer) -> None:
    path = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
    raw, encoding = plain(sim, path, None)
    assert encoding is None and len(raw) > 128 * 1024
    api = client.connect(sim.clusters()[0])
    try:
        sim.reset_counts()
        items, _ = api.list("v1", "ConfigMap", namespace=NAMESPACE)
    finally:
        api.close()
    assert [i["data"] for i in items] == [i["data"] for i in json.loads(raw)["items"]]
    assert 0 < sent(sim)["object/json"] < len(raw) / 5  # counted as sent: compressed


@pytest.mark.parametrize(
    ("path", "encoding", "compressed"),
    [
        (f"/api/v1/namespaces/{NAMESPACE}/configmaps", "gzip", True),
        (f"/api/v1/namespaces/{NAMESPACE}/configmaps", "gzip;q=0, identity", False),
        (f"/api/v1/namespaces/{NAMESPACE}/configmaps", "br", False),
        ("/api/v1/namespaces/default/configmaps", "gzip", False),
    ],
    ids=["big-list-gzip", "gzip-refused", "other-coding", "small-list"],
)
def test_only_an_answer_over_128_kib_to_a_client_that_takes_gzip_is_compressed(
    sim: SimServer, path: str, encoding: str, compressed: bool
) -> None:
    body, content_encoding = plain(sim, path, encoding)
    reference, _ = plain(sim, path, None)
    assert (content_encoding == "gzip") is compressed
    assert (gzip.decompress(body) if compressed else body) == reference
