"""TLS (CA data, client certificates, server name, insecure) and proxies, from the Cluster model.

The simulator speaks plain HTTP, so these run against the HTTPS fake in tests/fixtures/kubefake.py,
which requires a client certificate signed by a private test CA.
"""

from __future__ import annotations

import tempfile

import pytest

from fleet import models
from fleet.clusters import auth, client
from tests.fixtures.kubefake import FakeApi, Pki

VERSION = (200, {"gitVersion": "v1.31.0"}, {})


def _cluster(server: str, **creds) -> models.Cluster:
    return models.Cluster(name="tls", server=server, credentials=models.ClusterCredentials(**creds))


def test_client_certificate_and_ca_data_authenticate_over_tls(tls_api: FakeApi, pki: Pki) -> None:
    tls_api.default = VERSION
    api = client.connect(
        _cluster(
            tls_api.url,
            ca_data=pki.ca_pem,
            client_cert_data=pki.client_cert_pem,
            client_key_data=pki.client_key_pem,
        )
    )
    assert api.server_version()["gitVersion"] == "v1.31.0"


def test_key_material_is_loaded_from_memory_without_a_temporary_file(
    tls_api: FakeApi, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_files(*args, **kwargs):
        raise AssertionError("key material must not be written to a file")

    monkeypatch.setattr(tempfile, "mkstemp", no_files)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", no_files)
    tls_api.default = VERSION
    api = client.connect(
        _cluster(
            tls_api.url,
            ca_data=pki.ca_pem,
            client_cert_data=pki.client_cert_pem,
            client_key_data=pki.client_key_pem,
        )
    )
    assert api.server_version()["gitVersion"] == "v1.31.0"


def test_tls_server_name_overrides_the_host_for_verification(tls_api: FakeApi, pki: Pki) -> None:
    tls_api.default = VERSION
    by_localhost = tls_api.url.replace("127.0.0.1", "localhost")  # the certificate does not name localhost
    creds = {
        "ca_data": pki.ca_pem,
        "client_cert_data": pki.client_cert_pem,
        "client_key_data": pki.client_key_pem,
    }
    with pytest.raises(client.TLSFailure, match="cluster tls: TLS with https://localhost"):
        client.connect(_cluster(by_localhost, **creds), retries=0).server_version()
    api = client.connect(_cluster(by_localhost, server_name="api.fleet.test", **creds))
    assert api.server_version()["gitVersion"] == "v1.31.0"


def test_a_server_signed_by_another_ca_is_refused(tls_api: FakeApi, pki: Pki) -> None:
    tls_api.default = VERSION
    api = client.connect(
        _cluster(
            tls_api.url,
            ca_data=pki.other_ca_pem,
            client_cert_data=pki.client_cert_pem,
            client_key_data=pki.client_key_pem,
        ),
        retries=0,
    )
    with pytest.raises(client.TLSFailure, match="certificate verify failed"):
        api.server_version()
    assert tls_api.requests == []


def test_insecure_skips_server_verification(tls_api: FakeApi, pki: Pki) -> None:
    tls_api.default = VERSION
    api = client.connect(
        _cluster(
            tls_api.url,
            insecure=True,
            client_cert_data=pki.client_cert_pem,
            client_key_data=pki.client_key_pem,
        )
    )
    assert api.server_version()["gitVersion"] == "v1.31.0"


def test_without_a_client_certificate_the_server_turns_the_client_away(tls_api: FakeApi, pki: Pki) -> None:
    tls_api.default = VERSION
    api = client.connect(_cluster(tls_api.url, ca_data=pki.ca_pem), retries=1, backoff=0.01)
    # TLS 1.3 rejects the client after its handshake: it sees an alert, an EOF or a reset.
    with pytest.raises((client.TLSFailure, client.ClusterUnreachable)):
        api.server_version()
    assert tls_api.requests == []


@pytest.mark.parametrize(
    "creds, message",
    [
        pytest.param(
            {"ca_data": "-----BEGIN CERTIFICATE-----\nnonsense\n-----END CERTIFICATE-----\n"},
            "CA data",
            id="bad-ca",
        ),
        pytest.param(
            {
                "client_cert_data": "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
                "client_key_data": "k",
            },
            "client certificate or key",
            id="bad-cert",
        ),
        pytest.param({"client_key_data": "lonely-key-material"}, "needs both", id="key-without-cert"),
    ],
)
def test_unusable_tls_material_is_a_credential_error_without_the_material(creds: dict, message: str) -> None:
    with pytest.raises(auth.CredentialError, match=message) as info:
        client.connect(_cluster("https://127.0.0.1:6443", **creds))
    assert "lonely-key-material" not in str(info.value) and "nonsense" not in str(info.value)


def test_requests_go_through_the_proxy_url(fake_api: FakeApi) -> None:
    fake_api.default = VERSION
    api = client.connect(_cluster("http://cluster.fleet.invalid:6443/prefix", proxy_url=fake_api.url))
    assert api.server_version()["gitVersion"] == "v1.31.0"
    assert fake_api.requests[0].path == "http://cluster.fleet.invalid:6443/prefix/version"


@pytest.mark.parametrize(
    "creds, header",
    [
        pytest.param({"bearer_token": "static-token-1234"}, "Bearer static-token-1234", id="bearer"),
        pytest.param({"username": "admin", "password": "pa55word"}, "Basic YWRtaW46cGE1NXdvcmQ=", id="basic"),
        pytest.param({}, None, id="anonymous"),
    ],
)
def test_authorization_header_follows_the_credentials(
    fake_api: FakeApi, creds: dict, header: str | None
) -> None:
    fake_api.default = VERSION
    client.connect(_cluster(fake_api.url, **creds)).server_version()
    seen = fake_api.requests[0].headers
    assert seen.get("Authorization") == header
    assert seen["User-Agent"].startswith("fleet/")


@pytest.fixture(scope="module")
def tls_sim():
    from fleet.clusters.sim import SimServer

    with SimServer(2, tls=True) as server:
        yield server


def test_the_simulator_over_tls_works_from_its_kubeconfig(tls_sim, tmp_path) -> None:
    from fleet.clusters import registry

    reg = registry.load(kubeconfig_paths=tls_sim.write_kubeconfig(tmp_path / "kubeconfig"))
    for cluster in reg.clusters():
        assert cluster.server.startswith("https://") and cluster.credentials.ca_data
        api = client.connect(cluster)
        api.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "over-tls", "namespace": "default"},
                "data": {"a": "b"},
            }
        )
        assert api.get("v1", "ConfigMap", "over-tls", "default")["data"] == {"a": "b"}


def test_the_simulator_over_tls_is_refused_with_another_ca(tls_sim, pki: Pki) -> None:
    cluster = tls_sim.clusters()[0]
    wrong = cluster.model_copy(
        update={"credentials": cluster.credentials.model_copy(update={"ca_data": pki.other_ca_pem})}
    )
    with pytest.raises(client.TLSFailure, match="certificate verify failed"):
        client.connect(wrong, retries=0).server_version()
