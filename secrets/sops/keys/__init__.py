"""Master keys: the sources that wrap and unwrap a file's data key, one module per kind.

Where it sits: ``fleet.secrets.sops.core`` asks a ``Keyring`` for the source of each master key
listed in a file's metadata, in sops' decryption order (age, then PGP, then the others), and
tries every key until one gives the data key (or its Shamir share); when encrypting it asks the
sources to wrap the new data key for each recipient.

Keys come from where sops reads them (``KeyOptions.use_environment``): ``SOPS_AGE_KEY``,
``SOPS_AGE_KEY_FILE``, ``SOPS_AGE_KEY_CMD``, ``<user config dir>/sops/age/keys.txt``, SSH keys, the
GnuPG keyring (``GNUPGHOME``), the AWS credential chain and ``VAULT_TOKEN`` / ``~/.vault-token``.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from fleet.secrets.sops import metadata


class KeySourceError(Exception):
    """One master key failed; ``reason`` is safe to show (no key material), ``transient`` if a retry may help.

    ``malformed``: the recipient as written is not a key of its type (an age recipient, KMS ARN or
    Vault transit URI that does not parse), so encrypting to it is bad input, not a failure.
    """

    def __init__(self, reason: str, *, transient: bool = False, malformed: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.malformed = malformed


@dataclass(frozen=True)
class KeyOptions:
    """Where the key sources find their keys. Frozen and picklable: no secrets in here.

    ``age_identity_files`` and ``gnupg_home`` add to (or, with ``use_environment=False``,
    replace) what the environment provides; ``kms_endpoint_url`` points boto3 at another KMS
    endpoint (a local test server), as ``AWS_ENDPOINT_URL_KMS`` also does.
    """

    use_environment: bool = True
    age_identity_files: tuple[str, ...] = ()
    gnupg_home: str | None = None
    kms_endpoint_url: str | None = None
    vault_token_env: str = "VAULT_TOKEN"
    age_passphrase_env: str = "FLEET_SOPS_AGE_PASSPHRASE"
    extra: Mapping[str, str] = field(default_factory=dict)


class KeySource(Protocol):
    """One kind of master key."""

    def decrypt(self, key: Any) -> bytes:
        """The data key (or Shamir share) that ``key`` (a metadata key model) wraps."""
        ...

    def encrypt(self, recipient: str, data_key: bytes, **options: Any) -> Any:
        """A metadata key model wrapping ``data_key`` for ``recipient``."""
        ...


# key type -> "module:class" of its source (import paths, so unused backends are never imported)
SOURCES: dict[metadata.KeyType, str] = {
    metadata.KeyType.AGE: "fleet.secrets.sops.keys.age:AgeSource",
    metadata.KeyType.PGP: "fleet.secrets.sops.keys.pgp:PgpSource",
    metadata.KeyType.KMS: "fleet.secrets.sops.keys.kms:KmsSource",
    metadata.KeyType.HC_VAULT: "fleet.secrets.sops.keys.vault:VaultTransitSource",
}
UNSUPPORTED: dict[metadata.KeyType, str] = {
    metadata.KeyType.GCP_KMS: "Google Cloud KMS keys are not supported by fleet",
    metadata.KeyType.AZURE_KV: "Azure Key Vault keys are not supported by fleet",
    metadata.KeyType.HCKMS: "Huawei Cloud KMS keys are not supported by fleet",
}


class Keyring:
    """The key sources of one process, created on first use from ``KeyOptions``."""

    def __init__(self, options: KeyOptions | None = None) -> None:
        self.options = options or KeyOptions()
        self._sources: dict[metadata.KeyType, KeySource] = {}
        self._lock = threading.Lock()

    def source(self, key_type: metadata.KeyType) -> KeySource:
        if key_type in UNSUPPORTED:
            raise KeySourceError(UNSUPPORTED[key_type])
        with self._lock:
            found = self._sources.get(key_type)
            if found is None:
                module_name, _, attribute = SOURCES[key_type].partition(":")
                found = getattr(importlib.import_module(module_name), attribute)(self.options)
                self._sources[key_type] = found
            return found

    def decrypt(self, key: metadata.MasterKey) -> bytes:
        return self.source(key.key_type).decrypt(key)

    def encrypt(self, key_type: metadata.KeyType, recipient: str, data_key: bytes, **options: Any) -> Any:
        return self.source(key_type).encrypt(recipient, data_key, **options)
