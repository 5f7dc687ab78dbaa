"""The SOPS value codec: ``ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`` and the bytes behind it.

Where it sits: the decrypt and encrypt walks (``fleet.secrets.sops.core``) call ``decrypt_value``
/ ``encrypt_value`` on each leaf the crypt rule selects, and feed ``to_bytes`` of every leaf into
the MAC. The byte forms follow upstream ``ToBytes`` (FORMATS.md A.2): Go's shortest ``'f'``
float formatting, ``True``/``False`` for booleans, RFC 3339 with nanoseconds for times.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import os
import re
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fleet.secrets.sops import tree

NONCE_SIZE = 32  # sops uses 32-byte GCM nonces, not the usual 12 (FORMATS.md A.2)
TAG_SIZE = 16
ENC_PATTERN = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]", re.DOTALL)
# upstream MACOnlyEncryptedInitialization: sha256("sops"), fed first when mac_only_encrypted
MAC_ONLY_ENCRYPTED_INIT = bytes.fromhex("8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69")


class CipherError(ValueError):
    """A value cannot be decrypted: not an ENC value, bad base64, wrong key or AAD, bad type."""


def is_encrypted_value(value: Any) -> bool:
    return isinstance(value, str) and ENC_PATTERN.match(value) is not None


def _digits(value: float) -> tuple[str, str, int]:
    """Sign, shortest round-trip digits and decimal exponent of a finite float.

    ``repr`` gives the same shortest digits as Go's ``strconv`` with precision -1; only the
    layout differs, so both Go formats below are rebuilt from these digits.
    """
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    text = repr(abs(value))
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    # position of the decimal point relative to the start of ``digits``
    point = len(whole) - (len(whole + fraction) - len((whole + fraction).lstrip("0"))) + int(exponent or 0)
    digits = digits.rstrip("0")
    if not digits:
        return sign, "0", 1
    return sign, digits, point


def format_float_f(value: float) -> str:
    """Go ``strconv.FormatFloat(v, 'f', -1, 64)``: shortest digits, never an exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign, digits, point = _digits(value)
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _format_float_e(sign: str, digits: str, point: int) -> str:
    exponent = point - 1
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def format_float_g(value: float) -> str:
    """Go ``strconv.FormatFloat(v, 'g', -1, 64)`` (how go-yaml writes a float).

    With the shortest precision Go switches to ``%e`` when the exponent is below -4 or at
    least 6, so ``1e6`` is written ``1e+06`` and ``1234.5679`` stays as it is.
    """
    if math.isnan(value) or math.isinf(value):
        return format_float_f(value)
    sign, digits, point = _digits(value)
    if digits == "0":
        return f"{sign}0"
    exponent = point - 1
    if exponent < -4 or exponent >= 6:
        return _format_float_e(sign, digits, point)
    return format_float_f(value)


def format_float_json(value: float) -> str:
    """Go ``encoding/json`` for a float64: ``'f'`` unless |v| < 1e-6 or >= 1e21, then ``'e'``."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError("JSON cannot hold NaN or infinity")
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        sign, digits, point = _digits(value)
        text = _format_float_e(sign, digits, point)
        # Go cleans up e-07 to e-7 (and only negative exponents)
        return re.sub(r"e-0(\d)$", r"e-\1", text)
    return format_float_f(value)


def to_bytes(value: Any) -> bytes:
    """Upstream ``ToBytes``: the bytes of a leaf that are encrypted and fed into the MAC."""
    if isinstance(value, tree.Comment):
        return to_bytes(value.value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return format_float_f(value).encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, tree.GoTime):
        return value.text.encode()
    raise CipherError(f"cannot convert a value of type {type(value).__name__} to bytes")


def _type_name(value: Any) -> str:
    if isinstance(value, tree.Comment):
        return "comment"
    if isinstance(value, str):
        return "str"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, tree.GoTime):
        return "time"
    raise CipherError(f"a value of type {type(value).__name__} cannot be encrypted")


def _is_empty(value: Any) -> bool:
    if isinstance(value, tree.Comment):
        return value.value == ""
    return isinstance(value, str | bytes) and len(value) == 0


def encrypt_value(value: Any, key: bytes, aad: str, *, iv: bytes | None = None) -> str:
    """``value`` as an ``ENC[...]`` string; an empty string stays empty (upstream ``isEmpty``)."""
    if _is_empty(value):
        return ""
    datatype = _type_name(value)
    nonce = iv if iv is not None else os.urandom(NONCE_SIZE)
    sealed = AESGCM(key).encrypt(nonce, to_bytes(value), aad.encode("utf-8", "surrogateescape"))
    data, tag = sealed[:-TAG_SIZE], sealed[-TAG_SIZE:]
    b64 = base64.b64encode
    return f"ENC[AES256_GCM,data:{b64(data).decode()},iv:{b64(nonce).decode()},tag:{b64(tag).decode()},type:{datatype}]"


def _parse_bool(text: str) -> bool:
    """Go ``strconv.ParseBool``."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise CipherError("invalid boolean")


def _parse_int(text: str) -> int:
    """Go ``strconv.Atoi``: optional sign, decimal digits, within int64."""
    if not re.fullmatch(r"[+-]?\d+", text):
        raise CipherError("invalid integer")
    number = int(text)
    if not -(2**63) <= number < 2**63:
        raise CipherError("integer out of range")
    return number


def _parse_float(text: str) -> float:
    """Go ``strconv.ParseFloat(s, 64)`` for the forms sops writes (and Python's close cousins)."""
    cleaned = text
    if "_" in cleaned:
        raise CipherError("invalid float")
    lowered = cleaned.lower().lstrip("+-")
    if lowered in ("inf", "infinity", "nan"):
        return float(cleaned)
    if not re.fullmatch(
        r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?0[xX][0-9a-fA-F.]+[pP][+-]?\d+", cleaned
    ):
        raise CipherError("invalid float")
    if cleaned.lower().lstrip("+-").startswith("0x"):
        return float.fromhex(cleaned)
    return float(cleaned)


def decrypt_value(text: str, key: bytes, aad: str) -> Any:
    """The typed plaintext of an ``ENC[...]`` string (``""`` stays ``""``).

    Raises ``CipherError`` (never quoting the value) when ``text`` is not an ENC value, when the
    key or AAD is wrong, or when the plaintext does not fit its declared type.
    """
    if text == "":
        return ""
    match = ENC_PATTERN.match(text)
    if match is None:
        raise CipherError("the value is not in sops' ENC[AES256_GCM,...] format")
    try:
        data, nonce, tag = (base64.b64decode(match.group(i), validate=True) for i in (1, 2, 3))
    except (binascii.Error, ValueError):
        raise CipherError("the ENC value has invalid base64") from None
    datatype = match.group(4)
    if not nonce:
        raise CipherError("the ENC value has an empty IV")
    try:
        plain = AESGCM(key).decrypt(nonce, data + tag, aad.encode("utf-8", "surrogateescape"))
    except InvalidTag:
        raise CipherError(
            "authentication failed (wrong data key, wrong key path, or altered value)"
        ) from None
    except ValueError as exc:
        raise CipherError(f"cannot decrypt: {exc}") from None
    if datatype == "str":
        return plain.decode("utf-8", "surrogateescape")
    if datatype == "bytes":
        return plain
    if datatype == "comment":
        return tree.Comment(plain.decode("utf-8", "surrogateescape"))
    try:
        textual = plain.decode()
    except UnicodeDecodeError:
        raise CipherError(f"the plaintext of a {datatype} value is not text") from None
    if datatype == "int":
        return _parse_int(textual)
    if datatype == "float":
        return _parse_float(textual)
    if datatype == "bool":
        return _parse_bool(textual)
    if datatype == "time":
        stamp = tree.parse_timestamp(textual)
        if stamp is None or "T" not in stamp.text:
            raise CipherError("the plaintext of a time value is not an RFC 3339 timestamp")
        return stamp
    raise CipherError(f"unknown datatype {datatype!r}")


class Mac:
    """The running SHA-512 over leaf plaintexts (FORMATS.md A.5)."""

    def __init__(self, *, only_encrypted: bool = False) -> None:
        self.only_encrypted = only_encrypted
        self._hash = hashlib.sha512()
        if only_encrypted:
            self._hash.update(MAC_ONLY_ENCRYPTED_INIT)

    def add(self, value: Any, *, encrypted: bool) -> None:
        """Feed one leaf (comments never count; with mac_only_encrypted, only encrypted leaves)."""
        if isinstance(value, tree.Comment):
            return
        if self.only_encrypted and not encrypted:
            return
        self._hash.update(to_bytes(value))

    def hexdigest(self) -> str:
        """Upper-case hex, as upstream ``fmt.Sprintf("%X", ...)`` writes it."""
        return self._hash.hexdigest().upper()
