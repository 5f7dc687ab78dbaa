"""Extension points of the simulator: a controller module and a service-proxy handler of one's own
(how a Sealed Secrets controller plugs in)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from fleet.clusters.sim import SimServer
from fleet.clusters.sim import controllers as ctl
from tests.test_sim_controllers import wait_for


class CopyToSecret:
    """Mirrors every ConfigMap labelled ``mirror=yes`` into a Secret it owns."""

    name = "test-mirror-controller"
    kinds = (("", "ConfigMap"),)

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        entry = ctx.entry("", "ConfigMap", ref[2], ref[3])
        if entry is None or (entry.obj["metadata"].get("labels") or {}).get("mirror") != "yes":
            return None
        data = {k: base64.b64encode(v.encode()).decode() for k, v in (entry.obj.get("data") or {}).items()}
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": entry.name,
                "namespace": entry.namespace,
                "ownerReferences": [ctl.owner_ref(entry.obj)],
            },
            "data": data,
        }
        ctx.apply(secret, manager=self.name)
        ctx.state(self.name)["mirrored"] = ctx.state(self.name).get("mirrored", 0) + 1
        return None


def _hello(ctx: ctl.Context, request: ctl.ProxyRequest) -> ctl.ProxyResponse:
    return ctl.ProxyResponse(body=f"{ctx.name} {request.method} {request.path}".encode())


@pytest.fixture
def extended(sim_factory: Callable[..., SimServer]) -> Iterator[SimServer]:
    ctl.register(CopyToSecret())
    ctl.register_service_proxy("tools", "hello", "http", _hello)
    try:
        yield sim_factory(2)
    finally:
        ctl.unregister(CopyToSecret.name)
        ctl.unregister_service_proxy("tools", "hello", "http")


def _core(sim: SimServer, name: str) -> client.CoreV1Api:
    configuration = client.Configuration()
    configuration.host = sim.url_for(name)
    configuration.api_key = {"authorization": f"Bearer {sim.token_for(name)}"}
    return client.CoreV1Api(client.ApiClient(configuration))


def test_a_registered_controller_reconciles_its_kind_and_writes_other_objects(extended: SimServer) -> None:
    core = _core(extended, "c001")
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "m", "labels": {"mirror": "yes"}}, "data": {"k": "v"}}
    )
    secret = wait_for(
        lambda: extended.get_object("c001", "v1", "Secret", "default", "m"), lambda s: s is not None
    )
    assert base64.b64decode(secret["data"]["k"]) == b"v"
    core.delete_namespaced_config_map("m", "default")
    wait_for(lambda: extended.get_object("c001", "v1", "Secret", "default", "m"), lambda s: s is None)


def test_the_service_proxy_routes_to_a_registered_handler(extended: SimServer) -> None:
    core = _core(extended, "c002")
    answer = core.connect_get_namespaced_service_proxy_with_path(
        "hello:http", "tools", "v1/cert.pem", _preload_content=False
    )
    assert answer.data == b"c002 GET /v1/cert.pem"
    with pytest.raises(ApiException) as caught:
        core.connect_get_namespaced_service_proxy_with_path("nobody:http", "tools", "x")
    assert caught.value.status == 503
