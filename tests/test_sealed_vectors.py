"""Interop: every shared Sealed Secrets vector unseals to its expected Secret (FORMATS.md B).

The vectors were sealed by an independent implementation (@linode/kubeseal-encrypt) with key A;
the key is read both as the controller stores it (PEM PKCS#1) and as its sealing-key Secret.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from fleet.secrets import sealed

VECTORS = ["strict_default_mysecret", "namespace_wide_team_a", "cluster_wide_global_token"]
KEY_FORMS = ["keys/sealing_key_a.key", "keys/sealing_key_a.secret.yaml"]


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("key_file", KEY_FORMS, ids=["pem-key", "sealing-key-secret"])
@pytest.mark.parametrize("vector", VECTORS)
def test_every_vector_unseals_to_its_expected_secret(
    sealed_vectors: Path, vector: str, key_file: str
) -> None:
    keys = sealed.load_private_keys_file(sealed_vectors / key_file)
    sealed_secret = _load(sealed_vectors / f"{vector}.sealedsecret.yaml")

    secret = sealed.unseal(sealed_secret, keys, where=vector)

    owner = secret["metadata"].pop("ownerReferences")
    assert owner == [
        {
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "name": secret["metadata"]["name"],
            "controller": True,
        }
    ]
    assert secret == _load(sealed_vectors / f"{vector}.expected-secret.yaml")


def _raw_entries(folder: Path) -> list[dict]:
    return json.loads((folder / "raw_vectors.json").read_text())


def test_every_raw_vector_behaves_as_its_expect_field_says(sealed_vectors: Path) -> None:
    entries = _raw_entries(sealed_vectors)
    assert len(entries) == 4 and sum(e["expect"] != "ok" for e in entries) == 1
    for entry in entries:
        keys = sealed.load_private_keys_file(sealed_vectors / "keys" / f"{entry['key']}.key")
        assert (
            sealed.encryption_label(entry["namespace"], entry["name"], sealed.Scope(entry["scope"]))
            == entry["label"].encode()
        )
        call = {"scope": sealed.Scope(entry["scope"]), "namespace": entry["namespace"], "name": entry["name"]}
        if entry["expect"] == "ok":
            assert (
                sealed.unseal_raw(entry["ciphertext_b64"], keys, **call).decode() == entry["plaintext_utf8"]
            )
        else:
            with pytest.raises(sealed.LabelMismatchError, match="label mismatch") as caught:
                sealed.unseal_raw(entry["ciphertext_b64"], keys, **call)
            assert "default/othername" in str(caught.value)


def test_vector_ciphertexts_carry_the_4096_bit_length_prefix(sealed_vectors: Path) -> None:
    for vector in VECTORS:
        for value in _load(sealed_vectors / f"{vector}.sealedsecret.yaml")["spec"]["encryptedData"].values():
            assert value.startswith("Ag") and base64.b64decode(value)[:2] == b"\x02\x00"


def test_vector_key_a_pem_and_secret_forms_are_the_same_key(sealed_vectors: Path) -> None:
    (pem,) = sealed.load_private_keys_file(sealed_vectors / "keys" / "sealing_key_a.key")
    (from_secret,) = sealed.load_private_keys_file(sealed_vectors / "keys" / "sealing_key_a.secret.yaml")
    cert = sealed.certificate_from_file(sealed_vectors / "keys" / "sealing_key_a.crt")
    assert pem.fingerprint == from_secret.fingerprint == cert.fingerprint
    assert from_secret.name == "Secret kube-system/sealed-secrets-keyaaaaa"
