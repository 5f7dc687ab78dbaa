"""Vault over HTTPS: the server certificate is verified against ``VAULT_CACERT`` (or ``?ca_cert=``),
an unknown certificate fails clearly, and ``VAULT_SKIP_VERIFY`` turns verification off."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fleet.secrets import providers, resolver
from fleet.testing.vault_server import VaultServer

REF = "ref+vault://secret/data/app/db#/password"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vault.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "vault.crt", directory / "vault.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_vault(
    vault_env: VaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[VaultServer, Path]]:
    cert, key = _self_signed(tmp_path)
    server = VaultServer(tls_cert=str(cert), tls_key=str(key)).start()
    server.put_secret("secret", "app/db", {"password": "tls-pw"})
    monkeypatch.setenv("VAULT_ADDR", server.url)
    try:
        yield server, cert
    finally:
        server.stop()


def resolve(text: str = REF) -> str:
    return resolver.Resolver().for_cluster(None).resolve_string(text)


def test_the_certificate_is_verified_against_vault_cacert(
    tls_vault: tuple[VaultServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert = tls_vault
    assert server.url.startswith("https://")
    monkeypatch.setenv("VAULT_CACERT", str(cert))
    assert resolve() == "tls-pw"


def test_the_ca_can_be_named_in_the_reference(tls_vault: tuple[VaultServer, Path]) -> None:
    _, cert = tls_vault
    assert resolve(f"ref+vault://secret/data/app/db?ca_cert={cert}#/password") == "tls-pw"


def test_an_unknown_certificate_fails_as_a_tls_error(tls_vault: tuple[VaultServer, Path]) -> None:
    with pytest.raises(providers.ProviderError, match="TLS verification"):
        resolve()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # asked for by the test
def test_skip_verify_turns_verification_off(
    tls_vault: tuple[VaultServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_SKIP_VERIFY", "true")
    assert resolve() == "tls-pw"
