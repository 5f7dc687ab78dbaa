"""The ``ref+sops://FILE[?format=...][#/path/to/key]`` provider: one value of a SOPS file.

Registered in ``fleet.secrets.providers.DEFAULT_PROVIDERS`` as ``sops``. Like vals' sops
provider, a reference without a fragment gives the whole decrypted file, and one with a
fragment gives the decrypted document for the resolver to walk (the first document of a
multi-document YAML file). ``FILE`` is relative to ``ProviderSettings.base_dir`` (the Application's
source directory or the fleet repository); a path that leaves it is refused. ``?format=``
(``yaml``, ``json``, ``dotenv``, ``ini``, ``binary``) overrides the extension, as in vals.

In a sync, workers must need nothing from the driver's disk, and an Application's source exists
only on the driver. So the driver ``ship``s every relative ``ref+sops://`` file of an Application
with its work: the reference gets ``?shipped=<sha256>``, the encrypted bytes travel with the work,
and the worker ``register_shipped``s them before resolving. Only ciphertext travels; the
plaintext exists only in the worker that decrypts it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fleet.secrets import providers, refs
from fleet.secrets.sops import core, errors, keys, stores, tree

SHIPPED_PARAM = "shipped"  # ?shipped=<sha256 of the encrypted file>: its bytes came with the work

# Content-addressed, so files of different Applications and clusters never collide; ciphertext only.
_shipped: dict[str, bytes] = {}
_shipped_lock = threading.Lock()


def register_shipped(files: Mapping[str, bytes]) -> None:
    """Make shipped encrypted files (digest -> bytes) readable by ``ref+sops://...?shipped=``."""
    with _shipped_lock:
        _shipped.update(files)


class SopsProvider:
    """Decrypts SOPS files on the worker that resolves the reference; nothing is written."""

    def __init__(self, settings: providers.ProviderSettings | None = None) -> None:
        self.settings = settings or providers.ProviderSettings()
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

    def _read(self, ref: refs.Ref) -> tuple[bytes, str]:
        digest = ref.param(SHIPPED_PARAM)
        if digest:
            with _shipped_lock:
                data = _shipped.get(digest)
            if data is None:
                raise providers.SecretNotFound(
                    f"{ref}: the encrypted file was not shipped with the work", ref=ref.display()
                )
            return data, ref.path
        path = self._path(ref)
        try:
            return path.read_bytes(), str(path)
        except FileNotFoundError:
            raise providers.SecretNotFound(f"{ref}: no such file {path}", ref=ref.display()) from None
        except OSError as exc:
            raise providers.ProviderError(
                f"{ref}: cannot read {path}: {exc.strerror}", ref=ref.display()
            ) from None

    def _decrypt(self, ref: refs.Ref) -> core.Decrypted:
        fmt = ref.param("format")
        data, path = self._read(ref)
        try:
            return core.decrypt_document(data, fmt=fmt or None, file=str(path), keyring=self.keyring)
        except errors.NoKeyError as exc:
            if exc.retryable:
                raise providers.ProviderUnavailable(
                    f"{ref}: {exc}", ref=ref.display(), retry_after=exc.retry_after
                ) from None
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
    provider = SopsProvider(providers.ProviderSettings(base_dir=base_dir))
    if not ref.has_fragment:
        return provider.get_string(ref)
    from fleet.secrets import resolver

    return resolver.select(provider.get_document(ref), ref)


def ship(manifests: list[dict[str, Any]], *, base_dir: Path) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Attach every relative ``ref+sops://`` file of ``manifests`` (found under ``base_dir``).

    Returns new manifests whose references carry ``?shipped=<sha256>`` and the files by digest.
    Manifests without such references are returned as they are (cached objects stay shared).
    Raises ``providers.SecretNotFound`` / ``AccessDenied`` naming the reference when a file is
    missing or outside ``base_dir``: that fails the Application, never reads the worker's disk.
    """
    files: dict[str, bytes] = {}
    root = base_dir.resolve()

    def shipped_text(text: str) -> str:
        if "ref+sops://" not in text:
            return text
        out, last = [], 0
        for match in refs.iter_matches(text):
            ref = refs.parse(match.group(0))
            if (
                ref.scheme != "sops"
                or os.path.isabs(os.path.expanduser(ref.path))
                or ref.param(SHIPPED_PARAM)
            ):
                continue
            path = (root / ref.path).resolve()
            if not path.is_relative_to(root):
                raise providers.AccessDenied(f"{ref}: the file is outside the source", ref=ref.display())
            try:
                data = path.read_bytes()
            except OSError:
                raise providers.SecretNotFound(
                    f"{ref}: no such file in the Application's source ({ref.path})", ref=ref.display()
                ) from None
            digest = hashlib.sha256(data).hexdigest()
            files[digest] = data
            written = match.group(0)
            terminator = "+" if written.endswith("+") else ""  # vals' end marker (a URI has no "+")
            body = written[: -len(terminator)] if terminator else written
            head, hashed, fragment = body.partition("#")
            head += ("&" if "?" in head else "?") + f"{SHIPPED_PARAM}={digest}"
            out.append(text[last : match.start()] + head + hashed + fragment + terminator)
            last = match.end()
        return "".join(out) + text[last:] if out else text

    def walk(value: Any, *, secret_data: bool = False) -> Any:
        if isinstance(value, str):
            if secret_data:
                try:
                    decoded = base64.b64decode(value, validate=True).decode()
                except (binascii.Error, UnicodeDecodeError, ValueError):
                    return value
                new = shipped_text(decoded)
                return value if new == decoded else base64.b64encode(new.encode()).decode()
            return shipped_text(value)
        if isinstance(value, Mapping):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    out = []
    for obj in manifests:
        try:
            wanted = any(ref.scheme == "sops" for ref in refs.find_references(obj))
        except refs.BadReference:
            wanted = False  # resolution in the worker reports it, naming the reference
        if not wanted:
            out.append(obj)
            continue
        new = {k: walk(v) for k, v in obj.items() if k != "data"}
        if "data" in obj:
            data = obj["data"]
            new["data"] = (
                {k: walk(v, secret_data=True) for k, v in data.items()}
                if refs.is_secret(obj) and isinstance(data, Mapping)
                else walk(data)
            )
        out.append(new)
    return out, files
