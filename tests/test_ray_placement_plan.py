"""Where the Ray executor puts its worker actors (fleet.raynodes, pure): spread over the nodes by
their CPUs (a node without CPUs, like a KubeRay head started with --num-cpus=0, gets none unless
no node has any), pinned pools on every node with the resource, and the first matching pin wins."""

from __future__ import annotations

import pytest

from fleet import raynodes


def node(node_id: str, cpus: float, **resources: float) -> raynodes.Node:
    return raynodes.Node(node_id=node_id, cpus=cpus, resources={"CPU": cpus, **resources})


SPREAD_CASES = [
    ([node("a", 1), node("b", 1)], None, ["a", "b"]),
    ([node("b", 2), node("a", 1)], None, ["a", "b", "b"]),
    ([node("a", 2), node("b", 2)], 2, ["a", "b"]),
    ([node("a", 1), node("b", 1)], 5, ["a", "b", "a", "b", "a"]),
    ([node("head", 0), node("w1", 2)], None, ["w1", "w1"]),
    ([node("head", 0), node("w1", 0)], None, ["head", "w1"]),
    ([], None, []),
]


@pytest.mark.parametrize(
    "nodes, total, expected",
    SPREAD_CASES,
    ids=[
        "one-actor-per-cpu-on-each-node",
        "in-proportion-to-cpus",
        "a-set-number-dealt-round-robin",
        "more-actors-than-cpus-go-round-again",
        "a-head-without-cpus-gets-none",
        "no-cpus-anywhere-one-per-node",
        "no-nodes-no-actors",
    ],
)
def test_actors_are_spread_over_the_nodes_by_their_cpus(nodes, total, expected) -> None:
    assert raynodes.spread(nodes, total) == expected


def test_a_pinned_pool_has_actors_on_every_node_with_the_resource_and_no_other() -> None:
    nodes = [node("a", 2, **{"region-eu": 1}), node("b", 1), node("c", 0, **{"region-eu": 1})]
    assert raynodes.pinned(nodes, "region-eu") == ["a", "a", "c"]
    assert raynodes.pinned(nodes, "region-us") == []


def test_the_first_matching_pin_names_the_resource_and_other_clusters_go_anywhere() -> None:
    pins = raynodes.parse_pins(["region=eu,tier=db:eu-db", "region in (eu,uk):region-eu"])
    assert raynodes.resource_for({"region": "eu", "tier": "db"}, pins) == "eu-db"
    assert raynodes.resource_for({"region": "uk"}, pins) == "region-eu"
    assert raynodes.resource_for({"region": "us"}, pins) == ""
    assert [str(p) for p in pins] == ["region=eu,tier=db:eu-db", "region in (eu,uk):region-eu"]


def test_only_alive_nodes_are_read_from_ray() -> None:
    listing = [
        {"NodeID": "a", "Alive": True, "Resources": {"CPU": 2.0, "region-eu": 1.0}},
        {"NodeID": "b", "Alive": False, "Resources": {"CPU": 1.0}},
    ]
    assert raynodes.from_ray(listing) == [node("a", 2.0, **{"region-eu": 1.0})]
