"""Sprig's cryptographic template functions: keys, certificates, AES, password derivation.

Rarely needed in ApplicationSets, but Argo CD offers them, so templates that use them must
work here too. Keys and certificates come from the ``cryptography`` package and bcrypt hashes
from ``bcrypt``; the output formats (PEM block types, the AES-CBC layout, the Master Password
derivation behind ``derivePassword``) are Sprig's, so values interoperate with Go.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import secrets as std_secrets
import struct
from typing import Any

from fleet.gotemplate import values
from fleet.gotemplate.errors import FuncError
from fleet.gotemplate.gofunc import CERTIFICATE, INT, LIST, STRING, UINT32, GoFunc, func


class Certificate(values.GoObject):
    """Sprig's certificate struct: ``.Cert`` and ``.Key`` (PEM strings)."""

    go_type = "sprig.certificate"
    go_kind = "struct"

    def __init__(self, cert: str, key: str) -> None:
        self.cert = cert
        self.key = key

    def __str__(self) -> str:
        return "{" + self.cert + " " + self.key + "}"

    def __repr__(self) -> str:
        return "Certificate(...)"

    def go_methods(self) -> dict[str, Any]:
        return {"Cert": lambda: self.cert, "Key": lambda: self.key}


def _bcrypt_hash(text: str) -> str:
    import bcrypt as bcrypt_lib  # imported when used: only these two functions need it

    data = text.encode("utf-8", "surrogateescape")
    if len(data) > 72:
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
    return bcrypt_lib.hashpw(data, bcrypt_lib.gensalt(rounds=10, prefix=b"2a")).decode()


def bcrypt(text: str) -> str:
    return _bcrypt_hash(text)


def htpasswd(user: str, password: str) -> str:
    """``user:bcrypt-hash``, as Sprig 3.3 writes it (the release Argo CD and Helm use)."""
    if ":" in user:
        return f"invalid username: {user}"
    return f"{user}:{_bcrypt_hash(password)}"


_MASTER_PASSWORD_SEED = b"com.lyndir.masterpassword"
_PASSWORD_TEMPLATES = {
    "maximum": ["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
    "long": [
        "CvcvnoCvcvCvcv",
        "CvcvCvcvnoCvcv",
        "CvcvCvcvCvcvno",
        "CvccnoCvcvCvcv",
        "CvccCvcvnoCvcv",
        "CvccCvcvCvcvno",
        "CvcvnoCvccCvcv",
        "CvcvCvccnoCvcv",
        "CvcvCvccCvcvno",
        "CvcvnoCvcvCvcc",
        "CvcvCvcvnoCvcc",
        "CvcvCvcvCvccno",
        "CvccnoCvccCvcv",
        "CvccCvccnoCvcv",
        "CvccCvccCvcvno",
        "CvcvnoCvccCvcc",
        "CvcvCvccnoCvcc",
        "CvcvCvccCvccno",
        "CvccnoCvcvCvcc",
        "CvccCvcvnoCvcc",
        "CvccCvcvCvccno",
    ],
    "medium": ["CvcnoCvc", "CvcCvcno"],
    "short": ["Cvcn"],
    "basic": ["aaanaaan", "aannaaan", "aaannaaa"],
    "pin": ["nnnn"],
}
_TEMPLATE_CHARACTERS = {
    "V": "AEIOU",
    "C": "BCDFGHJKLMNPQRSTVWXYZ",
    "v": "aeiou",
    "c": "bcdfghjklmnpqrstvwxyz",
    "A": "AEIOUBCDFGHJKLMNPQRSTVWXYZ",
    "a": "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
    "n": "0123456789",
    "o": "@&%?,=[]_:-+*$#!'^~;()/.",
    "x": "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
}


def derive_password(counter: int, password_type: str, password: str, user: str, site: str) -> str:
    """The Master Password algorithm (scrypt key, HMAC-SHA256 seed, character templates)."""
    templates = _PASSWORD_TEMPLATES.get(password_type)
    if templates is None:
        return f"cannot find password template {password_type}"
    user_bytes = user.encode("utf-8", "surrogateescape")
    site_bytes = site.encode("utf-8", "surrogateescape")
    salt = _MASTER_PASSWORD_SEED + struct.pack(">I", len(user_bytes)) + user_bytes
    key = hashlib.scrypt(
        password.encode("utf-8", "surrogateescape"),
        salt=salt,
        n=32768,
        r=8,
        p=2,
        dklen=64,
        maxmem=128 * 1024 * 1024,
    )
    message = (
        _MASTER_PASSWORD_SEED + struct.pack(">I", len(site_bytes)) + site_bytes + struct.pack(">I", counter)
    )
    seed = hmac.new(key, message, hashlib.sha256).digest()
    template = templates[seed[0] % len(templates)]
    return "".join(
        _TEMPLATE_CHARACTERS[element][seed[index + 1] % len(_TEMPLATE_CHARACTERS[element])]
        for index, element in enumerate(template)
    )


def _pem_private_key(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    if isinstance(key, ed25519.Ed25519PrivateKey):
        fmt = serialization.PrivateFormat.PKCS8  # Go: "PRIVATE KEY" (PKCS #8)
    else:
        fmt = serialization.PrivateFormat.TraditionalOpenSSL  # RSA/EC/DSA PRIVATE KEY
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def gen_private_key(key_type: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

    if key_type in ("", "rsa"):
        key: Any = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    elif key_type == "dsa":
        key = dsa.generate_private_key(key_size=2048)
    elif key_type == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    elif key_type == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        return f"Unknown type {key_type}"
    return _pem_private_key(key)


def _parse_private_key(text: str) -> Any:
    from cryptography.hazmat.primitives import serialization

    if "-----BEGIN" not in text:
        raise FuncError("no PEM data found")
    try:
        return serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise FuncError(f"invalid private key: {type(exc).__name__}") from None


def _new_rsa_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _strings(items: list[Any] | None, what: str) -> list[str]:
    result = []
    from fleet.gotemplate import gofmt

    for item in items or []:
        if not isinstance(item, str):
            raise FuncError(f"{what}: {gofmt.sprint_value(item)} is not a string")
        result.append(item)
    return result


def _make_certificate(
    cn: str,
    ips: list[Any] | None,
    dns: list[Any] | None,
    days: int,
    key: Any,
    signer_cert: Any,
    signer_key: Any,
    is_ca: bool,
) -> Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    addresses = []
    for text in _strings(ips, "error parsing ip"):
        try:
            addresses.append(ipaddress.ip_address(text))
        except ValueError:
            raise FuncError(f"error parsing ip: {text}") from None
    names = _strings(dns, "error processing alternate dns name")
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]) if cn else x509.Name([])
    issuer = subject if signer_cert is None else signer_cert.subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(std_secrets.randbits(127) + 1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if not is_ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    alternative: list[Any] = [x509.DNSName(name) for name in names] + [x509.IPAddress(ip) for ip in addresses]
    if alternative:
        builder = builder.add_extension(x509.SubjectAlternativeName(alternative), critical=False)
    signing_key = key if signer_key is None else signer_key
    algorithm = None if isinstance(signing_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = builder.sign(signing_key, algorithm)
    return Certificate(cert.public_bytes(serialization.Encoding.PEM).decode(), _pem_private_key(key))


def gen_ca(cn: str, days: int) -> Certificate:
    return _make_certificate(cn, None, None, days, _new_rsa_key(), None, None, True)


def gen_ca_with_key(cn: str, days: int, key_pem: str) -> Certificate:
    key = _with_key(key_pem)
    return _make_certificate(cn, None, None, days, key, None, None, True)


def _with_key(key_pem: str) -> Any:
    try:
        return _parse_private_key(key_pem)
    except FuncError as exc:
        raise FuncError(f"parsing private key: {exc}") from None


def gen_self_signed(cn: str, ips: list[Any] | None, dns: list[Any] | None, days: int) -> Certificate:
    return _make_certificate(cn, ips, dns, days, _new_rsa_key(), None, None, False)


def gen_self_signed_with_key(
    cn: str, ips: list[Any] | None, dns: list[Any] | None, days: int, key_pem: str
) -> Certificate:
    return _make_certificate(cn, ips, dns, days, _with_key(key_pem), None, None, False)


def _signer(ca: Certificate) -> tuple[Any, Any]:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(ca.cert.encode())
    except ValueError:
        raise FuncError("unable to decode certificate") from None
    try:
        key = _parse_private_key(ca.key)
    except FuncError as exc:
        raise FuncError(f"error parsing private key: {exc}") from None
    return cert, key


def gen_signed(
    cn: str, ips: list[Any] | None, dns: list[Any] | None, days: int, ca: Certificate
) -> Certificate:
    cert, key = _signer(ca)
    return _make_certificate(cn, ips, dns, days, _new_rsa_key(), cert, key, False)


def gen_signed_with_key(
    cn: str, ips: list[Any] | None, dns: list[Any] | None, days: int, ca: Certificate, key_pem: str
) -> Certificate:
    cert, key = _signer(ca)
    return _make_certificate(cn, ips, dns, days, _with_key(key_pem), cert, key, False)


def build_custom_cert(b64cert: str, b64key: str) -> Certificate:
    from cryptography import x509

    try:
        cert = base64.b64decode(b64cert, validate=True).decode("utf-8", "surrogateescape")
    except ValueError:
        raise FuncError("unable to decode base64 certificate") from None
    try:
        key = base64.b64decode(b64key, validate=True).decode("utf-8", "surrogateescape")
    except ValueError:
        raise FuncError("unable to decode base64 private key") from None
    if "-----BEGIN" not in cert:
        raise FuncError("unable to decode certificate")
    try:
        x509.load_pem_x509_certificate(cert.encode("utf-8", "surrogateescape"))
    except ValueError:
        raise FuncError("error parsing certificate: decodedCert.Bytes: malformed certificate") from None
    try:
        _parse_private_key(key)
    except FuncError as exc:
        raise FuncError(f"error parsing private key: {exc}") from None
    return Certificate(cert, key)


def _aes_key(password: str) -> bytes:
    raw = password.encode("utf-8", "surrogateescape")[:32]
    return raw + b"\0" * (32 - len(raw))  # Go copies the password into a zeroed 32-byte key


def encrypt_aes(password: str, plaintext: str) -> str:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if plaintext == "":
        return ""
    content = plaintext.encode("utf-8", "surrogateescape")
    padding = 16 - len(content) % 16
    content += bytes([padding]) * padding
    iv = std_secrets.token_bytes(16)
    encryptor = Cipher(algorithms.AES(_aes_key(password)), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(content) + encryptor.finalize()).decode()


def decrypt_aes(password: str, encoded: str) -> str:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    if encoded == "":
        return ""
    try:
        data = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise FuncError("illegal base64 data at input byte 0") from None
    if len(data) < 16:
        raise FuncError(f"runtime error: slice bounds out of range [:16] with capacity {len(data)}")
    iv, body = data[:16], data[16:]
    if len(body) % 16:
        raise FuncError("crypto/cipher: input not full blocks")
    if not body:
        raise FuncError("runtime error: index out of range [-1]")
    decryptor = Cipher(algorithms.AES(_aes_key(password)), modes.CBC(iv)).decryptor()
    plain = decryptor.update(body) + decryptor.finalize()
    cut = len(plain) - plain[-1]
    if cut < 0:
        raise FuncError(f"runtime error: slice bounds out of range [:{cut}]")
    return plain[:cut].decode("utf-8", "surrogateescape")


CRYPTO_FUNCS: dict[str, GoFunc] = {
    "bcrypt": func("bcrypt", STRING)(bcrypt),
    "htpasswd": func("htpasswd", STRING, STRING)(htpasswd),
    "derivePassword": func("derivePassword", UINT32, STRING, STRING, STRING, STRING)(derive_password),
    "genPrivateKey": func("genPrivateKey", STRING)(gen_private_key),
    "buildCustomCert": func("buildCustomCert", STRING, STRING)(build_custom_cert),
    "genCA": func("genCA", STRING, INT)(gen_ca),
    "genCAWithKey": func("genCAWithKey", STRING, INT, STRING)(gen_ca_with_key),
    "genSelfSignedCert": func("genSelfSignedCert", STRING, LIST, LIST, INT)(gen_self_signed),
    "genSelfSignedCertWithKey": func("genSelfSignedCertWithKey", STRING, LIST, LIST, INT, STRING)(
        gen_self_signed_with_key
    ),
    "genSignedCert": func("genSignedCert", STRING, LIST, LIST, INT, CERTIFICATE)(gen_signed),
    "genSignedCertWithKey": func("genSignedCertWithKey", STRING, LIST, LIST, INT, CERTIFICATE, STRING)(
        gen_signed_with_key
    ),
    "encryptAES": func("encryptAES", STRING, STRING)(encrypt_aes),
    "decryptAES": func("decryptAES", STRING, STRING)(decrypt_aes),
}
