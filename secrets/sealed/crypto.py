"""Sealed Secrets hybrid encryption: the bytes inside every ``encryptedData`` value.

This is the bottom of ``fleet.secrets.sealed``: seal, unseal and the simulated controller all
call ``hybrid_encrypt`` / ``hybrid_decrypt`` here, with the OAEP label that the scope gives
(``encryption_label``). The layout follows kubeseal's ``pkg/crypto`` (FORMATS.md B.1):

    uint16_be(len(rsa)) || RSA-OAEP-SHA256(session key, label) || AES-256-GCM(zero nonce, plaintext)

Failures come back as ``DecryptFailure`` with one ``KeyOutcome`` per key tried, so the caller can
say *why* no key fitted (another key, another namespace/name, or tampered data) without this
module knowing anything about SealedSecret objects.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NAMESPACE_WIDE_ANNOTATION = "sealedsecrets.bitnami.com/namespace-wide"
CLUSTER_WIDE_ANNOTATION = "sealedsecrets.bitnami.com/cluster-wide"

SESSION_KEY_BYTES = 32  # AES-256
_ZERO_NONCE = bytes(12)  # safe: every session key encrypts exactly one message
_SHA256_LEN = 32


class Scope(StrEnum):
    """How far a sealed value may travel inside one cluster (the OAEP label it is sealed with)."""

    STRICT = "strict"  # bound to one namespace and one name: label "<namespace>/<name>"
    NAMESPACE_WIDE = "namespace-wide"  # any name in one namespace: label "<namespace>"
    CLUSTER_WIDE = "cluster-wide"  # any namespace and name: empty label

    def annotations(self) -> dict[str, str]:
        """The scope annotations kubeseal puts on an object sealed with this scope."""
        if self is Scope.CLUSTER_WIDE:
            return {CLUSTER_WIDE_ANNOTATION: "true"}
        if self is Scope.NAMESPACE_WIDE:
            return {NAMESPACE_WIDE_ANNOTATION: "true"}
        return {}


def scope_of(annotations: Mapping[str, str] | None) -> Scope:
    """The scope an object's annotations declare; cluster-wide wins when both are set.

    Only the exact string ``"true"`` counts, as in the controller.
    """
    annotations = annotations or {}
    if str(annotations.get(CLUSTER_WIDE_ANNOTATION, "")) == "true":
        return Scope.CLUSTER_WIDE
    if str(annotations.get(NAMESPACE_WIDE_ANNOTATION, "")) == "true":
        return Scope.NAMESPACE_WIDE
    return Scope.STRICT


def with_scope_annotations(annotations: Mapping[str, str] | None, scope: Scope) -> dict[str, str]:
    """``annotations`` with both scope annotations replaced by those of ``scope``."""
    out = {
        k: v
        for k, v in (annotations or {}).items()
        if k not in (NAMESPACE_WIDE_ANNOTATION, CLUSTER_WIDE_ANNOTATION)
    }
    out.update(scope.annotations())
    return out


def encryption_label(namespace: str, name: str, scope: Scope) -> bytes:
    """The OAEP label for a value sealed for (namespace, name) with ``scope``."""
    if scope is Scope.CLUSTER_WIDE:
        return b""
    if scope is Scope.NAMESPACE_WIDE:
        return namespace.encode()
    return f"{namespace}/{name}".encode()


def key_fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """The key's SSH SHA-256 fingerprint (``SHA256:...``), as the controller names its keys."""
    blob = public_key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    wire = base64.b64decode(blob.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(wire).digest()).decode().rstrip("=")


def _oaep(label: bytes) -> padding.OAEP:
    # Go's rsa.EncryptOAEP uses the one hash for OAEP and for MGF1.
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None)


def hybrid_encrypt(public_key: rsa.RSAPublicKey, plaintext: bytes, label: bytes) -> bytes:
    """Seal ``plaintext`` for the holder of ``public_key``'s private key, bound to ``label``."""
    session_key = os.urandom(SESSION_KEY_BYTES)
    rsa_ciphertext = public_key.encrypt(session_key, _oaep(label))
    sealed = AESGCM(session_key).encrypt(_ZERO_NONCE, plaintext, None)
    return struct.pack(">H", len(rsa_ciphertext)) + rsa_ciphertext + sealed


class CiphertextTooShort(ValueError):
    """The blob ends before its length prefix says the RSA part does."""

    def __init__(self) -> None:
        super().__init__("SealedSecret data is too short")


class Outcome(StrEnum):
    """Why one private key did not open one sealed value."""

    WRONG_KEY = "wrong-key"  # the value was sealed for another key pair
    LABEL_MISMATCH = "label-mismatch"  # this key sealed it, but for another namespace/name/scope
    CORRUPT = "corrupt"  # this key opened the session key, but the AES-GCM tag did not verify


@dataclass(frozen=True)
class KeyOutcome:
    """What happened when one key was tried; ``sealed_scope`` is set when the label that was
    really used is one of the candidate labels the caller offered (see ``hybrid_decrypt``)."""

    fingerprint: str
    outcome: Outcome
    sealed_scope: Scope | None = None


class DecryptFailure(ValueError):
    """No key opened the value; ``outcomes`` says, per key, why."""

    def __init__(self, outcomes: Sequence[KeyOutcome]) -> None:
        super().__init__("no key could decrypt secret")
        self.outcomes = tuple(outcomes)

    def outcome(self) -> Outcome:
        """The most telling outcome: a key that fits (corrupt, label) beats a key that does not."""
        found = {o.outcome for o in self.outcomes}
        for candidate in (Outcome.CORRUPT, Outcome.LABEL_MISMATCH):
            if candidate in found:
                return candidate
        return Outcome.WRONG_KEY

    def sealed_scope(self) -> Scope | None:
        return next((o.sealed_scope for o in self.outcomes if o.sealed_scope is not None), None)


def split(ciphertext: bytes) -> tuple[bytes, bytes]:
    """(RSA part, AES-GCM part) of a sealed blob; ``CiphertextTooShort`` when truncated."""
    if len(ciphertext) < 2:
        raise CiphertextTooShort()
    (rsa_len,) = struct.unpack(">H", ciphertext[:2])
    if len(ciphertext) < rsa_len + 2:
        raise CiphertextTooShort()
    return ciphertext[2 : rsa_len + 2], ciphertext[rsa_len + 2 :]


def hybrid_decrypt(
    private_keys: Iterable[rsa.RSAPrivateKey],
    ciphertext: bytes,
    label: bytes,
    *,
    candidate_labels: Mapping[Scope, bytes] | None = None,
) -> bytes:
    """Open a sealed blob with the first of ``private_keys`` that fits ``label``.

    Raises ``CiphertextTooShort`` or ``DecryptFailure``. ``candidate_labels`` (scope -> label)
    only sharpens the failure: when a key fits but the label does not, the outcome names the
    scope whose label was really used, if it is among them.
    """
    rsa_part, aes_part = split(ciphertext)
    outcomes: list[KeyOutcome] = []
    for key in private_keys:
        fingerprint = key_fingerprint(key.public_key())
        try:
            session_key = key.decrypt(rsa_part, _oaep(label))
        except ValueError:
            outcomes.append(_diagnose(key, rsa_part, fingerprint, candidate_labels or {}))
            continue
        try:
            return AESGCM(session_key).decrypt(_ZERO_NONCE, aes_part, None)
        except (InvalidTag, ValueError):
            outcomes.append(KeyOutcome(fingerprint, Outcome.CORRUPT))
    raise DecryptFailure(outcomes)


def _diagnose(
    key: rsa.RSAPrivateKey, rsa_part: bytes, fingerprint: str, candidates: Mapping[Scope, bytes]
) -> KeyOutcome:
    """Tell "another key" from "this key, another label" after OAEP decryption failed.

    cryptography reports every OAEP failure the same way, so the padding is undone by hand here
    (RFC 8017 7.1.2) on the failure path only: with the right key the decoded block has OAEP's
    shape (leading zero byte, zero padding, 0x01 separator) and only the label hash differs; with
    a wrong key it is noise. The result only words an error message; it never releases data.
    """
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    k = (n.bit_length() + 7) // 8
    c = int.from_bytes(rsa_part, "big")
    if len(rsa_part) != k or c >= n:
        return KeyOutcome(fingerprint, Outcome.WRONG_KEY)
    # RSA with the Chinese remainder theorem: four times faster than pow(c, d, n).
    m1 = pow(c, numbers.dmp1, numbers.p)
    m2 = pow(c, numbers.dmq1, numbers.q)
    m = m2 + numbers.q * ((numbers.iqmp * (m1 - m2)) % numbers.p)
    block = m.to_bytes(k, "big")
    masked_seed, masked_db = block[1 : 1 + _SHA256_LEN], block[1 + _SHA256_LEN :]
    seed = _xor(masked_seed, _mgf1(masked_db, _SHA256_LEN))
    db = _xor(masked_db, _mgf1(seed, len(masked_db)))
    label_hash, rest = db[:_SHA256_LEN], db[_SHA256_LEN:].lstrip(b"\x00")
    if block[0] != 0 or not rest.startswith(b"\x01") or len(rest) != SESSION_KEY_BYTES + 1:
        return KeyOutcome(fingerprint, Outcome.WRONG_KEY)
    sealed_scope = next(
        (scope for scope, lbl in candidates.items() if hashlib.sha256(lbl).digest() == label_hash), None
    )
    return KeyOutcome(fingerprint, Outcome.LABEL_MISMATCH, sealed_scope)


def _mgf1(seed: bytes, length: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return bytes(out[:length])


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))
