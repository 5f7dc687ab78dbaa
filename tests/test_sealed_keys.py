"""Key material: certificates are read as kubeseal reads them, private keys in every form the
controller's recovery mode accepts (FORMATS.md B.5)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fleet import errors, redact
from fleet.secrets import sealed
from fleet.secrets.sealed import keys
from tests.fixtures.sealed import KeyPair

UTC = dt.UTC


def _ec_certificate() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    now = dt.datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_an_expired_certificate_is_refused_with_its_not_after_date(tmp_path: Path) -> None:
    _, pem = keys.generate_sealing_key(
        bits=2048, now=dt.datetime(2020, 1, 1, tzinfo=UTC), ttl=dt.timedelta(days=30)
    )
    path = tmp_path / "old.pem"
    path.write_bytes(pem)
    with pytest.raises(
        errors.InputError, match=r"old.pem: the certificate expired on 2020-01-31 00:00:00 UTC \(NotAfter\)"
    ):
        sealed.certificate_from_file(path)


def test_expiry_is_judged_against_the_given_time(sealed_vectors: Path) -> None:
    path = sealed_vectors / "kubeseal_test_cert.pem"
    assert sealed.certificate_from_file(path, now=dt.datetime(2027, 6, 17, tzinfo=UTC)).not_after.year == 2027
    with pytest.raises(errors.InputError, match="expired on 2027-06-18"):
        sealed.certificate_from_file(path, now=dt.datetime(2027, 6, 19, tzinfo=UTC))


def test_the_first_certificate_of_a_bundle_is_used(sealing_key: KeyPair, other_sealing_key: KeyPair) -> None:
    bundle = b"# comment\n" + sealing_key.cert_pem + other_sealing_key.cert_pem
    cert = sealed.load_certificate(bundle, source="bundle.pem")
    assert cert.fingerprint == sealing_key.cert.fingerprint != other_sealing_key.cert.fingerprint


def test_the_generated_certificate_looks_like_the_controllers(sealing_key: KeyPair) -> None:
    cert = x509.load_pem_x509_certificate(sealing_key.cert_pem)
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.encipher_only
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.serial_number.bit_length() <= 128
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 3650


BAD_CERTS = [
    (b"", "holds no PEM CERTIFICATE"),
    (
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        r"holds no PEM CERTIFICATE \(found PUBLIC KEY\)",
    ),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "unreadable certificate"),
]


@pytest.mark.parametrize("data, message", BAD_CERTS, ids=["empty", "public-key-only", "garbage"])
def test_a_file_without_a_usable_certificate_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(errors.InputError, match=f"cert.pem: {message}"):
        sealed.load_certificate(data, source="cert.pem")


def test_a_non_rsa_certificate_is_refused() -> None:
    with pytest.raises(errors.InputError, match="needs an RSA key"):
        sealed.load_certificate(_ec_certificate(), source="ec.pem")


def _pkcs8(pair: KeyPair) -> bytes:
    return pair.unseal_keys[0].key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _key_forms(one: KeyPair, two: KeyPair) -> list[tuple[str, bytes, int]]:
    secret_one = yaml.safe_load(one.secret_yaml)
    secret_two = yaml.safe_load(two.secret_yaml)
    return [
        ("pkcs1-pem", keys.private_key_pem(one.unseal_keys[0].key), 1),
        ("pkcs8-pem", _pkcs8(one), 1),
        ("two-pem-blocks", keys.private_key_pem(one.unseal_keys[0].key) + _pkcs8(two), 2),
        ("secret-yaml", one.secret_yaml.encode(), 1),
        ("secret-json", json.dumps(secret_one).encode(), 1),
        ("yaml-stream", (one.secret_yaml + "---\n" + two.secret_yaml).encode(), 2),
        (
            "v1-list",
            yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [secret_one, secret_two]}).encode(),
            2,
        ),
        (
            "secret-list-json",
            json.dumps({"kind": "SecretList", "items": [secret_one, secret_two]}).encode(),
            2,
        ),
    ]


def test_private_keys_load_from_every_accepted_form(sealing_key: KeyPair, other_sealing_key: KeyPair) -> None:
    for form, data, count in _key_forms(sealing_key, other_sealing_key):
        loaded = sealed.load_private_keys(data, source=form)
        assert len(loaded) == count, form
        assert loaded[0].fingerprint == sealing_key.cert.fingerprint, form
        if count == 2:
            assert loaded[1].fingerprint == other_sealing_key.cert.fingerprint, form


def test_keys_loaded_from_secrets_are_named_after_them(sealing_key: KeyPair) -> None:
    (key,) = sealed.load_private_keys(sealing_key.secret_yaml, source="keys.yaml")
    assert key.name == "Secret kube-system/sealed-secrets-key-one"
    assert "PRIVATE" not in repr(key)


def test_loaded_private_keys_are_registered_for_masking(sealing_key: KeyPair) -> None:
    pem = keys.private_key_pem(sealing_key.unseal_keys[0].key).decode()
    sealed.load_private_keys(pem, source="k.pem")
    body_line = pem.splitlines()[5]
    assert redact.mask(f"oops {body_line}") == "oops ***"


BAD_KEYS = [
    ("empty.yaml", b"", "holds no private key and no Secret"),
    (
        "cm.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        "holds a ConfigMap; expected a sealing-key Secret",
    ),
    (
        "nokey.yaml",
        b"apiVersion: v1\nkind: Secret\nmetadata: {name: k, namespace: kube-system}\ndata: {tls.crt: AAAA}\n",
        "Secret kube-system/k: field data.tls.key: is missing",
    ),
    (
        "badb64.yaml",
        b"apiVersion: v1\nkind: Secret\nmetadata: {name: k}\ndata: {tls.key: '!!!'}\n",
        "Secret k: field data.tls.key: is not valid base64",
    ),
    (
        "garbage.pem",
        b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        "unreadable private key",
    ),
    ("list.yaml", b"- a\n- b\n", "neither a PEM private key nor a Secret"),
]


@pytest.mark.parametrize("source, data, message", BAD_KEYS, ids=[b[0] for b in BAD_KEYS])
def test_bad_key_input_is_refused_naming_the_file(source: str, data: bytes, message: str) -> None:
    with pytest.raises(errors.InputError, match=message) as caught:
        sealed.load_private_keys(data, source=source)
    assert str(caught.value).startswith(source)


def test_a_non_rsa_private_key_is_refused() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(errors.InputError, match="Sealed Secrets keys are RSA"):
        sealed.load_private_keys(pem, source="ec.key")


def test_the_sealing_key_secret_has_the_controllers_shape(sealing_key: KeyPair) -> None:
    secret = yaml.safe_load(sealing_key.secret_yaml)
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["metadata"]["labels"] == {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}
    assert base64.b64decode(secret["data"]["tls.key"]).startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert base64.b64decode(secret["data"]["tls.crt"]) == sealing_key.cert_pem
