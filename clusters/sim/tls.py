"""TLS for the simulator: a throw-away CA and a serving certificate for the loopback addresses.

kubectl (client-go) sends a kubeconfig's credentials only over TLS, so the token-protected
simulator needs HTTPS for kubectl; the Python client sends them over plain HTTP too. The CA is
generated per server (or restored from the state file, so written kubeconfigs stay valid) with
``cryptography``; kubeconfigs and cluster Secrets carry it as ``certificate-authority-data``.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_DAYS = 3650


@dataclass(frozen=True)
class Material:
    ca_cert: str  # PEM
    ca_key: str  # PEM
    cert: str  # PEM, signed by the CA
    key: str  # PEM

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        # ssl wants files; they live only as long as loading takes.
        with tempfile.TemporaryDirectory() as tmp:
            cert_path, key_path = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
            cert_path.write_text(self.cert + self.ca_cert)
            key_path.write_text(self.key)
            key_path.chmod(0o600)
            context.load_cert_chain(cert_path, key_path)
        return context


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _builder(
    common_name: str, issuer: x509.Name | None, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    """A certificate for ``key`` valid from five minutes ago (clock skew) for _DAYS days; self-issued
    when ``issuer`` is None."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_DAYS))
    )


def new_ca() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder("fleet-sim-ca", None, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return _cert_pem(cert), _key_pem(key)


def material(ca_cert: str | None = None, ca_key: str | None = None, *, host: str = "127.0.0.1") -> Material:
    """A serving certificate for ``host``, localhost and the loopback addresses, from the given
    CA (or a new one)."""
    if not ca_cert or not ca_key:
        ca_cert, ca_key = new_ca()
    ca = x509.load_pem_x509_certificate(ca_cert.encode())
    signer = serialization.load_pem_private_key(ca_key.encode(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    try:
        address = ipaddress.ip_address(host)
        if x509.IPAddress(address) not in names:
            names.append(x509.IPAddress(address))
    except ValueError:
        if x509.DNSName(host) not in names:
            names.append(x509.DNSName(host))
    cert = (
        _builder("fleet-sim", ca.subject, key)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(signer, hashes.SHA256())  # type: ignore[arg-type]
    )
    return Material(ca_cert=ca_cert, ca_key=ca_key, cert=_cert_pem(cert), key=_key_pem(key))
