"""Errors of the native SOPS implementation.

Every error names the file (and the key or recipient) it is about, never a value: a MAC mismatch
does not quote the MAC, a failed key says which recipient failed and why, not what it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fleet import errors


class SopsError(errors.FleetError):
    """Base of every SOPS error; ``file`` names the file it is about."""

    def __init__(self, message: str, *, file: str | None = None, retry_after: float | None = None) -> None:
        self.file = file
        full = f"{file}: {message}" if file else message
        errors.FleetError.__init__(self, full, retry_after=retry_after)


class SopsInputError(SopsError, errors.InputError):
    """The file itself is wrong (bad syntax, bad metadata): fix the file; exit code 2."""

    exit_code = errors.ExitCode.BAD_INPUT

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None) -> None:
        self.obj = None
        self.field = field
        if field:
            message = f"field {field}: {message}"
        SopsError.__init__(self, message, file=file)


class FormatError(SopsInputError):
    """The document cannot be parsed in the format it claims (YAML, JSON, dotenv, INI)."""


class NotEncryptedError(SopsInputError):
    """The document has no ``sops`` metadata: it is not a SOPS file."""


class MetadataError(SopsInputError):
    """The ``sops`` metadata is invalid (two crypt rules, no keys, a bad timestamp, ...)."""


class MacMismatchError(SopsError, errors.PermanentError):
    """The MAC stored in the file does not match the values: the file was altered or is corrupt."""


class DecryptionError(SopsError, errors.PermanentError):
    """A value cannot be decrypted with the data key (wrong key path, tampered ciphertext)."""


class EncryptionError(SopsError, errors.PermanentError):
    """A master key could not wrap the data key while encrypting."""


@dataclass(frozen=True)
class KeyAttempt:
    """One master key that was tried for the data key, and why it did not work."""

    group: int
    key_type: str
    recipient: str  # age recipient, PGP fingerprint, KMS ARN, Vault key URI: never secret
    reason: str
    transient: bool = False  # a network or service failure: retrying may help

    def describe(self) -> str:
        return f"{self.key_type} {self.recipient} (group {self.group}): {self.reason}"


class NoKeyError(SopsError, errors.PermanentError):
    """No master key available here could decrypt the data key (or too few Shamir shares)."""

    def __init__(
        self,
        message: str,
        *,
        attempts: Sequence[KeyAttempt] = (),
        file: str | None = None,
    ) -> None:
        self.attempts = tuple(attempts)
        if self.attempts:
            message += "; tried: " + "; ".join(attempt.describe() for attempt in self.attempts)
        retry_after = 10.0 if any(attempt.transient for attempt in self.attempts) else None
        SopsError.__init__(self, message, file=file, retry_after=retry_after)


class UnusableKeysError(NoKeyError):
    """Every master key of the file is of a kind fleet cannot use (GCP KMS, Azure Key Vault, ...)."""
