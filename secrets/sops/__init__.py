"""SOPS, natively: decrypt and encrypt SOPS files (YAML, JSON, dotenv, INI, binary) without sops.

Public API (import the package, ``from fleet.secrets import sops``):

- ``decrypt_file(path, *, fmt=None, keyring=None, ignore_mac=False) -> bytes``: what ``sops -d``
  prints, in the file's own format.
- ``decrypt_bytes(data, *, path=None, fmt=None, keyring=None, ignore_mac=False) -> bytes``.
- ``decrypt_document(data, *, fmt=None, file=None, keyring=None) -> Decrypted``: the tree.
- ``encrypt_bytes(data, options, *, path=None, fmt=None, keyring=None) -> bytes`` and
  ``encrypt_file(path, options, *, fmt=None, keyring=None) -> bytes``: files the real sops reads.
- ``decrypt_if_encrypted(text, *, path, fmt=None) -> str`` and ``is_encrypted(doc) -> bool``:
  render-time decryption of manifests (``fleet.secrets.sops.render``).
- ``EncryptOptions``, ``KeyGroupSpec``, ``CryptRule``/``RuleKind``, ``Format``, ``KeyOptions``,
  ``Keyring`` and the errors of ``fleet.secrets.sops.errors``.

The ``ref+sops://`` provider is ``fleet.secrets.sops.provider.SopsProvider``.
"""

from __future__ import annotations

from pathlib import Path

from fleet.secrets.sops import errors
from fleet.secrets.sops.core import (
    Decrypted,
    EncryptOptions,
    KeyGroupSpec,
    decrypt_document,
    encrypt_document,
)
from fleet.secrets.sops.errors import (
    DecryptionError,
    EncryptionError,
    FormatError,
    MacMismatchError,
    MetadataError,
    NoKeyError,
    NotEncryptedError,
    SopsError,
    UnusableKeysError,
)
from fleet.secrets.sops.keys import KeyOptions, Keyring
from fleet.secrets.sops.render import decrypt_if_encrypted, is_encrypted
from fleet.secrets.sops.stores import Format
from fleet.secrets.sops.tree import CryptRule, RuleKind

__all__ = [
    "CryptRule",
    "Decrypted",
    "DecryptionError",
    "EncryptOptions",
    "EncryptionError",
    "Format",
    "FormatError",
    "KeyGroupSpec",
    "KeyOptions",
    "Keyring",
    "MacMismatchError",
    "MetadataError",
    "NoKeyError",
    "NotEncryptedError",
    "RuleKind",
    "SopsError",
    "UnusableKeysError",
    "decrypt_bytes",
    "decrypt_document",
    "decrypt_file",
    "decrypt_if_encrypted",
    "encrypt_bytes",
    "encrypt_document",
    "encrypt_file",
    "errors",
    "is_encrypted",
]


def _read(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise errors.SopsInputError("no such file", file=str(path)) from None
    except OSError as exc:
        raise errors.SopsInputError(f"cannot read the file: {exc.strerror}", file=str(path)) from None


def decrypt_bytes(
    data: bytes,
    *,
    path: str | None = None,
    fmt: Format | str | None = None,
    keyring: Keyring | None = None,
    ignore_mac: bool = False,
) -> bytes:
    """The plaintext of a SOPS file's bytes, in the file's own format."""
    return decrypt_document(data, fmt=fmt, file=path, keyring=keyring, ignore_mac=ignore_mac).emit()


def decrypt_file(
    path: str | Path,
    *,
    fmt: Format | str | None = None,
    keyring: Keyring | None = None,
    ignore_mac: bool = False,
) -> bytes:
    """``sops -d FILE``: the plaintext, in the file's own format (never written anywhere)."""
    return decrypt_bytes(_read(path), path=str(path), fmt=fmt, keyring=keyring, ignore_mac=ignore_mac)


def encrypt_bytes(
    data: bytes,
    options: EncryptOptions,
    *,
    path: str | None = None,
    fmt: Format | str | None = None,
    keyring: Keyring | None = None,
) -> bytes:
    """``sops -e``: the encrypted file, in the same format as the input."""
    return encrypt_document(data, options, fmt=fmt, file=path, keyring=keyring)


def encrypt_file(
    path: str | Path,
    options: EncryptOptions,
    *,
    fmt: Format | str | None = None,
    keyring: Keyring | None = None,
) -> bytes:
    """``sops -e FILE``: the encrypted content (the caller decides where it goes)."""
    return encrypt_bytes(_read(path), options, path=str(path), fmt=fmt, keyring=keyring)
