"""Vault over HTTPS: the server certificate is verified against ``VAULT_CACERT`` (or ``?ca_cert=``),
an unknown certificate fails clearly, and ``VAULT_SKIP_VERIFY`` turns verification off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet.clusters.sim import tls
from fleet.secrets import providers, resolver
from tests.servers.vault_server import VaultServer

REF = "ref+vault://secret/data/app/db#/password"


def _certificate(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate it signed for 127.0.0.1 (the simulator's throw-away PKI)."""
    pki = tls.material()
    ca, cert, key = directory / "ca.crt", directory / "vault.crt", directory / "vault.key"
    ca.write_text(pki.ca_cert)
    cert.write_text(pki.cert)
    key.write_text(pki.key)
    return ca, cert, key


@pytest.fixture
def tls_vault(
    vault_env: VaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[VaultServer, Path]]:
    ca, cert, key = _certificate(tmp_path)
    server = VaultServer(tls_cert=str(cert), tls_key=str(key)).start()
    server.put_secret("secret", "app/db", {"password": "tls-pw"})
    monkeypatch.setenv("VAULT_ADDR", server.url)
    try:
        yield server, ca
    finally:
        server.stop()


def resolve(text: str = REF) -> str:
    return resolver.Resolver().for_cluster(None).resolve_string(text)


def test_the_certificate_is_verified_against_vault_cacert(
    tls_vault: tuple[VaultServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, ca = tls_vault
    assert server.url.startswith("https://")
    monkeypatch.setenv("VAULT_CACERT", str(ca))
    assert resolve() == "tls-pw"


def test_the_ca_can_be_named_in_the_reference(tls_vault: tuple[VaultServer, Path]) -> None:
    _, ca = tls_vault
    assert resolve(f"ref+vault://secret/data/app/db?ca_cert={ca}#/password") == "tls-pw"


def test_an_unknown_certificate_fails_as_a_tls_error(tls_vault: tuple[VaultServer, Path]) -> None:
    with pytest.raises(providers.ProviderError, match="TLS verification"):
        resolve()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # asked for by the test
def test_skip_verify_turns_verification_off(
    tls_vault: tuple[VaultServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_SKIP_VERIFY", "true")
    assert resolve() == "tls-pw"
