"""Unseal produces the Secret the controller would create (FORMATS.md B.4), or says clearly why not."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from fleet import errors, redact
from fleet.secrets import sealed
from fleet.secrets.sealed import crypto
from tests.fixtures.sealed import KeyPair


def _sealed(pair: KeyPair, values: dict[str, str], *, template: dict | None = None, **meta: Any) -> dict:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "apps", **meta},
        "stringData": values,
    }
    out = sealed.seal_secret(secret, pair.cert)
    if template:
        out["spec"]["template"].update(template)
    return out


def test_every_key_is_tried_on_every_item(sealing_key: KeyPair, other_sealing_key: KeyPair) -> None:
    # After a key rotation one SealedSecret can hold items sealed with the old and the new key.
    old = _sealed(sealing_key, {"a": "sealed-with-old"})
    new = _sealed(other_sealing_key, {"b": "sealed-with-new"})
    old["spec"]["encryptedData"].update(new["spec"]["encryptedData"])
    keys = [*other_sealing_key.unseal_keys, *sealing_key.unseal_keys]

    secret = sealed.unseal(old, keys)

    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {
        "a": "sealed-with-old",
        "b": "sealed-with-new",
    }


def test_a_value_sealed_for_another_key_names_the_item_and_no_value(
    sealing_key: KeyPair, other_sealing_key: KeyPair
) -> None:
    out = _sealed(sealing_key, {"password": "only-for-key-one", "user": "admin-user"})
    with pytest.raises(sealed.NoKeyError) as caught:
        sealed.unseal(out, other_sealing_key.unseal_keys)
    assert not isinstance(caught.value, sealed.LabelMismatchError)
    message = str(caught.value)
    assert message.startswith("SealedSecret apps/db: no key could decrypt items 'password', 'user'")
    assert "another controller key" in message and "only-for-key-one" not in message
    assert caught.value.exit_code == errors.ExitCode.FAILED


def test_tampered_data_is_reported_as_corrupt(sealing_key: KeyPair) -> None:
    out = _sealed(sealing_key, {"k": "value-to-tamper"})
    blob = bytearray(base64.b64decode(out["spec"]["encryptedData"]["k"]))
    blob[-1] ^= 0x01
    out["spec"]["encryptedData"]["k"] = base64.b64encode(bytes(blob)).decode()
    with pytest.raises(sealed.CorruptDataError, match="item 'k': .* the AES-GCM tag did not verify"):
        sealed.unseal(out, sealing_key.unseal_keys)


TOO_SHORT = [b"", b"\x01", b"\x02\x00" + b"x" * 10]


@pytest.mark.parametrize("blob", TOO_SHORT, ids=["empty", "one-byte", "prefix-longer-than-data"])
def test_truncated_data_is_too_short(sealing_key: KeyPair, blob: bytes) -> None:
    out = _sealed(sealing_key, {"k": "v"})
    out["spec"]["encryptedData"]["k"] = base64.b64encode(blob).decode()
    with pytest.raises(
        errors.InputError,
        match="SealedSecret apps/db: field spec.encryptedData.k: SealedSecret data is too short",
    ):
        sealed.unseal(out, sealing_key.unseal_keys, where="s.yaml")


def test_data_that_is_not_base64_is_bad_input(sealing_key: KeyPair) -> None:
    out = _sealed(sealing_key, {"k": "v"})
    out["spec"]["encryptedData"]["k"] = "%%%"
    with pytest.raises(errors.InputError, match="field spec.encryptedData.k: is not valid base64"):
        sealed.unseal(out, sealing_key.unseal_keys)


def test_the_secret_takes_template_metadata_type_and_immutable_with_name_and_namespace_forced(
    sealing_key: KeyPair,
) -> None:
    out = _sealed(sealing_key, {"k": "v"}, labels={"app": "db"})
    out["spec"]["template"]["metadata"].update(name="ignored", namespace="ignored-too")
    out["spec"]["template"].update(type="kubernetes.io/basic-auth", immutable=True)
    out["metadata"]["uid"] = "5f0c-uid"

    secret = sealed.unseal(out, sealing_key.unseal_keys)

    assert secret["metadata"] == {
        "name": "db",
        "namespace": "apps",
        "labels": {"app": "db"},
        "ownerReferences": [
            {
                "apiVersion": "bitnami.com/v1alpha1",
                "kind": "SealedSecret",
                "name": "db",
                "uid": "5f0c-uid",
                "controller": True,
            }
        ],
    }
    assert secret["type"] == "kubernetes.io/basic-auth" and secret["immutable"] is True


def test_the_skip_owner_references_annotation_leaves_the_secret_unowned(sealing_key: KeyPair) -> None:
    out = _sealed(sealing_key, {"k": "v"}, annotations={sealed.SKIP_OWNER_REFERENCES_ANNOTATION: "true"})
    secret = sealed.unseal(out, sealing_key.unseal_keys)
    assert "ownerReferences" not in secret["metadata"]


def test_an_empty_template_type_becomes_opaque_as_the_api_server_defaults_it(sealing_key: KeyPair) -> None:
    assert sealed.unseal(_sealed(sealing_key, {"k": "v"}), sealing_key.unseal_keys)["type"] == "Opaque"


def _v1_sealed(pair: KeyPair, inner: dict, *, name: str = "legacy", namespace: str = "apps") -> dict:
    label = crypto.encryption_label(namespace, name, crypto.Scope.STRICT)
    blob = crypto.hybrid_encrypt(pair.cert.public_key(), json.dumps(inner).encode(), label)
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"data": base64.b64encode(blob).decode()},
    }


def test_the_deprecated_v1_data_format_unseals(sealing_key: KeyPair) -> None:
    inner = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "whatever", "namespace": "elsewhere", "labels": {"v": "1"}},
        "type": "Opaque",
        "data": {"token": base64.b64encode(b"legacy-token").decode()},
    }
    secret = sealed.unseal(_v1_sealed(sealing_key, inner), sealing_key.unseal_keys)
    assert secret["metadata"]["name"] == "legacy" and secret["metadata"]["namespace"] == "apps"
    assert secret["metadata"]["labels"] == {"v": "1"}
    assert base64.b64decode(secret["data"]["token"]) == b"legacy-token"


def test_the_v1_format_cannot_be_combined_with_encrypted_data(sealing_key: KeyPair) -> None:
    out = _v1_sealed(sealing_key, {"kind": "Secret"})
    out["spec"]["encryptedData"] = {"x": "AAAA"}
    with pytest.raises(errors.InputError, match="cannot be combined with the deprecated field spec.data"):
        sealed.unseal(out, sealing_key.unseal_keys)


def test_the_v1_format_is_pinned_by_its_label_too(sealing_key: KeyPair) -> None:
    out = _v1_sealed(sealing_key, {"kind": "Secret", "data": {}})
    out["metadata"]["name"] = "renamed"
    with pytest.raises(sealed.LabelMismatchError, match="no key could decrypt item 'spec.data'"):
        sealed.unseal(out, sealing_key.unseal_keys)


NOT_SEALED = [
    ({"apiVersion": "v1", "kind": "Secret"}, "expected a bitnami.com/v1alpha1 SealedSecret, got v1 Secret"),
    (
        {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"namespace": "a"}},
        "field metadata.name: is missing",
    ),
]


@pytest.mark.parametrize("obj, message", NOT_SEALED, ids=["a-secret", "no-name"])
def test_input_that_is_not_a_sealed_secret_is_refused(sealing_key: KeyPair, obj: dict, message: str) -> None:
    with pytest.raises(errors.InputError, match=message):
        sealed.unseal(obj, sealing_key.unseal_keys)


def test_unsealed_values_are_registered_for_masking(sealing_key: KeyPair) -> None:
    # sealed with the bare primitive, so nothing but unseal has seen the value
    plaintext = f"unseen-{uuid.uuid4().hex}"
    label = crypto.encryption_label("apps", "db", crypto.Scope.STRICT)
    blob = crypto.hybrid_encrypt(sealing_key.cert.public_key(), plaintext.encode(), label)
    out = {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "db", "namespace": "apps"},
        "spec": {"encryptedData": {"k": base64.b64encode(blob).decode()}},
    }
    assert redact.mask(f"log: {plaintext}") == f"log: {plaintext}"
    sealed.unseal(out, sealing_key.unseal_keys)
    assert redact.mask(f"log: {plaintext}") == "log: ***"
