"""HashiCorp Vault transit master keys through hvac.

A key is ``<address>/v1/<engine path>/keys/<name>`` (sops' URI form); the data key is sent
base64-encoded to ``<engine>/encrypt/<name>`` and the ``vault:v1:...`` ciphertext is stored as
``enc``. The token comes from ``VAULT_TOKEN`` (``KeyOptions.vault_token_env``) or
``~/.vault-token``, as sops reads it; ``SOPS_HC_VAULT_ALLOWLIST`` limits the addresses used.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import urllib.parse
from pathlib import Path
from typing import Any

from fleet.secrets.sops import metadata, tree
from fleet.secrets.sops.keys import KeyOptions, KeySourceError

_PREFIXED = re.compile(r"/[^/]+/v\d+/[^/]+/[^/]+/[^/]+")
_VALID = re.compile(r"/v\d+/[^/]+/[^/]+/[^/]+")


def parse_uri(uri: str) -> tuple[str, str, str]:
    """``https://vault:8200/v1/transit/keys/name`` as (address, engine path, key name)."""
    parsed = urllib.parse.urlsplit(uri.strip())
    if not parsed.scheme:
        raise KeySourceError(
            f"missing scheme in Vault URL {uri!r} (should be like https://vault.example.com:8200/v1/transit/keys/keyName)",
            malformed=True,
        )
    path = parsed.path
    if _PREFIXED.search(path) and not _VALID.fullmatch(path.rstrip("/")):
        raise KeySourceError("running Vault with a prefixed URL is not supported")
    if not _VALID.search(path):
        raise KeySourceError(
            f"Vault path of {uri!r} is not like https://vault.example.com:8200/v1/transit/keys/keyName",
            malformed=True,
        )
    parts = path.strip("/").split("/")
    return f"{parsed.scheme}://{parsed.netloc}", "/".join(parts[1:-2]), parts[-1]


def _allowed(address: str) -> bool:
    allowlist = os.environ.get("SOPS_HC_VAULT_ALLOWLIST", "")
    if not allowlist or allowlist == "all":
        return True
    if allowlist == "none":
        return False
    address = address if address.endswith("/") else address + "/"
    prefixes = [
        uri.strip() if uri.strip().endswith("/") else uri.strip() + "/" for uri in allowlist.split(",")
    ]
    return any(address.startswith(prefix) for prefix in prefixes if prefix != "/")


class VaultTransitSource:
    """Unwraps and wraps data keys with Vault's transit engine."""

    def __init__(self, options: KeyOptions | None = None) -> None:
        self.options = options or KeyOptions()

    def _token(self) -> str | None:
        token = os.environ.get(self.options.vault_token_env)
        if token:
            return token
        path = Path(os.environ.get("HOME") or Path.home()) / ".vault-token"
        if path.is_file():
            return path.read_text().strip() or None
        return None

    def _client(self, address: str) -> Any:
        if not _allowed(address):
            raise KeySourceError(f"SOPS_HC_VAULT_ALLOWLIST does not allow {address}")
        import hvac

        return hvac.Client(url=address, token=self._token(), timeout=30)

    def _call(self, function: Any, **kwargs: Any) -> dict[str, Any]:
        import hvac.exceptions
        import requests

        try:
            response: dict[str, Any] = function(**kwargs)
            return response
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            raise KeySourceError("Vault denied access (check the token and its policy)") from None
        except hvac.exceptions.InvalidPath:
            raise KeySourceError("no such transit key or engine in Vault") from None
        except (
            hvac.exceptions.InternalServerError,
            hvac.exceptions.VaultDown,
            hvac.exceptions.RateLimitExceeded,
        ):
            raise KeySourceError("Vault is unavailable", transient=True) from None
        except hvac.exceptions.VaultError as exc:
            raise KeySourceError(f"Vault error: {type(exc).__name__}") from None
        except requests.exceptions.RequestException as exc:
            raise KeySourceError(f"cannot reach Vault: {type(exc).__name__}", transient=True) from None

    def decrypt(self, key: metadata.VaultKey) -> bytes:
        client = self._client(key.vault_address)
        response = self._call(
            client.secrets.transit.decrypt_data,
            name=key.key_name,
            ciphertext=key.enc,
            mount_point=key.engine_path,
        )
        try:
            return base64.b64decode(response["data"]["plaintext"], validate=True)
        except (KeyError, TypeError, binascii.Error, ValueError):
            raise KeySourceError("Vault returned no usable plaintext") from None

    def encrypt(self, recipient: str, data_key: bytes, **options: Any) -> metadata.VaultKey:
        address, engine_path, key_name = parse_uri(recipient)
        client = self._client(address)
        response = self._call(
            client.secrets.transit.encrypt_data,
            name=key_name,
            plaintext=base64.b64encode(data_key).decode(),
            mount_point=engine_path,
        )
        try:
            ciphertext = response["data"]["ciphertext"]
        except (KeyError, TypeError):
            raise KeySourceError("Vault returned no ciphertext") from None
        return metadata.VaultKey(
            vault_address=address,
            engine_path=engine_path,
            key_name=key_name,
            created_at=tree.now_rfc3339(),
            enc=ciphertext,
        )
