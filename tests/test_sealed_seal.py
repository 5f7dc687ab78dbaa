"""Seal builds the SealedSecret kubeseal would write (FORMATS.md B.3), and refuses bad input."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from fleet import errors
from fleet.secrets import sealed
from tests.fixtures.sealed import SEALED_DATA, KeyPair


def _secret(name: str) -> dict:
    return yaml.safe_load((SEALED_DATA / name).read_text())


def test_seal_copies_metadata_into_the_template_without_server_fields_owners_or_last_applied(
    sealing_key: KeyPair,
) -> None:
    out = sealed.seal_secret(_secret("secret-from-cluster.yaml"), sealing_key.cert)

    assert out["apiVersion"] == "bitnami.com/v1alpha1" and out["kind"] == "SealedSecret"
    assert out["metadata"] == {"name": "registry-creds", "namespace": "team-b"}
    assert out["spec"]["template"] == {
        "metadata": {
            "name": "registry-creds",
            "namespace": "team-b",
            "labels": {"app.kubernetes.io/name": "registry"},
            "annotations": {"team": "b"},
        },
        "type": "kubernetes.io/basic-auth",
        "immutable": True,
    }
    assert "p1aintext-leak" not in yaml.safe_dump(out)
    assert sorted(out["spec"]["encryptedData"]) == ["password", "username"]


def test_seal_does_not_modify_its_input(sealing_key: KeyPair) -> None:
    secret = _secret("secret-from-cluster.yaml")
    before = yaml.safe_dump(secret)
    sealed.seal_secret(secret, sealing_key.cert, scope=sealed.Scope.CLUSTER_WIDE)
    assert yaml.safe_dump(secret) == before


SCOPE_ANNOTATIONS = [
    (None, {}),
    (sealed.Scope.STRICT, {}),
    (sealed.Scope.NAMESPACE_WIDE, {"sealedsecrets.bitnami.com/namespace-wide": "true"}),
    (sealed.Scope.CLUSTER_WIDE, {"sealedsecrets.bitnami.com/cluster-wide": "true"}),
]


@pytest.mark.parametrize(
    "scope, annotations", SCOPE_ANNOTATIONS, ids=["default", "strict", "namespace-wide", "cluster-wide"]
)
def test_scope_annotations_go_on_the_sealed_secret_and_its_template(
    sealing_key: KeyPair, scope: sealed.Scope | None, annotations: dict
) -> None:
    out = sealed.seal_secret(_secret("secret-minimal.yaml"), sealing_key.cert, scope=scope)
    assert out["metadata"].get("annotations", {}) == annotations
    assert out["spec"]["template"]["metadata"].get("annotations", {}) == annotations


def test_a_scope_option_replaces_the_scope_the_secret_declares(sealing_key: KeyPair) -> None:
    secret = _secret("secret-minimal.yaml")
    secret["metadata"]["annotations"] = {"sealedsecrets.bitnami.com/cluster-wide": "true", "keep": "me"}
    out = sealed.seal_secret(secret, sealing_key.cert, scope=sealed.Scope.NAMESPACE_WIDE)
    assert out["spec"]["template"]["metadata"]["annotations"] == {
        "keep": "me",
        "sealedsecrets.bitnami.com/namespace-wide": "true",
    }


def test_cluster_wide_wins_when_a_secret_declares_both_scopes(sealing_key: KeyPair) -> None:
    secret = _secret("secret-no-namespace.yaml")
    secret["metadata"]["annotations"] = {
        "sealedsecrets.bitnami.com/cluster-wide": "true",
        "sealedsecrets.bitnami.com/namespace-wide": "true",
    }
    out = sealed.seal_secret(secret, sealing_key.cert)
    assert out["metadata"] == {
        "name": "no-namespace",
        "annotations": {"sealedsecrets.bitnami.com/cluster-wide": "true"},
    }


def test_an_empty_secret_is_refused_unless_allowed(sealing_key: KeyPair) -> None:
    with pytest.raises(errors.InputError, match="no data and no stringData"):
        sealed.seal_secret(_secret("secret-empty.yaml"), sealing_key.cert, where="secret-empty.yaml")
    out = sealed.seal_secret(_secret("secret-empty.yaml"), sealing_key.cert, allow_empty=True)
    assert out["spec"]["encryptedData"] == {}
    assert sealed.unseal(out, sealing_key.unseal_keys)["data"] == {}


def test_a_secret_without_namespace_needs_one_unless_cluster_wide(sealing_key: KeyPair) -> None:
    with pytest.raises(errors.InputError, match="field metadata.namespace: is missing; a strict Secret"):
        sealed.seal_secret(_secret("secret-no-namespace.yaml"), sealing_key.cert)
    out = sealed.seal_secret(_secret("secret-no-namespace.yaml"), sealing_key.cert, namespace="given")
    assert out["metadata"]["namespace"] == out["spec"]["template"]["metadata"]["namespace"] == "given"
    wide = sealed.seal_secret(
        _secret("secret-no-namespace.yaml"), sealing_key.cert, scope=sealed.Scope.CLUSTER_WIDE
    )
    assert "namespace" not in wide["metadata"]


BAD_INPUT = [
    (
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
        {},
        "expected a v1 Secret, got v1 ConfigMap",
    ),
    (
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"namespace": "a"}, "stringData": {"k": "v"}},
        {},
        "field metadata.name",
    ),
    (
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "x", "namespace": "a"},
            "data": {"k": "not base64!"},
        },
        {},
        "field data.k: is not valid base64",
    ),
    (
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "x", "namespace": "a"},
            "stringData": {"port": 5432},
        },
        {},
        "field stringData.port: must be a string",
    ),
    (
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "x", "namespace": "a"},
            "stringData": {"k": "v"},
        },
        {"namespace": "b"},
        "field metadata.namespace: is 'a' in the manifest but 'b' was asked for",
    ),
]


@pytest.mark.parametrize(
    "secret, options, message",
    BAD_INPUT,
    ids=["not-a-secret", "no-name", "bad-base64", "number-in-stringData", "namespace-conflict"],
)
def test_bad_input_is_refused_with_the_file_object_and_field(
    sealing_key: KeyPair, secret: dict, options: dict, message: str
) -> None:
    with pytest.raises(errors.InputError, match=message) as caught:
        sealed.seal_secret(secret, sealing_key.cert, where="in.yaml", **options)
    assert str(caught.value).startswith("in.yaml")


def test_sealing_with_the_kubeseal_test_certificate_works(sealed_vectors: Path) -> None:
    cert = sealed.certificate_from_file(sealed_vectors / "kubeseal_test_cert.pem")
    modulus = int((sealed_vectors / "kubeseal_test_cert.modulus.txt").read_text().strip())
    numbers = cert.public_key().public_numbers()
    assert (numbers.n, numbers.e, cert.key_bits) == (modulus, 65537, 4096)

    out = sealed.seal_secret(_secret("secret-minimal.yaml"), cert)

    blob = base64.b64decode(out["spec"]["encryptedData"]["api-key"])
    # uint16 length 512, the RSA part, then AES-GCM: plaintext plus a 16-byte tag.
    assert blob[:2] == b"\x02\x00" and len(blob) == 2 + 512 + len("key-0123456789") + 16


def test_a_2048_bit_key_gives_the_0100_length_prefix(sealing_key: KeyPair) -> None:
    value = sealed.seal_raw("x", sealing_key.cert, scope=sealed.Scope.CLUSTER_WIDE)
    assert value.startswith("AQ") and base64.b64decode(value)[:2] == b"\x01\x00"


def test_every_item_is_sealed_separately_with_fresh_randomness(sealing_key: KeyPair) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "x", "namespace": "a"},
        "stringData": {"a": "same", "b": "same"},
    }
    out = sealed.seal_secret(secret, sealing_key.cert)
    again = sealed.seal_secret(secret, sealing_key.cert)
    values = [
        out["spec"]["encryptedData"]["a"],
        out["spec"]["encryptedData"]["b"],
        again["spec"]["encryptedData"]["a"],
    ]
    assert len(set(values)) == 3


RAW_REQUIREMENTS = [
    (sealed.Scope.STRICT, {"namespace": "a"}, "a name is required"),
    (sealed.Scope.STRICT, {"name": "x"}, "a namespace is required"),
    (sealed.Scope.NAMESPACE_WIDE, {"name": "x"}, "a namespace is required"),
]


@pytest.mark.parametrize(
    "scope, where, message",
    RAW_REQUIREMENTS,
    ids=["strict-no-name", "strict-no-namespace", "namespace-wide-no-namespace"],
)
def test_raw_mode_needs_what_the_scope_binds_to(
    sealing_key: KeyPair, scope: sealed.Scope, where: dict, message: str
) -> None:
    with pytest.raises(errors.InputError, match=message):
        sealed.seal_raw("v", sealing_key.cert, scope=scope, **where)


def test_raw_mode_value_opens_as_an_encrypted_data_item_of_that_sealed_secret(sealing_key: KeyPair) -> None:
    value = sealed.seal_raw(b"\x00raw\xff", sealing_key.cert, namespace="apps", name="db")
    sealed_secret = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "db", "namespace": "apps"},
        "spec": {"encryptedData": {"blob": value}},
    }
    secret = sealed.unseal(sealed_secret, sealing_key.unseal_keys)
    assert base64.b64decode(secret["data"]["blob"]) == b"\x00raw\xff"
