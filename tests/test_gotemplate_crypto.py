"""Sprig's cryptographic functions produce values that interoperate with Go's.

Random output cannot be compared with Helm's directly, so each check crosses over: what
fleet encrypts, Helm's Go engine decrypts (and the reverse); certificates fleet generates are
valid, correctly signed, and accepted by Go's buildCustomCert; bcrypt hashes verify.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import bcrypt as bcrypt_lib
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding

from fleet import gotemplate
from tests.fixtures import gotemplate_oracle


@pytest.fixture(scope="module")
def oracle() -> Iterator[gotemplate_oracle.HelmOracle]:
    if gotemplate_oracle.helm_python is None:
        pytest.skip("helm-python-sdk (import helm_python) is not installed: no Go oracle")
    helm = gotemplate_oracle.HelmOracle()
    yield helm
    helm.close()


def test_aes_ciphertext_made_by_fleet_is_decrypted_by_go(oracle: gotemplate_oracle.HelmOracle) -> None:
    ciphertext = gotemplate.render('{{ encryptAES "pass" "the plaintext" }}', {})
    outcome = oracle.render('{{ decryptAES "pass" .c }}', {"c": ciphertext})
    assert outcome.output == "the plaintext"


def test_aes_ciphertext_made_by_go_is_decrypted_by_fleet(oracle: gotemplate_oracle.HelmOracle) -> None:
    outcome = oracle.render('{{ encryptAES "a-very-long-password-longer-than-32-bytes!" "héllo" }}', {})
    assert outcome.output
    plain = gotemplate.render(
        '{{ decryptAES "a-very-long-password-longer-than-32-bytes!" .c }}', {"c": outcome.output}
    )
    assert plain == "héllo"


def test_bcrypt_hashes_from_fleet_and_go_verify_the_password(oracle: gotemplate_oracle.HelmOracle) -> None:
    ours = gotemplate.render('{{ bcrypt "s3cret" }}', {})
    theirs = oracle.render('{{ bcrypt "s3cret" }}', {}).output
    assert theirs is not None
    for hashed in (ours, theirs):
        assert bcrypt_lib.checkpw(b"s3cret", hashed.encode())
    user, _, hashed = gotemplate.render('{{ htpasswd "admin" "s3cret" }}', {}).partition(":")
    assert user == "admin" and bcrypt_lib.checkpw(b"s3cret", hashed.encode())


def test_signed_certificate_chains_to_its_ca_and_names_the_service() -> None:
    text = gotemplate.render(
        '{{ $ca := genCA "my-ca" 30 }}{{ $c := genSignedCert "svc" (list "10.0.0.1") (list "svc.ns.svc") 10 $ca }}'
        "{{ $ca.Cert }}|{{ $c.Cert }}|{{ $c.Key }}",
        {},
    )
    ca_pem, cert_pem, key_pem = text.split("|")
    ca = x509.load_pem_x509_certificate(ca_pem.encode())
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.issuer == ca.subject
    ca.public_key().verify(
        cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm
    )
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["svc.ns.svc"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["10.0.0.1"]
    assert key_pem.startswith("-----BEGIN RSA PRIVATE KEY-----")


def test_go_accepts_a_certificate_generated_by_fleet(oracle: gotemplate_oracle.HelmOracle) -> None:
    text = gotemplate.render(
        '{{ $c := genSelfSignedCert "web" nil (list "web.local") 5 }}{{ $c.Cert }}|{{ $c.Key }}', {}
    )
    cert, key = text.split("|")
    outcome = oracle.render(
        "{{ (buildCustomCert .c .k).Cert | trunc 27 }}",
        {"c": base64.b64encode(cert.encode()).decode(), "k": base64.b64encode(key.encode()).decode()},
    )
    assert outcome.output == "-----BEGIN CERTIFICATE-----"


def test_fleet_accepts_a_certificate_generated_by_go(oracle: gotemplate_oracle.HelmOracle) -> None:
    outcome = oracle.render('{{ $c := genCA "go-ca" 5 }}{{ $c.Cert | b64enc }}|{{ $c.Key | b64enc }}', {})
    assert outcome.output
    cert, key = outcome.output.split("|")
    rebuilt = gotemplate.render("{{ (buildCustomCert .c .k).Key | trunc 31 }}", {"c": cert, "k": key})
    assert rebuilt == "-----BEGIN RSA PRIVATE KEY-----"


def test_generated_private_keys_parse_as_pem() -> None:
    from cryptography.hazmat.primitives import serialization

    for key_type in ("ecdsa", "ed25519", "dsa"):
        pem = gotemplate.render("{{ genPrivateKey .t }}", {"t": key_type})
        serialization.load_pem_private_key(pem.encode(), password=None)
