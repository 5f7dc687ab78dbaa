"""Sealed Secrets key material: the controller's certificate (to seal) and private keys (to unseal).

Sealing needs only the public certificate, which kubeseal reads from a file or fetches from the
controller (see ``fleet.secrets.sealed.certs`` for the cluster side). Unsealing needs the
controller's private keys, which arrive as PEM (PKCS#1 or PKCS#8), as the controller's
``kubernetes.io/tls`` sealing-key Secret(s) in YAML or JSON, or as a ``v1.List`` of them
(FORMATS.md B.5). The simulated controller also generates keys here, shaped like the real ones.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from fleet import errors, kyaml, redact
from fleet.secrets.sealed import crypto

SEALING_KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
SEALING_KEY_ACTIVE = "active"  # label value of a key the controller uses to seal
SEALING_KEY_PREFIX = "sealed-secrets-key"  # the controller's generateName for key Secrets
DEFAULT_KEY_BITS = 4096  # the controller's --key-size default
DEFAULT_KEY_TTL = dt.timedelta(days=3650)  # the controller's --key-ttl default (10 years)

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)


@dataclass(frozen=True)
class Certificate:
    """A sealing certificate: the first certificate of a PEM bundle, RSA, not expired.

    Holds only PEM bytes and plain values, so it pickles across process (Ray) boundaries.
    """

    pem: bytes  # the first certificate only, PEM
    source: str  # where it came from, for messages: a path, a cluster annotation, a URL
    not_after: dt.datetime  # UTC
    fingerprint: str  # SSH SHA-256 fingerprint of the public key, as the controller names keys

    def public_key(self) -> rsa.RSAPublicKey:
        key = x509.load_pem_x509_certificate(self.pem).public_key()
        assert isinstance(key, rsa.RSAPublicKey)  # checked by load_certificate
        return key

    @property
    def key_bits(self) -> int:
        return self.public_key().key_size


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def load_certificate(data: bytes | str, *, source: str, now: dt.datetime | None = None) -> Certificate:
    """Parse a sealing certificate as kubeseal does: first certificate of the bundle, RSA only,
    refused once expired (NotAfter before ``now``). Errors name ``source``."""
    raw = data.encode() if isinstance(data, str) else data
    block = next((m.group(0) for m in _PEM_BLOCK.finditer(raw) if m.group(1) == b"CERTIFICATE"), None)
    if block is None:
        kinds = sorted({m.group(1).decode() for m in _PEM_BLOCK.finditer(raw)})
        found = f" (found {', '.join(kinds)})" if kinds else ""
        raise errors.InputError(f"holds no PEM CERTIFICATE{found}", file=source)
    try:
        cert = x509.load_pem_x509_certificate(block)
    except ValueError as exc:
        raise errors.InputError("unreadable certificate (the PEM block is not X.509)", file=source) from exc
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise errors.InputError(
            f"the certificate's public key is {type(public_key).__name__.lstrip('_')}, "
            "but Sealed Secrets needs an RSA key",
            file=source,
        )
    not_after = cert.not_valid_after_utc
    if not_after < (now or _utcnow()):
        raise errors.InputError(
            f"the certificate expired on {not_after.strftime('%Y-%m-%d %H:%M:%S UTC')} (NotAfter); "
            "fetch the controller's current certificate",
            file=source,
        )
    return Certificate(
        pem=cert.public_bytes(serialization.Encoding.PEM),
        source=source,
        not_after=not_after,
        fingerprint=crypto.key_fingerprint(public_key),
    )


def certificate_from_file(path: str | Path, *, now: dt.datetime | None = None) -> Certificate:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise errors.InputError(f"cannot be read: {exc.strerror}", file=str(path)) from exc
    return load_certificate(data, source=str(path), now=now)


@dataclass(frozen=True)
class UnsealKey:
    """One private key that may open sealed values; ``name`` says where it came from."""

    name: str
    fingerprint: str
    key: rsa.RSAPrivateKey

    def __repr__(self) -> str:  # never print key material
        return f"UnsealKey(name={self.name!r}, fingerprint={self.fingerprint!r})"


def _unseal_key(key: Any, *, name: str, source: str) -> UnsealKey:
    if not isinstance(key, rsa.RSAPrivateKey):
        raise errors.InputError(
            f"{name} is a {type(key).__name__.lstrip('_')}, but Sealed Secrets keys are RSA", file=source
        )
    return UnsealKey(name=name, fingerprint=crypto.key_fingerprint(key.public_key()), key=key)


def _keys_from_pem(raw: bytes, *, source: str, name: str) -> list[UnsealKey]:
    blocks = [m for m in _PEM_BLOCK.finditer(raw) if m.group(1).endswith(b"PRIVATE KEY")]
    if not blocks:
        raise errors.InputError("holds no PEM private key (RSA PRIVATE KEY or PRIVATE KEY)", file=source)
    keys: list[UnsealKey] = []
    for index, match in enumerate(blocks):
        redact.register(match.group(0))
        label = name if len(blocks) == 1 else f"{name}[{index}]"
        try:
            key = serialization.load_pem_private_key(match.group(0), password=None)
        except (ValueError, TypeError) as exc:
            # The library's message may quote the input; keep it out.
            raise errors.InputError(
                f"{label}: unreadable private key ({type(exc).__name__})", file=source
            ) from None
        keys.append(_unseal_key(key, name=label, source=source))
    return keys


def _keys_from_secret(obj: Mapping[str, Any], *, source: str) -> list[UnsealKey]:
    meta = obj.get("metadata") or {}
    where = "/".join(part for part in (meta.get("namespace"), meta.get("name") or "<unnamed>") if part)
    name = f"Secret {where}"
    data = obj.get("data") or {}
    string_data = obj.get("stringData") or {}
    if "tls.key" in string_data:
        pem = str(string_data["tls.key"]).encode()
    elif "tls.key" in data:
        try:
            pem = base64.b64decode(str(data["tls.key"]), validate=True)
        except binascii.Error as exc:
            raise errors.InputError(
                "is not valid base64", file=source, obj=name, field="data.tls.key"
            ) from exc
    else:
        raise errors.InputError(
            "is missing (not a sealing-key Secret?)", file=source, obj=name, field="data.tls.key"
        )
    return _keys_from_pem(pem, source=source, name=name)


def load_private_keys(data: bytes | str, *, source: str) -> list[UnsealKey]:
    """Every private key in ``data``: PEM (PKCS#1 or PKCS#8, several blocks allowed), or sealing-key
    Secret(s) as YAML or JSON (one or more documents, or ``kind: List``/``SecretList``)."""
    raw = data.encode() if isinstance(data, str) else data
    if raw.lstrip().startswith(b"-----BEGIN"):
        return _keys_from_pem(raw, source=source, name=source)
    try:
        docs = [doc for doc in yaml.safe_load_all(raw) if doc is not None]
    except yaml.YAMLError as exc:  # the parser's message would quote the key material
        raise errors.InputError(
            f"is neither PEM nor valid YAML/JSON: {kyaml.error_text(exc)}", file=source
        ) from None
    objects: list[Mapping[str, Any]] = []
    for doc in docs:
        if not isinstance(doc, Mapping):
            raise errors.InputError(
                "is neither a PEM private key nor a Secret (or List of Secrets)", file=source
            )
        if str(doc.get("kind", "")).endswith("List"):
            objects.extend(item for item in doc.get("items") or [] if isinstance(item, Mapping))
        else:
            objects.append(doc)
    if not objects:
        raise errors.InputError("holds no private key and no Secret", file=source)
    keys: list[UnsealKey] = []
    for obj in objects:
        if obj.get("kind") != "Secret":
            raise errors.InputError(
                f"holds a {obj.get('kind') or 'document without kind'}; expected a sealing-key Secret",
                file=source,
            )
        keys.extend(_keys_from_secret(obj, source=source))
    return keys


def load_private_keys_file(path: str | Path) -> list[UnsealKey]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise errors.InputError(f"cannot be read: {exc.strerror}", file=str(path)) from exc
    return load_private_keys(data, source=str(path))


def unseal_keys(keys: Iterable[rsa.RSAPrivateKey | UnsealKey], *, name: str = "key") -> list[UnsealKey]:
    """Wrap bare private keys (tests, the simulated controller) as ``UnsealKey``."""
    out: list[UnsealKey] = []
    for index, key in enumerate(keys):
        out.append(
            key if isinstance(key, UnsealKey) else _unseal_key(key, name=f"{name}[{index}]", source=name)
        )
    return out


def generate_sealing_key(
    *,
    bits: int = DEFAULT_KEY_BITS,
    common_name: str = "",
    ttl: dt.timedelta = DEFAULT_KEY_TTL,
    now: dt.datetime | None = None,
) -> tuple[rsa.RSAPrivateKey, bytes]:
    """A new key pair and its self-signed certificate, shaped like the controller's (B.5):
    random 128-bit serial, valid from now for ``ttl``, CA, KeyUsage EncipherOnly."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    start = now or _utcnow()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else [])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(os.urandom(16), "big") >> 1)
        .not_valid_before(start)
        .not_valid_after(start + ttl)
        # cryptography insists on key_agreement alongside encipher_only.
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=True,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


def private_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """PKCS#1 PEM (``RSA PRIVATE KEY``), the form the controller stores in ``tls.key``."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    redact.register(pem)
    return pem


def sealing_key_secret(
    key: rsa.RSAPrivateKey, cert_pem: bytes, *, name: str, namespace: str = "kube-system"
) -> dict[str, Any]:
    """The controller's ``kubernetes.io/tls`` Secret for one sealing key."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {SEALING_KEY_LABEL: SEALING_KEY_ACTIVE},
        },
        "data": {
            "tls.crt": base64.b64encode(cert_pem).decode(),
            "tls.key": base64.b64encode(private_key_pem(key)).decode(),
        },
    }
