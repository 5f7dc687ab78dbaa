"""Discovery against the simulator: kinds resolve to resources, cached, refreshed for new CRDs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fleet.clusters import client, discovery
from tests.fixtures.kubefake import SimTarget

OBJECTS = Path(__file__).parent / "data" / "clusters" / "objects"


def _load(name: str) -> dict:
    return yaml.safe_load((OBJECTS / name).read_text())


@pytest.mark.parametrize(
    "api_version, kind, plural, namespaced",
    [
        pytest.param("v1", "ConfigMap", "configmaps", True, id="core-namespaced"),
        pytest.param("v1", "Namespace", "namespaces", False, id="core-cluster-scoped"),
        pytest.param("apps/v1", "Deployment", "deployments", True, id="group-namespaced"),
        pytest.param(
            "rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", False, id="group-cluster-scoped"
        ),
        pytest.param(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            False,
            id="crd",
        ),
    ],
)
def test_kinds_resolve_to_their_resource(
    sim_target: SimTarget, api_version, kind, plural, namespaced
) -> None:
    api = sim_target.connect(discovery_cache=discovery.DiscoveryCache())
    resource = api.resource(api_version, kind)
    assert (resource.plural, resource.namespaced, resource.api_version) == (plural, namespaced, api_version)
    assert "get" in resource.verbs


def test_deployments_list_their_subresources(sim_target: SimTarget) -> None:
    api = sim_target.connect(discovery_cache=discovery.DiscoveryCache())
    assert "status" in api.resource("apps/v1", "Deployment").subresources


def test_discovery_is_fetched_once_per_group_version_and_shared_between_clients(
    sim_target: SimTarget,
) -> None:
    cache = discovery.DiscoveryCache()
    first = sim_target.connect(discovery_cache=cache)
    for _ in range(5):
        first.resource("apps/v1", "Deployment")
        first.resource("apps/v1", "StatefulSet")
        first.resource("v1", "ConfigMap")
    assert first.stats().by_verb == {"discovery": 2}
    second = sim_target.connect(discovery_cache=cache)
    second.resource("apps/v1", "Deployment")
    assert second.stats().requests == 0


def test_an_unknown_kind_raises_after_one_fresh_look(sim_target: SimTarget) -> None:
    api = sim_target.connect(discovery_cache=discovery.DiscoveryCache())
    with pytest.raises(client.UnknownKind, match=r"does not serve kind Gizmo in apps/v1"):
        api.resource("apps/v1", "Gizmo")
    with pytest.raises(client.UnknownKind):
        api.resource("nothing.example.com/v1", "Thing")
    # Asking again at once costs nothing: a missing kind is looked up at most every REFRESH_INTERVAL.
    before = api.stats().requests
    with pytest.raises(client.UnknownKind):
        api.resource("apps/v1", "Gizmo")
    assert api.stats().requests == before


def test_a_crd_applied_through_the_client_makes_its_kind_usable_at_once(sim_target: SimTarget) -> None:
    api = sim_target.connect(discovery_cache=discovery.DiscoveryCache())
    with pytest.raises(client.UnknownKind):
        api.resource("fleet.example.com/v1", "Widget")  # cached as unserved now
    api.apply(_load("crd-widgets.yaml"))
    widget = {
        "apiVersion": "fleet.example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": sim_target.namespace},
        "spec": {"size": 3},
    }
    applied = api.apply(widget)
    assert applied["spec"] == {"size": 3}
    assert api.get("fleet.example.com/v1", "Widget", "w1", sim_target.namespace)["spec"]["size"] == 3
    assert api.resource("fleet.example.com/v1", "Widget").namespaced


def test_full_discovery_lists_every_group_version(sim_target: SimTarget) -> None:
    api = sim_target.connect(discovery_cache=discovery.DiscoveryCache())
    kinds = {(r.api_version, r.kind) for r in api.resources()}
    assert {("v1", "Pod"), ("apps/v1", "Deployment"), ("batch/v1", "Job")} <= kinds
    groups = api.api_groups()
    assert groups[0] == "v1" and "apps/v1" in groups
    assert api.server_version()["gitVersion"].startswith("v1.")
