"""Render-time decryption, like Flux's kustomize-controller: SOPS files in a source are opened.

Where it sits: the sync engine reads each manifest file of an Application's source and passes
its text through ``decrypt_if_encrypted`` before parsing it. A file without SOPS metadata comes
back unchanged (and costs one cheap check); an encrypted one comes back as plaintext in its own
format, with every decrypted value registered with ``fleet.redact`` and nothing written to disk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from fleet.secrets.sops import core, keys, stores

# A quick pre-check before parsing: every SOPS file carries its MAC as an ENC value and a
# "sops" key (YAML/JSON/INI) or "sops_" keys (dotenv).
_MARKER = re.compile(r"ENC\[AES256_GCM,")
_SOPS_KEY = re.compile(r'(?m)(?:^sops\s*:|"sops"\s*:|^sops_[A-Za-z_]+=|^\[sops\])')


def _looks_encrypted(text: str) -> bool:
    return bool(_MARKER.search(text)) and bool(_SOPS_KEY.search(text))


def is_encrypted(
    doc: str | bytes | Mapping[str, Any] | None, *, fmt: stores.Format | str | None = None
) -> bool:
    """True when ``doc`` is a SOPS-encrypted document.

    ``doc`` is the file's text (or bytes), or an already parsed mapping (a manifest object):
    a mapping is encrypted when it has a ``sops`` mapping with a ``mac`` or key entries, the way
    Flux recognises encrypted manifests.
    """
    if doc is None:
        return False
    if isinstance(doc, Mapping):
        meta = doc.get("sops")
        return isinstance(meta, Mapping) and ("mac" in meta or "lastmodified" in meta)
    text = doc.decode("utf-8", "replace") if isinstance(doc, bytes) else doc
    if not _looks_encrypted(text):
        return False
    data = text.encode("utf-8", "surrogateescape")
    for candidate in _candidate_formats(text, fmt):
        store = stores.store_for(candidate)
        try:
            branches = store.load(data, file=None)
        except Exception:  # noqa: BLE001 - not this format
            continue
        if store.has_metadata(branches):
            return True
    return False


def _candidate_formats(
    text: str, fmt: stores.Format | str | None, path: str | None = None
) -> list[stores.Format]:
    if fmt:
        return [stores.resolve_format(path, fmt)]
    if path:
        detected = stores.format_for_path(path)
        if detected is not stores.Format.BINARY:
            return [detected]
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            json.loads(stripped)
            return [stores.Format.JSON]
        except ValueError:
            pass
    if re.search(r"(?m)^sops_[A-Za-z_]+=", text):
        return [stores.Format.DOTENV]
    if re.search(r"(?m)^\[sops\]", text):
        return [stores.Format.INI]
    return [stores.Format.YAML]


def decrypt_if_encrypted(
    text: str,
    *,
    path: str,
    fmt: stores.Format | str | None = None,
    keyring: keys.Keyring | None = None,
) -> str:
    """``text`` decrypted when it is a SOPS file, else ``text`` unchanged.

    ``path`` names the file in errors and picks the format from its extension (a manifest with
    an unknown extension is read as YAML, or JSON when it is a JSON object; ``fmt`` overrides).
    Raises the SOPS errors (``NoKeyError``, ``MacMismatchError``, ...) for an encrypted file that
    cannot be decrypted: a manifest that cannot be opened must fail its Application, not be
    applied as ciphertext.
    """
    if not _looks_encrypted(text):
        return text
    data = text.encode("utf-8", "surrogateescape")
    for candidate in _candidate_formats(text, fmt, path):
        store = stores.store_for(candidate)
        try:
            branches = store.load(data, file=path)
        except Exception:  # noqa: BLE001 - not this format: the text stays as it is
            continue
        if not store.has_metadata(branches):
            return text
        decrypted = core.decrypt_document(data, fmt=candidate, file=path, keyring=keyring)
        return decrypted.emit().decode("utf-8", "surrogateescape")
    return text
