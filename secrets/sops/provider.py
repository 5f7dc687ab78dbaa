"""The ``ref+sops://FILE[?format=...][#/path/to/key]`` provider: one value of a SOPS file.

Registered in ``fleet.secrets.providers.DEFAULT_PROVIDERS`` as ``sops``. Like vals' sops
provider, a reference without a fragment gives the whole decrypted file, and one with a
fragment gives the decrypted document for the resolver to walk (the first document of a
multi-document YAML file). ``FILE`` is relative to ``Settings.base_dir`` (the Application's
source directory or the fleet repository); a path that leaves it is refused. ``?format=``
(``yaml``, ``json``, ``dotenv``, ``ini``, ``binary``) overrides the extension, as in vals.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleet.secrets import providers, refs
from fleet.secrets.sops import core, errors, keys, stores, tree


class SopsProvider:
    """Decrypts SOPS files on the worker that resolves the reference; nothing is written."""

    def __init__(self, settings: providers.Settings | None = None) -> None:
        self.settings = settings or providers.Settings()
        options = self.settings.for_scheme("sops")
        self.keyring = keys.Keyring(
            keys.KeyOptions(
                age_identity_files=tuple(filter(None, options.get("age_key_files", "").split(os.pathsep))),
                gnupg_home=options.get("gnupg_home") or None,
                kms_endpoint_url=options.get("kms_endpoint_url") or None,
            )
        )

    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"])  # type: ignore[misc]

    def _path(self, ref: refs.Ref) -> Path:
        raw = os.path.expanduser(ref.path)
        base = Path(self.settings.base_dir) if self.settings.base_dir else Path.cwd()
        path = (base / raw).resolve()
        if self.settings.base_dir and not path.is_relative_to(base.resolve()):
            raise providers.AccessDenied(f"{ref}: the file is outside {base}", ref=ref.display())
        return path

    def _decrypt(self, ref: refs.Ref) -> core.Decrypted:
        path = self._path(ref)
        fmt = ref.param("format")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise providers.SecretNotFound(f"{ref}: no such file {path}", ref=ref.display()) from None
        except OSError as exc:
            raise providers.ProviderError(f"{ref}: cannot read {path}: {exc.strerror}", ref=ref.display()) from None
        try:
            return core.decrypt_document(data, fmt=fmt or None, file=str(path), keyring=self.keyring)
        except errors.NoKeyError as exc:
            if exc.retryable:
                raise providers.ProviderUnavailable(f"{ref}: {exc}", ref=ref.display(), retry_after=exc.retry_after) from None
            raise providers.AccessDenied(f"{ref}: {exc}", ref=ref.display()) from None
        except errors.SopsError as exc:
            raise providers.ProviderError(f"{ref}: {exc}", ref=ref.display()) from None

    def get_string(self, ref: refs.Ref) -> str | bytes:
        """The whole decrypted file (binary files as bytes when they are not text)."""
        decrypted = self._decrypt(ref)
        content = decrypted.emit()
        if decrypted.fmt is stores.Format.BINARY:
            try:
                return content.decode()
            except UnicodeDecodeError:
                return content
        return content.decode("utf-8", "surrogateescape")

    def get_document(self, ref: refs.Ref) -> Mapping[str, Any]:
        """The decrypted document as plain data (first document of a multi-document YAML file)."""
        decrypted = self._decrypt(ref)
        if decrypted.fmt is stores.Format.BINARY:
            text = decrypted.emit()
            return providers.parse_document(text, ref)
        document = tree.to_plain(decrypted.branches[0]) if decrypted.branches else {}
        return document


def fetch(path: str, fragment: str = "", *, base_dir: str | None = None, fmt: str | None = None) -> Any:
    """One value of a SOPS file without the reference machinery (``fragment``: ``/a/b`` or empty)."""
    query = f"?format={fmt}" if fmt else ""
    text = f"ref+sops://{path}{query}" + (f"#/{fragment.lstrip('/')}" if fragment.strip("/") else "")
    ref = refs.parse(text)
    provider = SopsProvider(providers.Settings(base_dir=base_dir))
    if not ref.has_fragment:
        return provider.get_string(ref)
    from fleet.secrets import resolver

    return resolver.select(provider.get_document(ref), ref)
