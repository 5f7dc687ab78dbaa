"""End to end on the simulator: per-cluster sealing keys, certificates fetched through the API
server's service proxy, SealedSecrets applied and unsealed by the simulated controller.

Each simulated cluster with the SealedSecret CRD runs its own controller with its own key, so a
SealedSecret sealed for one cluster opens there and fails (Synced=False) everywhere else.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml

from fleet import errors, models
from fleet.clusters import client as client_mod
from fleet.clusters.sim import server as sim_server
from fleet.clusters.sim.controllers import sealedsecrets as controller
from fleet.secrets import resolver as resolver_mod
from fleet.secrets import sealed

CLUSTERS = ["east", "west", "bare"]  # "bare" has no Sealed Secrets controller (no CRD)
SEALED_API = "bitnami.com/v1alpha1"


class Fleet:
    def __init__(self, server: sim_server.SimServer, kubeconfig: Path) -> None:
        self.server = server
        self.kubeconfig = kubeconfig
        self.clusters = {c.name: c for c in server.clusters()}
        self.clients = {name: client_mod.connect(c) for name, c in self.clusters.items()}

    def certificate(self, name: str) -> sealed.Certificate:
        """Fetch the cluster's certificate as kubeseal --fetch-cert does (service proxy)."""
        return sealed.certificate_for_cluster(self.clusters[name], client=self.clients[name])

    def sealed_secret(self, cluster: str, name: str, namespace: str = "default") -> dict[str, Any]:
        return self.clients[cluster].get(SEALED_API, "SealedSecret", name, namespace=namespace)

    def secret(self, cluster: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
        try:
            return self.clients[cluster].get("v1", "Secret", name, namespace=namespace)
        except client_mod.NotFound:
            return None


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with sim_server.SimServer(CLUSTERS) as server:
        kubeconfig = server.write_kubeconfig(tmp_path_factory.mktemp("sealed-sim") / "kubeconfig")
        world = Fleet(server, Path(kubeconfig))
        for name in ("east", "west"):
            world.clients[name].apply(controller.crd())
        yield world
        for api in world.clients.values():
            api.close()


def _wait(check: Callable[[], Any], *, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.05)


def _synced(fleet: Fleet, cluster: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
    """The Synced condition once the controller has observed the current generation."""
    obj = fleet.sealed_secret(cluster, name, namespace)
    status = obj.get("status") or {}
    if status.get("observedGeneration") != obj["metadata"].get("generation"):
        return None
    return next((c for c in status.get("conditions") or [] if c["type"] == "Synced"), None)


def _secret_doc(name: str, values: dict[str, str], namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": values,
    }


def _plain(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def test_each_cluster_serves_its_own_certificate_from_a_key_in_kube_system(fleet: Fleet) -> None:
    east, west = fleet.certificate("east"), fleet.certificate("west")
    assert east.fingerprint != west.fingerprint
    assert east.key_bits == controller.KEY_BITS == 2048
    keys, _ = fleet.clients["east"].list(
        "v1", "Secret", namespace="kube-system", label_selector=sealed.SEALING_KEY_LABEL
    )
    assert len(keys) == 1 and keys[0]["type"] == "kubernetes.io/tls"
    assert keys[0]["metadata"]["labels"][sealed.SEALING_KEY_LABEL] == "active"
    assert base64.b64decode(keys[0]["data"]["tls.crt"]) == east.pem
    assert fleet.certificate("east").fingerprint == east.fingerprint  # the same key on every fetch


def test_secrets_sealed_per_cluster_appear_with_each_clusters_values(fleet: Fleet) -> None:
    for name, value in (("east", "pw-for-east"), ("west", "pw-for-west")):
        doc = sealed.seal_secret(_secret_doc("per-cluster", {"password": value}), fleet.certificate(name))
        fleet.clients[name].apply(doc)
    for name, value in (("east", "pw-for-east"), ("west", "pw-for-west")):
        secret = _wait(lambda n=name: fleet.secret(n, "per-cluster"))
        assert _plain(secret) == {"password": value}
        owner = secret["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["controller"]) == ("SealedSecret", "per-cluster", True)
        assert owner["uid"] == fleet.sealed_secret(name, "per-cluster")["metadata"]["uid"]
        assert _wait(lambda n=name: _synced(fleet, n, "per-cluster"))["status"] == "True"


def test_a_sealed_secret_for_one_cluster_fails_on_another_with_synced_false(fleet: Fleet) -> None:
    doc = sealed.seal_secret(
        _secret_doc("east-only", {"token": "east-token-value"}), fleet.certificate("east")
    )
    fleet.clients["west"].apply(doc)
    condition = _wait(lambda: _synced(fleet, "west", "east-only"))
    assert condition["status"] == "False" and condition["reason"] == "ErrUnsealFailed"
    assert "no key could decrypt item 'token'" in condition["message"]
    assert fleet.secret("west", "east-only") is None


def test_fleet_mode_delivers_resolved_references_sealed_per_cluster(fleet: Fleet, tmp_path: Path) -> None:
    for name in ("east", "west"):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump({"db": {"password": f"resolved-{name}"}}))
    resolver = resolver_mod.Resolver(["file"], base_dir=tmp_path)
    rendered = _secret_doc("db", {"password": "ref+file://{{name}}.yaml#/db/password"})
    rendered["metadata"]["annotations"] = {sealed.DELIVER_AS_ANNOTATION: sealed.Delivery.SEALED_SECRET.value}
    assert sealed.wants_sealed_delivery(rendered)
    for name in ("east", "west"):
        doc = sealed.seal_for_cluster(
            rendered, cluster=fleet.clusters[name], cert=fleet.certificate(name), resolver=resolver
        )
        assert "resolved-" not in yaml.safe_dump(doc)
        fleet.clients[name].apply(doc)
    for name in ("east", "west"):
        assert _plain(_wait(lambda n=name: fleet.secret(n, "db"))) == {"password": f"resolved-{name}"}


def test_a_changed_sealed_secret_updates_its_secret(fleet: Fleet) -> None:
    cert = fleet.certificate("east")
    fleet.clients["east"].apply(sealed.seal_secret(_secret_doc("rotating", {"k": "first-value"}), cert))
    _wait(lambda: fleet.secret("east", "rotating"))
    changed = _secret_doc("rotating", {"k": "second-value", "extra": "added-item"})
    changed["metadata"]["labels"] = {"tier": "db"}
    fleet.clients["east"].apply(sealed.seal_secret(changed, cert))
    secret = _wait(lambda: (s := fleet.secret("east", "rotating")) and _plain(s)["k"] == "second-value" and s)
    assert _plain(secret) == {"k": "second-value", "extra": "added-item"}
    assert secret["metadata"]["labels"] == {"tier": "db"}


def test_an_existing_secret_is_taken_over_only_when_annotated_managed(fleet: Fleet) -> None:
    api = fleet.clients["east"]
    for name, extra in (("foreign", {}), ("handed-over", {controller.MANAGED_ANNOTATION: "true"})):
        plain = _secret_doc(name, {"k": "by-hand"})
        plain["metadata"]["annotations"] = extra
        api.apply(plain)
        api.apply(sealed.seal_secret(_secret_doc(name, {"k": "from-sealed"}), fleet.certificate("east")))
    refused = _wait(lambda: _synced(fleet, "east", "foreign"))
    assert refused["status"] == "False" and refused["reason"] == "ErrUpdateFailed"
    assert "already exists and is not managed by SealedSecret" in refused["message"]
    assert _plain(fleet.secret("east", "foreign")) == {"k": "by-hand"}
    assert _wait(lambda: _synced(fleet, "east", "handed-over"))["status"] == "True"
    assert _plain(fleet.secret("east", "handed-over")) == {"k": "from-sealed"}


def test_a_restored_key_opens_the_interop_vectors_and_retries_what_failed(
    fleet: Fleet, sealed_vectors: Path
) -> None:
    api = fleet.clients["west"]
    vector = yaml.safe_load((sealed_vectors / "strict_default_mysecret.sealedsecret.yaml").read_text())
    api.apply(vector)
    assert _wait(lambda: _synced(fleet, "west", "mysecret"))["status"] == "False"

    api.apply(yaml.safe_load((sealed_vectors / "keys" / "sealing_key_a.secret.yaml").read_text()))

    assert _wait(lambda: (c := _synced(fleet, "west", "mysecret")) and c["status"] == "True")
    secret = fleet.secret("west", "mysecret")
    expected = yaml.safe_load((sealed_vectors / "strict_default_mysecret.expected-secret.yaml").read_text())
    assert secret["data"] == expected["data"] and secret["type"] == expected["type"]
    # like the controller, the most recently created key Secret is the one it seals with now
    assert (
        fleet.certificate("west").fingerprint
        == sealed.certificate_from_file(sealed_vectors / "keys" / "sealing_key_a.crt").fingerprint
    )


def test_a_cluster_without_the_controller_has_no_certificate_to_fetch(fleet: Fleet) -> None:
    api = client_mod.connect(fleet.clusters["bare"], retries=0)
    with pytest.raises(client_mod.ServerError, match="cluster bare: get .*/v1/cert.pem failed: 503"):
        sealed.certificate_for_cluster(fleet.clusters["bare"], client=api)


def test_the_official_kubernetes_client_can_fetch_the_certificate_too(fleet: Fleet) -> None:
    api = kubernetes.config.new_client_from_config(str(fleet.kubeconfig), context="east")
    try:
        assert sealed.certificate_for_cluster(fleet.clusters["east"], client=api).fingerprint == (
            fleet.certificate("east").fingerprint
        )
    finally:
        api.close()
    bare = kubernetes.config.new_client_from_config(str(fleet.kubeconfig), context="bare")
    try:
        with pytest.raises(
            errors.FleetError, match="controller kube-system/sealed-secrets-controller did not answer"
        ):
            sealed.certificate_for_cluster(fleet.clusters["bare"], client=bare)
    finally:
        bare.close()


def test_seal_cli_fetches_the_certificate_of_a_kubeconfig_cluster(fleet: Fleet) -> None:
    from typer.testing import CliRunner

    from fleet.cli import app

    secret = yaml.safe_dump(_secret_doc("from-cli", {"k": "cli-sealed-value"}))
    result = CliRunner().invoke(
        app, ["secrets", "seal", "--cluster", "west", "--kubeconfig", str(fleet.kubeconfig)], input=secret
    )
    assert result.exit_code == 0, result.output
    fleet.clients["west"].apply(yaml.safe_load(result.stdout))
    assert _plain(_wait(lambda: fleet.secret("west", "from-cli"))) == {"k": "cli-sealed-value"}
    refused = CliRunner().invoke(
        app, ["secrets", "seal", "--cluster", "nowhere", "--kubeconfig", str(fleet.kubeconfig)], input=secret
    )
    assert refused.exit_code == 2 and "no cluster named 'nowhere'" in refused.stderr


def test_the_verify_endpoint_says_whether_a_sealed_secret_opens(fleet: Fleet) -> None:
    api = kubernetes.config.new_client_from_config(str(fleet.kubeconfig), context="east")
    good = sealed.seal_secret(_secret_doc("v", {"k": "verify-me"}), fleet.certificate("east"))
    bad = sealed.seal_secret(_secret_doc("v", {"k": "verify-me"}), fleet.certificate("west"))
    answers = []
    for doc in (good, bad):
        # kubeseal --validate POSTs the SealedSecret to the controller's /v1/verify
        try:
            api.call_api(
                "/api/v1/namespaces/kube-system/services/sealed-secrets-controller:http/proxy/v1/verify",
                "POST",
                header_params={"Content-Type": "application/json"},
                body=doc,
                auth_settings=["BearerToken"],
                _preload_content=False,
            )
            answers.append(200)
        except kubernetes.client.ApiException as exc:
            answers.append(exc.status)
    api.close()
    assert answers == [200, 409]


def test_certificates_in_the_registry_win_over_fetching(
    fleet: Fleet, tmp_path: Path, other_sealing_key: Any
) -> None:
    pinned = fleet.clusters["east"].model_copy(
        update={"annotations": {sealed.CERT_ANNOTATION: other_sealing_key.cert_pem.decode()}}
    )
    assert sealed.certificate_for_cluster(pinned).fingerprint == other_sealing_key.cert.fingerprint
    moved = models.Cluster(
        name="east",
        server=fleet.clusters["east"].server,
        annotations={sealed.CONTROLLER_ANNOTATION: "nowhere/none"},
        credentials=fleet.clusters["east"].credentials,
    )
    with pytest.raises(
        client_mod.ServerError, match="namespaces/nowhere/services/none:http/proxy/v1/cert.pem"
    ):
        sealed.certificate_for_cluster(moved, client=client_mod.connect(moved, retries=0))


def test_deleting_a_sealed_secret_deletes_the_secret_it_owns_but_not_a_foreign_one(fleet: Fleet) -> None:
    api = fleet.clients["east"]
    api.apply(sealed.seal_secret(_secret_doc("short-lived", {"k": "gone-soon"}), fleet.certificate("east")))
    _wait(lambda: fleet.secret("east", "short-lived"))
    api.delete(SEALED_API, "SealedSecret", "short-lived", namespace="default")
    _wait(lambda: fleet.secret("east", "short-lived") is None)

    api.apply(_secret_doc("not-owned", {"k": "by-hand"}))
    api.apply(sealed.seal_secret(_secret_doc("not-owned", {"k": "sealed"}), fleet.certificate("east")))
    assert _wait(lambda: _synced(fleet, "east", "not-owned"))["status"] == "False"  # not taken over
    api.delete(SEALED_API, "SealedSecret", "not-owned", namespace="default")
    # Every controller (the garbage collector among them) has handled the deletion: nothing is
    # pending, so a Secret still there now was left alone on purpose.
    assert fleet.server.wait_idle("east")
    assert _plain(fleet.secret("east", "not-owned")) == {"k": "by-hand"}
